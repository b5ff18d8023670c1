import Crypto
import Foundation
import Logging
import PostgresNIO

/// Slows down repeated failed sign-ins for one account or from one address.
///
/// Each attempt is reserved in the database before its password is checked (`kith_begin_sign_in`),
/// under a lock on the account, so no more than 5 wrong passwords are ever checked for one account in 15 minutes
/// however many arrive at once; the sixth waits (429) until the oldest failure has aged out. An address with 30
/// failures in the window (many people share one behind a council's proxy) is slowed rather than shut: an account with
/// no failures of its own is still checked, one attempt a second from that address. A right password never counts
/// against its address, and an address that signed in to an account in the last 30 days is known to it: the account's
/// lock (which five wrong guesses from anywhere trip) does not refuse it, though its own wrong guesses still stop at
/// five (migration 0018). Keys are SHA-256 of `account:<email>`, `address:<ip>` and `pair:<email> <ip>`, so no email
/// or address is kept in clear, and every server instance counts the same failures.
enum LoginThrottle {
    static let window = 15 * 60
    static let accountLimit = 5
    static let addressLimit = 30

    static func key(_ name: String) -> ByteBuffer { ByteBuffer(bytes: SHA256.hash(data: Data(name.utf8))) }
    static func accountKey(_ email: String) -> ByteBuffer { key("account:\(email.lowercased())") }
    static func addressKey(_ address: String?) -> ByteBuffer { key("address:\(address ?? "unknown")") }
    static func pairKey(_ email: String, _ address: String?) -> ByteBuffer {
        key("pair:\(email.lowercased()) \(address ?? "unknown")")
    }

    /// The account behind an email, if the attempt may go ahead (its reservation made), or how long to wait.
    enum Attempt {
        case wait(seconds: Int)
        case check(account: (organisation: UUID, worker: UUID, passwordHash: String)?, reservedAt: Date)
    }

    static func begin(email: String, address: String?, on connection: PostgresConnection, logger: Logger) async throws -> Attempt {
        let rows = try await connection.query(
            """
            SELECT retry_after, organisation_id, worker_id, password_hash, reserved_at
            FROM kith_begin_sign_in(\(email), \(accountKey(email)), \(addressKey(address)), \(pairKey(email, address)),
                                    \(accountLimit)::int, \(addressLimit)::int, \(window)::int)
            """, logger: logger)
        for try await (wait, organisation, worker, hash, reservedAt) in rows.decode((Int, UUID?, UUID?, String?, Date?).self) {
            guard wait == 0, let reservedAt else { return .wait(seconds: max(wait, 1)) }
            guard let organisation, let worker, let hash else { return .check(account: nil, reservedAt: reservedAt) }
            return .check(account: (organisation, worker, hash), reservedAt: reservedAt)
        }
        return .wait(seconds: 1)
    }

    /// The right password: the account's failures and this address's against it are forgiven, the address's
    /// reservation for this attempt taken back, and the address known to the account.
    static func succeeded(
        email: String, address: String?, reservedAt: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            SELECT kith_sign_in_succeeded(\(accountKey(email)), \(addressKey(address)), \(pairKey(email, address)),
                                          \(reservedAt))
            """, logger: logger)
    }

    /// Failures older than the window count for nothing; keys that never fail again would otherwise keep theirs.
    static func forgetOldFailures(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT kith_forget_login_failures(\(window)::int)", logger: logger)
    }
}
