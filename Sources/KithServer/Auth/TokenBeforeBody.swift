import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// A large body (a sync push, say) is read only after its token is known to stand, so that nobody without one can make
/// the server hold megabytes for them, or hold a reading slot open by sending slowly. A small body is read first, as
/// before: it costs the server little, and the common write (a note) keeps its single round trip. The request's own
/// lookup (`SignIn`) still decides everything else; this refuses only a token that is unknown, expired or
/// ended, and lets a revoked device through to hear `device_revoked` and have its push kept.
struct TokenBeforeBodyMiddleware: RouterMiddleware {
    typealias Context = KithRequestContext
    /// Bodies up to this size are read before the token is checked.
    static let readFirstBytes = 64 * 1024

    let db: Database

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.waitsForToken(request) else { return try await next(request, context) }
        guard let token = SignIn.bearerToken(request.headers) else { throw KithError.unauthorized }
        let stands = try await db.definerLookup(
            TokenStands.self, "SELECT valid OR device_revoked FROM kith_session(\(Tokens.hash(token)))"
        )?.decode(Bool.self) ?? false
        guard stands else { throw KithError.unauthorized }
        return try await next(request, context)
    }

    /// The sign-ins' paths, the only ones without a token (`SignIn.public`).
    static let signIns: Set<String> = ["/v1/auth/login", "/v1/auth/oidc", "/v1/auth/device", "/v1/auth/device/token"]

    /// A signed-in request whose body is larger than `readFirstBytes`, or of a length not declared.
    static func waitsForToken(_ request: Request) -> Bool {
        let path = request.uri.path
        guard path.hasPrefix("/v1/"), !Self.signIns.contains(path) else { return false }
        if let length = request.headers[.contentLength].flatMap(Int.init) { return length > readFirstBytes }
        return request.headers[.transferEncoding] != nil
    }
}

/// Whether a token stands, before its request's body is read.
enum TokenStands: HotStatement {}
