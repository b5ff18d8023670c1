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

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/v1/"), !Self.publicPaths.contains(path) else {
            return try await Principal.$clientAddress.withValue(context.remoteAddress) {
                try await next(request, context)
            }
        }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            throw KithError.unauthorized
        }
        let token = String(header.dropFirst("bearer ".count)).trimmingWhitespace()
        guard !token.isEmpty, token.count <= 200 else { throw KithError.unauthorized }
        let principal = try await authenticate(tokenHash: Tokens.hash(token), logger: context.logger) { revoked in
            if request.method == .post, path == "/v1/sync/push" {
                let body = try await request.body.collect(upTo: .max)
                try await db.transaction { connection in
                    try await connection.quarantine(
                        pushBody: body, deviceId: revoked.device, organisationId: revoked.organisation, logger: context.logger)
                }
            }
        }
        return try await Principal.$current.withValue(principal) {
            try await next(request, context)
        }
    }

    /// `onRevokedDevice` runs before a revoked device is refused (to quarantine what it was pushing).
    private func authenticate(
        tokenHash: Data, logger: Logger, onRevokedDevice: ((organisation: UUID, device: UUID)) async throws -> Void
    ) async throws -> Principal {
        // Found before it is judged: a revoked device must hear `device_revoked` (403), whatever else has ended,
        // so that it keeps its unsent work instead of treating the refusal as a lost sign-in.
        let found = try await db.read { connection in
            try await connection.query(
                """
                SELECT s.organisation_id, s.id, s.worker_id, s.device_id, w.roles,
                       d.revoked_at IS NOT NULL OR (d.id IS NOT NULL AND coalesce(w.left_on <= current_date, false)),
                       s.revoked_at IS NULL AND s.expires_at > now() AND (w.left_on IS NULL OR w.left_on > current_date),
                       ARRAY(SELECT tm.team_id FROM team_members tm
                             WHERE tm.organisation_id = s.organisation_id AND tm.worker_id = s.worker_id ORDER BY tm.team_id)
                FROM sessions s
                JOIN workers w ON w.organisation_id = s.organisation_id AND w.id = s.worker_id
                LEFT JOIN devices d ON d.organisation_id = s.organisation_id AND d.id = s.device_id
                WHERE s.token_hash = \(tokenHash)
                """, logger: logger
            ).decode((UUID, UUID, UUID, UUID?, [String], Bool, Bool, [UUID]).self).first { _ in true }
        }
        guard let (organisation, session, worker, device, roles, deviceRevoked, valid, teams) = found else {
            throw KithError.unauthorized
        }
        if deviceRevoked, let device {
            try await onRevokedDevice((organisation, device))
            throw KithError(status: .forbidden, code: "device_revoked", detail: "This device has been revoked.")
        }
        guard valid else { throw KithError.unauthorized }
        return Principal(
            organisationId: organisation, workerId: worker, sessionId: session, deviceId: device,
            roles: Set(roles.compactMap(Role.init(rawValue:))), teamIds: teams)
    }
}
