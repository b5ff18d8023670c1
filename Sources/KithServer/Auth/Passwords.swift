import HummingbirdBcrypt
import NIOPosix

/// bcrypt at cost 12, run off the event loops because each hash takes a quarter of a second by design.
enum Passwords {
    static let cost: UInt8 = 12

    static func hash(_ password: String) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Compares against a real hash even for an unknown account, so timing does not tell which emails exist.
    static func verify(_ password: String, hash: String?) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive {
            Bcrypt.verify(password, hash: hash ?? unknownAccountHash) && hash != nil
        }
    }

    private static let unknownAccountHash = Bcrypt.hash("no such account", cost: cost)
}
