import Crypto
import Foundation

/// An invitation's two secrets: a link (handed over, printed or as a QR code) and a six-digit code told in person.
/// The database keeps the link's SHA-256 and an HMAC of the code under the link's secret, so neither a stolen table nor a
/// forwarded link alone opens the page.
struct InvitationSecret: Sendable {
    let link: String
    let code: String

    /// An invitation nobody has opened lapses after this long.
    static let unusedLifetime: TimeInterval = 14 * 86_400
    /// Wrong codes allowed per invitation, and per address, in `attemptWindow`.
    static let attemptsPerInvitation = 5
    static let attemptsPerAddress = 30
    static let attemptWindow = 15 * 60

    static func generate() -> InvitationSecret {
        var generator = SystemRandomNumberGenerator()
        let code = (0..<6).map { _ in String(Int.random(in: 0...9, using: &generator)) }.joined()
        return InvitationSecret(link: Tokens.generate(), code: code)
    }

    var linkHash: Data { Self.linkHash(link) }
    var codeHash: Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data(code.utf8), using: SymmetricKey(data: Data(link.utf8))))
    }

    static func linkHash(_ link: String) -> Data { Tokens.hash(link) }

    /// Whether `code` is the one sealed in `codeHash` for this link (compared in constant time).
    static func code(_ code: String, matches codeHash: Data, link: String) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(codeHash, authenticating: Data(code.utf8), using: SymmetricKey(data: Data(link.utf8)))
    }

    /// What a person typed, as a code: digits only (people write "123 456" or "123-456").
    static func normalised(_ typed: String) -> String? {
        let digits = typed.filter { !$0.isWhitespace && $0 != "-" }
        return digits.count == 6 && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber) ? digits : nil
    }

    /// The page a link opens.
    static func url(base: URL, link: String) -> String {
        base.absoluteString + "/family/i/" + link
    }
}
