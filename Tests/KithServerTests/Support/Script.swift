import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import KithServer

/// The scripts in `deploy/testing/` that start PostgreSQL clusters and PgBouncer for the tests.
enum Script {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("deploy/testing")

    /// Runs a script and waits for it by polling `waitpid`, without blocking a thread of the concurrency pool
    /// (Foundation's `Process` here never saw a script end once it had started a server in the background).
    static func run(_ name: String, _ arguments: [String]) async throws {
        try await run(program: "/bin/bash", [folder.appendingPathComponent(name).path] + arguments,
                      label: "\(name) \(arguments.joined(separator: " "))")
    }

    /// Any program (by its full path) with arguments, waited for the same way; `label` names it in a failure.
    static func run(program: String, _ arguments: [String], label name: String) async throws {
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = withCleanSignals { posix_spawn(&pid, program, nil, &$0, argv, environ) }
        guard spawned == 0 else { throw KithError.invalidField(name, "could not start (\(spawned))") }
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 { try await Task.sleep(for: .milliseconds(50)) }
        // WEXITSTATUS: the exit code sits in the second byte of the wait status.
        let code = (status >> 8) & 0xff
        guard status & 0x7f == 0, code == 0 else {
            throw KithError.invalidField(name, "exited \(code)")
        }
    }
}

/// Spawn attributes with no signal blocked and every signal at its default. The test process blocks some signals on
/// its threads, and a spawned child inherits the mask: the servers the tests start (PgBouncer, tmux) would then never
/// hear the SIGTERM that stops them.
func withCleanSignals<Result>(_ body: (inout posix_spawnattr_t) -> Result) -> Result {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t(), all = sigset_t()
    sigemptyset(&none)
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    return body(&attributes)
}
