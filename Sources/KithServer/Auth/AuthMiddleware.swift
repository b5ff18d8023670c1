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
    let maxBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/v1/"), !Self.publicPaths.contains(path) else {
            let address = ClientAddress.resolve(
                peer: context.remoteAddress, forwardedFor: request.headers[values: .init("X-Forwarded-For")!], trusted: trustedProxies)
            return try await Principal.$clientAddress.withValue(address) {
                try await next(request, context)
            }
        }
        guard let token = Self.bearerToken(request) else { throw KithError.unauthorized }
        return try await db.signedIn { held in
            let principal = try await authenticate(
                tokenHash: Tokens.hash(token), familyIds: Self.family(in: path).map { [$0] } ?? [],
                deviceMayReach: Self.deviceMayReach(request.method, path),
                opensTransaction: !Self.worksInOneStatement(request.method, path), on: held, logger: context.logger
            ) { revoked in
                guard request.method == .post, path == "/v1/sync/push" else { return nil }
                let body = try await request.body.collect(upTo: maxBodyBytes)
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
        tokenHash: Data, familyIds: [UUID], deviceMayReach: Bool, opensTransaction: Bool, on held: RequestConnection,
        logger: Logger,
        onRevokedDevice: ((organisation: UUID, device: UUID)) async throws -> String?
    ) async throws -> Principal {
        // Found before it is judged: a revoked device must hear `device_revoked` (403), whatever else has ended,
        // so that it keeps its unsent work instead of treating the refusal as a lost sign-in. The organisation is not
        // known yet, so the lookup is the narrow `kith_session` function; `kith_request` then enters the wall for the
        // session's organisation and, behind it, reads the worker's relationship to the family the path names (the
        // request's first transaction goes on from here, and its access check needs no statement of its own).
        let limits = db.timeouts.milliseconds
        let row = try await held.begin(
            SessionLookup.self,
            """
            SELECT \(unescaped: SessionRow.columns)
            FROM kith_request(\(tokenHash), \(Database.preparesStatements), \(limits.statement)::bigint, \(limits.idle)::bigint,
                              \(familyIds)::uuid[])
            """, opensTransaction: opensTransaction, logger: logger,
            organisation: { try $0.makeRandomAccess().decode("organisation_id") })
        let found = try row.map(SessionRow.init)
        if let relationship = found?.relationship { held.knowRelationship(relationship) }
        guard let found, !found.expired else { throw KithError.unauthorized }
        let (organisation, device) = (found.organisation, found.device)
        // A device's token is for syncing that device: a lost tablet is not a whole worker.
        guard device == nil || deviceMayReach else { throw KithError.unauthorized }
        if found.deviceRevoked, let device {
            let said = try await onRevokedDevice((organisation, device))
            throw KithError(
                status: .forbidden, code: "device_revoked", detail: ["This device has been revoked.", said].compactMap { $0 }.joined(separator: " "))
        }
        guard found.valid else { throw KithError.unauthorized }
        return Principal(
            organisationId: organisation, workerId: found.worker, sessionId: found.session, deviceId: device,
            roles: Set(found.roles.compactMap(Role.init(rawValue:))), teamIds: found.teams, tokenHash: tokenHash)
    }
}

/// What `kith_request` says of a token (its session, worker, device and state) and, for a path under a family, the
/// worker's relationship to that family.
struct SessionRow {
    static let columns = """
        organisation_id, session_id, worker_id, device_id, roles, device_revoked, valid, team_ids, expired,
        family_id, team_id, allocation_role, break_glass
        """

    let organisation: UUID
    let session: UUID
    let worker: UUID
    let device: UUID?
    let roles: [String]
    let deviceRevoked: Bool
    let valid: Bool
    let teams: [UUID]
    let expired: Bool
    let relationship: FamilyRelationship?

    init(_ row: PostgresRow) throws {
        let row = row.makeRandomAccess()
        organisation = try row.decode("organisation_id")
        session = try row.decode("session_id")
        worker = try row.decode("worker_id")
        device = try row.decode("device_id")
        roles = try row.decode("roles")
        deviceRevoked = try row.decode("device_revoked")
        valid = try row.decode("valid")
        teams = try row.decode("team_ids")
        expired = try row.decode("expired")
        if let family: UUID = try row.decode("family_id"), let team: UUID = try row.decode("team_id") {
            relationship = FamilyRelationship(
                familyId: family, teamId: team, allocationRole: try row.decode("allocation_role"),
                breakGlass: try row.decode("break_glass", as: Bool?.self) ?? false)
        } else {
            relationship = nil
        }
    }
}

extension AuthMiddleware {
    /// The request's bearer token, if it has one of a plausible length.
    static func bearerToken(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return nil }
        let token = String(header.dropFirst("bearer ".count)).trimmingWhitespace()
        return token.isEmpty || token.count > 200 ? nil : token
    }

    /// The family a path under `/v1/families/{familyId}` is about, whose relationship the lookup reads ahead.
    static func family(in path: String) -> UUID? {
        let parts = path.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: true)
        guard parts.count >= 3, parts[0] == "v1", parts[1] == "families" else { return nil }
        return UUID(uuidString: String(parts[2]))
    }

    /// What a device's token reaches: its sync (`/v1/sync/…`), who it belongs to (`GET /v1/me`), and signing itself
    /// out (`POST /v1/auth/logout`, which revokes the device). Everything else is a worker's, signed in as themselves.
    static func deviceMayReach(_ method: HTTPRequest.Method, _ path: String) -> Bool {
        path.hasPrefix("/v1/sync/") || (method == .get && path == "/v1/me") || (method == .post && path == "/v1/auth/logout")
    }

    /// Requests whose work is one statement that enters the wall itself (`KithService.inOneStatement`): a note's
    /// `POST` and a timeline page. Their lookup runs on its own, so that the statement is the request's whole
    /// transaction, two round trips fewer. A request named here that does more still runs its transactions whole, each
    /// begun for itself.
    static func worksInOneStatement(_ method: HTTPRequest.Method, _ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count == 4, family(in: path) != nil else { return false }
        return (method == .post && parts[3] == "notes") || (method == .get && parts[3] == "timeline")
    }
}

/// The token's session, looked up by every request, the wall for its organisation and the relationship ahead.
enum SessionLookup: HotStatement {}
