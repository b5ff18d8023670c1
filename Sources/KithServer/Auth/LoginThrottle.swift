import Crypto
import Foundation
import Logging
import PostgresNIO

/// Slows down repeated failed sign-ins for one account or from one address.
///
/// An account that failed 5 times within 15 minutes, or an address that failed 30 times (higher, because many people
/// can share one address behind a proxy), answers 429 until the oldest failure in the window has aged out. Failures
/// are kept in the database (`login_failures`, keys hashed), so every server instance counts the same ones and a
/// restart forgives nothing.
enum LoginThrottle {
    struct Key: Sendable {
        let hash: ByteBuffer
        let allowedFailures: Int

        init(_ name: String, allowedFailures: Int) {
            hash = ByteBuffer(bytes: SHA256.hash(data: Data(name.utf8)))
            self.allowedFailures = allowedFailures
        }

        static func account(_ email: String) -> Key { Key("account:\(email)", allowedFailures: 5) }
        static func address(_ address: String?) -> Key { Key("address:\(address ?? "unknown")", allowedFailures: 30) }
    }

    static let window: TimeInterval = 15 * 60

    /// Seconds to wait before another attempt for any of these keys, or nil if an attempt may go ahead.
    static func retryAfter(_ keys: [Key], on connection: PostgresConnection, now: Date = Date(), logger: Logger) async throws -> Int? {
        var wait: TimeInterval = 0
        let rows = try await connection.query(
            """
            SELECT key_hash, count(*)::int, min(failed_at) FROM login_failures
            WHERE key_hash = ANY(\(keys.map(\.hash))) AND failed_at > \(now.addingTimeInterval(-window))
            GROUP BY key_hash
            """, logger: logger)
        for try await (hash, failures, oldest) in rows.decode((ByteBuffer, Int, Date).self) {
            guard let key = keys.first(where: { $0.hash == hash }), failures >= key.allowedFailures else { continue }
            wait = max(wait, window - now.timeIntervalSince(oldest))
        }
        return wait > 0 ? max(1, Int(wait)) : nil
    }

    static func recordFailure(_ keys: [Key], on connection: PostgresConnection, now: Date = Date(), logger: Logger) async throws {
        let hashes = keys.map(\.hash)
        try await connection.query(
            "DELETE FROM login_failures WHERE key_hash = ANY(\(hashes)) AND failed_at <= \(now.addingTimeInterval(-window))",
            logger: logger)
        try await connection.query(
            "INSERT INTO login_failures (key_hash, failed_at) SELECT unnest(\(hashes)), \(now)", logger: logger)
    }

    static func recordSuccess(_ key: Key, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("DELETE FROM login_failures WHERE key_hash = \(key.hash)", logger: logger)
    }

    /// Failures older than the window count for nothing; keys that never fail again would otherwise keep theirs.
    static func forgetOldFailures(on connection: PostgresConnection, now: Date = Date(), logger: Logger) async throws {
        try await connection.query("DELETE FROM login_failures WHERE failed_at <= \(now.addingTimeInterval(-window))", logger: logger)
    }
}
