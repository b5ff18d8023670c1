import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Ports for the processes a test starts on loopback (a PostgreSQL cluster, PgBouncer): one the kernel names as free,
/// and another when a process started meanwhile took it first.
enum Ports {
    /// A port no socket on 127.0.0.1 holds just now.
    static func free() throws -> Int {
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        defer { close(probe) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(probe, pointer, length) == 0 && getsockname(probe, pointer, &length) == 0
            }
        }
        guard named else { throw NoFreePort() }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// `start` on a free port, and on another if it fails (its port taken first), up to five times.
    static func retrying<Result>(_ start: (Int) async throws -> Result) async throws -> Result {
        for _ in 1..<5 {
            if let started = try? await start(try free()) { return started }
        }
        return try await start(try free())
    }

    struct NoFreePort: Error {}
}
