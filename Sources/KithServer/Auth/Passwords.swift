import Crypto
import Foundation
import HummingbirdBcrypt
import KithCore
import NIOPosix

/// bcrypt at cost 12, run off the event loops because each hash takes a quarter of a second by design.
///
/// bcrypt reads only a password's first 72 bytes, so a longer one is hashed as the base64 of its SHA-256 (44 bytes):
/// every byte counts and nothing is silently dropped. A hash made before this rule, of a password longer than 72 bytes,
/// no longer matches it; its worker sets a new one (an administrator's reset link).
enum Passwords {
    static let cost: UInt8 = 12
    static let minimumCharacters = 12
    static let maximumCharacters = 200

    static func hash(_ password: String) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(bcryptInput(password), cost: cost) }
    }

    /// What a worker holds who has no password of Kith's (one the identity provider made, who signs in through it):
    /// no password matches it, and it is no bcrypt hash that could.
    static let none = "none"

    /// Compares against a real hash even for an unknown account or one without a password, so timing does not tell
    /// which emails exist.
    static func verify(_ password: String, hash: String?) async throws -> Bool {
        let held = hash.flatMap { $0 == none ? nil : $0 }
        return try await NIOThreadPool.singleton.runIfActive {
            Bcrypt.verify(bcryptInput(password), hash: held ?? unknownAccountHash) && held != nil
        }
    }

    private static func bcryptInput(_ password: String) -> String {
        guard password.utf8.count > 72 else { return password }
        return Data(SHA256.hash(data: Data(password.utf8))).base64EncodedString()
    }

    private static let unknownAccountHash = Bcrypt.hash("no such account", cost: cost)

    /// What is wrong with a password someone chooses, if anything: too short, too long, or one of the passwords
    /// people choose most often (the 30,000 of zxcvbn's list, `common-passwords.txt`), whatever its case.
    static func problem(_ password: String) -> String? {
        if password.count < minimumCharacters { return "must have at least \(minimumCharacters) characters" }
        if password.count > maximumCharacters { return "must have at most \(maximumCharacters) characters" }
        if common.contains(password.lowercased()) { return "is one of the most common passwords: choose another" }
        return nil
    }

    static let common: Set<String> = {
        guard let url = Bundle.module.url(forResource: "common-passwords", withExtension: "txt"),
              let text = try? String(contentsOf: url, encoding: .utf8)
        else { fatalError("common-passwords.txt is missing from the server's resources") }
        return Set(text.split(separator: "\n").map { $0.lowercased() })
    }()
}

extension Validation {
    /// A new password: text a person typed (no control characters), and `Passwords.problem`.
    mutating func newPassword(_ field: String, _ value: String) {
        let before = problems.count
        text(field, value, max: Passwords.maximumCharacters)
        if problems.count == before, let problem = Passwords.problem(value) { add(field, problem) }
    }
}
