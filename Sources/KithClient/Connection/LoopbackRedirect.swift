import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The loopback redirect of a native app's sign-in (RFC 8252 7.3): a socket on 127.0.0.1 that takes the request the
/// person's browser makes to it when the identity provider sends them back, tells them they may close the page, and
/// hands over the request's query. Only this machine can reach it.
final class LoopbackRedirect: @unchecked Sendable {
    let port: Int
    private let listener: Int32

    /// On `port`, or on one the system chooses.
    init(port: Int?) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw CommandError.usage("could not listen for the sign-in's answer on this machine") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port ?? 0).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 4) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard bound else {
            close(listener)
            throw CommandError.usage("port \(port.map(String.init) ?? "any") on 127.0.0.1 is taken: try another (--port)")
        }
        self.listener = listener
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(listener) }

    var redirectURI: String { "http://127.0.0.1:\(port)/callback" }

    /// The query of the first request for `/callback`, waiting at most `patience`; other requests (a browser's
    /// favicon) are answered 404 and the wait goes on.
    func answer(within patience: Duration) async throws -> [String: String] {
        let deadline = ContinuousClock.now + patience
        while ContinuousClock.now < deadline {
            try Task.checkCancellation()
            var waiting = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&waiting, 1, 200) > 0 else {
                try await Task.sleep(for: .milliseconds(10))
                continue
            }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            defer { close(connection) }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var request = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while request.count < 16_384, !request.ends(with: Array("\r\n\r\n".utf8)) {
                let count = read(connection, &buffer, buffer.count)
                guard count > 0 else { break }
                request += buffer[0..<count]
            }
            let line = String(decoding: request.prefix { $0 != UInt8(ascii: "\r") }, as: UTF8.self).split(separator: " ")
            guard line.count >= 2, line[0] == "GET", let target = URLComponents(string: String(line[1])), target.path == "/callback" else {
                respond(connection, status: "404 Not Found", text: "Nothing here.")
                continue
            }
            respond(connection, status: "200 OK", text: "Kith has your sign-in. You can close this page and go back to the terminal.")
            var query: [String: String] = [:]
            for item in target.queryItems ?? [] { query[item.name] = item.value ?? "" }
            return query
        }
        throw CommandError.usage("nobody signed in in time: run `kith login` again")
    }

    private func respond(_ connection: Int32, status: String, text: String) {
        let body = Array("<!doctype html><meta charset=utf-8><title>Kith</title><p>\(text)</p>".utf8)
        let head = "HTTP/1.1 \(status)\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let bytes = Array(head.utf8) + body
        _ = bytes.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
    }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
