import Foundation
import HTTPTypes
import KithAPI
import KithCore
import Logging
import NIOCore
import OpenAPIRuntime
import PostgresNIO

/// Establishes the principal of every operation but sign-in from the bearer token, checked against the database on
/// every request (so logout, a worker leaving or a revoked device take effect at once). It runs in the generated
/// server's chain, so it knows the operation: which operations a device's token reaches, which family's relationship
/// to read ahead, and how the handler reaches the database: in transactions of `records { }`, the first of which goes
/// on from the lookup's, or, for an operation whose handler says it `WorksInOneStatement`, in one statement that is
/// the request's whole transaction, the lookup running alone before it.
struct SignIn: ServerMiddleware {
    /// The operations whose handlers work in one statement, each declared beside its handler.
    static let inOneStatement: Set<String> = Set(
        ([Operations.CreateNote.self, Operations.GetTimeline.self] as [any WorksInOneStatement.Type]).map { $0.id })

    /// The operations that sign in (and tell a client where to), the only ones without a token.
    static let `public`: Set<String> = [
        Operations.Login.id, Operations.LoginWithIdToken.id, Operations.StartDeviceSignIn.id, Operations.FinishDeviceSignIn.id,
        Operations.GetSignInProvider.id,
    ]

    /// What a device's token reaches: its sync, who it belongs to, and signing itself out (which revokes the device).
    /// Everything else is a worker's, signed in as themselves.
    static let deviceReaches: Set<String> = [
        Operations.SyncPush.id, Operations.SyncPull.id, Operations.SyncAck.id, Operations.GetMe.id, Operations.Logout.id,
    ]

    let db: Database
    let maxBodyBytes: Int
    let logger: Logger

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard !Self.public.contains(operationID) else { return try await next(request, body, metadata) }
        guard let token = Self.bearerToken(request.headerFields) else { throw KithError.unauthorized }
        let family = metadata.pathParameters["familyId"].flatMap { UUID(uuidString: String($0)) }
        return try await db.signedIn { held in
            let principal = try await authenticate(
                tokenHash: Tokens.hash(token), familyIds: family.map { [$0] } ?? [],
                deviceMayReach: Self.deviceReaches.contains(operationID),
                opensTransaction: !Self.inOneStatement.contains(operationID), on: held
            ) { revoked in
                guard operationID == Operations.SyncPush.id, let body else { return nil }
                let pushed = try await ByteBuffer(bytes: Data(collecting: body, upTo: maxBodyBytes))
                return try await db.transaction(organisation: revoked.organisation) { connection in
                    try await connection.quarantine(pushBody: pushed, deviceId: revoked.device, logger: logger)
                }
            }
            return try await Principal.$current.withValue(principal) {
                try await next(request, body, metadata)
            }
        }
    }

    /// `onRevokedDevice` runs before a revoked device is refused (to quarantine what it was pushing); what it returns is
    /// added to the refusal.
    private func authenticate(
        tokenHash: Data, familyIds: [UUID], deviceMayReach: Bool, opensTransaction: Bool, on held: RequestConnection,
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

extension SignIn {
    /// The request's bearer token, if it has one of a plausible length.
    static func bearerToken(_ headers: HTTPFields) -> String? {
        guard let header = headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return nil }
        let token = String(header.dropFirst("bearer ".count)).trimmingWhitespace()
        return token.isEmpty || token.count > 200 ? nil : token
    }
}

/// An operation whose handler's work is one statement that enters the wall itself (`KithService.inOneStatement`), said
/// beside the handler. Its token's lookup runs on its own, so that the statement is the request's whole transaction:
/// two round trips fewer. If such a handler does more, its other transactions still run whole, each begun for itself.
protocol WorksInOneStatement {
    static var id: String { get }
}

/// The token's session, looked up by every request, the wall for its organisation and the relationship ahead.
enum SessionLookup: HotStatement {}
