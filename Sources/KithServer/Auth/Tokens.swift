import Crypto
import Foundation
import KithCore

/// Opaque bearer tokens: 32 random bytes shown once to the client; the database keeps only their SHA-256.
enum Tokens {
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "kith_" + Data(bytes).base64URL
    }

    /// As `Data`, which PostgresNIO binds as `bytea`.
    static func hash(_ token: String) -> Data {
        Data(SHA256.hash(data: Data(token.utf8)))
    }
}
