import Foundation
import Hummingbird
import KithCore
import Logging
import PostgresNIO

/// Establishes the principal for everything under `/v1` from the bearer token, checked against the database on
/// every request (so logout, a worker leaving or a revoked device take effect at once).
struct AuthMiddleware: RouterMiddleware {
    typealias Context = KithRequestContext
    static let publicPaths: Set<String> = ["/v1/auth/login"]

    let db: Database
    let trustedProxies: [AddressBlock]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/v1/"), !Self.publicPaths.contains(path) else {
            let address = ClientAddress.resolve(
                peer: context.remoteAddress, forwardedFor: request.headers[values: .init("X-Forwarded-For")!], trusted: trustedProxies)
            return try await Principal.$clientAddress.withValue(address) {
                try await next(request, context)
            }
        }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            throw KithError.unauthorized
        }
        let token = String(header.dropFirst("bearer ".count)).trimmingWhitespace()
        guard !token.isEmpty, token.count <= 200 else { throw KithError.unauthorized }
        return try await db.signedIn { held in
            let principal = try await authenticate(tokenHash: Tokens.hash(token), on: held, logger: context.logger) { revoked in
                guard request.method == .post, path == "/v1/sync/push" else { return nil }
                let body = try await request.body.collect(upTo: .max)
                return try await db.transaction(organisation: revoked.organisation) { connection in
                    try await connection.quarantine(pushBody: body, deviceId: revoked.device, logger: context.logger)
                }
            }
            return try await Principal.$current.withValue(principal) {
                try await next(request, context)
            }
        }
    }

    /// `onRevokedDevice` runs before a revoked device is refused (to quarantine what it was pushing); what it returns is
    /// added to the refusal.
    private func authenticate(
        tokenHash: Data, on held: RequestConnection, logger: Logger,
        onRevokedDevice: ((organisation: UUID, device: UUID)) async throws -> String?
    ) async throws -> Principal {
        // Found before it is judged: a revoked device must hear `device_revoked` (403), whatever else has ended,
        // so that it keeps its unsent work instead of treating the refusal as a lost sign-in. The organisation is not
        // known yet, so the lookup is the narrow `kith_session` function, and the same statement enters the wall for the
        // session's organisation (the request's first transaction then goes on from here).
        let limits = db.timeouts.milliseconds
        let found = try await held.begin(
            SessionLookup.self,
            """
            SELECT s.organisation_id, s.session_id, s.worker_id, s.device_id, s.roles, s.device_revoked, s.valid, s.team_ids
            FROM kith_session(\(tokenHash)) s
            CROSS JOIN LATERAL kith_enter_wall(
                s.organisation_id, \(Database.preparesStatements), \(limits.statement)::bigint, \(limits.idle)::bigint) wall
            """, logger: logger, organisation: { try $0.decode(UUID.self) }
        )?.decode((UUID, UUID, UUID, UUID?, [String], Bool, Bool, [UUID]).self)
        guard let (organisation, session, worker, device, roles, deviceRevoked, valid, teams) = found else {
            throw KithError.unauthorized
        }
        if deviceRevoked, let device {
            let said = try await onRevokedDevice((organisation, device))
            throw KithError(
                status: .forbidden, code: "device_revoked", detail: ["This device has been revoked.", said].compactMap { $0 }.joined(separator: " "))
        }
        guard valid else { throw KithError.unauthorized }
        return Principal(
            organisationId: organisation, workerId: worker, sessionId: session, deviceId: device,
            roles: Set(roles.compactMap(Role.init(rawValue:))), teamIds: teams)
    }
}

/// The token's session, looked up by every request, and the wall for its organisation.
enum SessionLookup: HotStatement {}
