import Foundation
import KithCore
import Logging
import PostgresNIO

/// One principal's transaction: the connection (already behind the database's wall for their organisation), who is
/// asking, and the logger. A handler opens one (`KithService.records`) and every access decision, read, write and
/// audit event of that request goes through it.
struct Records: Sendable {
    let connection: PostgresConnection
    let principal: Principal
    let logger: Logger

    /// A statement of this transaction, logged with the request's logger.
    @discardableResult
    func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        try await connection.query(query, logger: logger)
    }

    /// A hot statement of this transaction (prepared once per connection), logged with the request's logger.
    @discardableResult
    func query<Site: HotStatement>(_ site: Site.Type, _ query: PostgresQuery) async throws -> [PostgresRow] {
        try await connection.query(site, query, logger: logger)
    }

    /// The caller's access to a family for `action`, or the policy's refusal: 404 exactly as for a family that does not
    /// exist, or 403 where they see the family but may not do this.
    func access(_ familyId: UUID, for action: FamilyAction) async throws -> FamilyAccess {
        guard let access = try await relationships([familyId])[familyId] else { throw KithError.notFound }
        guard access.allows(action) else { throw access.refusal(action) }
        return access
    }

    /// The family a record addressed by its own id belongs to, and the caller's access to it for `action`.
    func access(_ table: RecordTable, _ id: UUID, for action: FamilyAction) async throws -> FamilyAccess {
        try await access(try await familyOf(table, id: id), for: action)
    }

    /// The caller's access to a family if they have any at all (nil for none, or no such family), for the sync feed.
    func accessIfAny(_ familyId: UUID) async throws -> FamilyAccess? {
        try await relationships([familyId])[familyId].flatMap { $0.seesFamily ? $0 : nil }
    }

    /// How the caller relates to each of these families, in one query (`kith_relationships`): the family's team, the
    /// caller's current allocation role (allocated worker first) and open break-glass. Families that do not exist are
    /// absent. A request about one family had it read by its token's lookup, in this transaction.
    func relationships(_ familyIds: [UUID]) async throws -> [UUID: FamilyAccess] {
        let ids = Array(Set(familyIds))
        var facts: [FamilyRelationship] = []
        if ids.count == 1, let known = Database.requestConnection?.takeRelationship(to: ids[0]) {
            facts = [known]
        } else {
            facts = try FamilyRelationship.decode(try await query(
                FamilyRelationships.self,
                """
                SELECT family_id, team_id, allocation_role, break_glass
                FROM kith_relationships(\(principal.workerId), \(ids))
                """))
        }
        return Dictionary(uniqueKeysWithValues: facts.map { ($0.familyId, FamilyAccess($0, of: principal)) })
    }

    /// How the caller relates to every family they are allocated to or have break-glass open on, in one query.
    func relationshipsBeyondTeams() async throws -> [UUID: FamilyAccess] {
        let facts = try FamilyRelationship.decode(try await query(
            RelationshipsBeyondTeams.self,
            """
            SELECT family_id, team_id, allocation_role, break_glass
            FROM kith_relationships(\(principal.workerId), ARRAY(
                SELECT a.family_id FROM current_allocations a
                WHERE a.organisation_id = \(principal.organisationId) AND a.worker_id = \(principal.workerId)
                UNION
                SELECT g.family_id FROM break_glass_grants g
                WHERE g.organisation_id = \(principal.organisationId) AND g.worker_id = \(principal.workerId)
                  AND g.expires_at > now()))
            """))
        return Dictionary(uniqueKeysWithValues: facts.map { ($0.familyId, FamilyAccess($0, of: principal)) })
    }

    /// The family a record belongs to, for operations addressed by the record's own id.
    func familyOf(_ table: RecordTable, id: UUID) async throws -> UUID {
        let rows = try await query(
            "SELECT family_id FROM \(unescaped: table.rawValue) WHERE organisation_id = \(principal.organisationId) AND id = \(id)")
        for try await familyId in rows.decode(UUID.self) { return familyId }
        throw KithError.notFound
    }

    /// An audit event of a read or write of a family's record, marked `breakGlass` when the access needed it for what
    /// it touches (`restricted`: it showed or changed a restricted note).
    func audit(
        _ action: AuditAction, _ entity: String, recordId: UUID? = nil, access: FamilyAccess, restricted: Bool = false,
        reason: String? = nil
    ) async throws {
        let kind: FamilyAction = switch action {
        case .read: .read
        case .export: .export
        case .write, .breakGlass, .administer: .write
        }
        try await audit(
            action, entity, recordId: recordId, familyIds: [access.familyId],
            breakGlass: action == .breakGlass || access.needsBreakGlass(kind, restricted: restricted), reason: reason)
    }

    /// One event for each family, written in one statement (a team's figures touch every family of the team); a read
    /// through a subject access request names it.
    func audit(
        _ action: AuditAction, _ entity: String, recordId: UUID? = nil, familyIds: [UUID], breakGlass: Bool = false,
        reason: String? = nil, subjectAccessRequest: UUID? = nil
    ) async throws {
        try await query(
            AuditWrite.self,
            """
            SELECT kith_audit(\(principal.workerId), NULL, \(familyIds)::uuid[], \(action.rawValue), \(entity),
                              ARRAY[\(recordId)::uuid], \(reason), ARRAY[\(breakGlass)], '{}', NULL, \(subjectAccessRequest))
            """)
    }

    /// An administrative change or a decision about work that names no family, in the organisation's feed
    /// (`GET /v1/audit`); `teamId` shows it to that team's supervisors there too.
    func auditAdministration(_ entity: String, recordId: UUID?, teamIds: [UUID] = [], reason: String) async throws {
        try await query(
            """
            SELECT kith_audit(\(principal.workerId), NULL, NULL, 'administer', \(entity), ARRAY[\(recordId)::uuid], \(reason),
                              ARRAY[false], \(teamIds)::uuid[])
            """)
    }
}

/// The caller's relationships to families, read by every request about one.
enum FamilyRelationships: HotStatement {}
/// The caller's relationships to the families they are allocated to or have break-glass open on (a search's scope).
enum RelationshipsBeyondTeams: HotStatement {}

/// What `kith_relationships` says of a caller and a family, which `FamilyAccess` judges.
struct FamilyRelationship: Sendable {
    let familyId: UUID
    let teamId: UUID
    let allocationRole: String?
    let breakGlass: Bool

    /// Rows of `kith_relationships`.
    static func decode(_ rows: [PostgresRow]) throws -> [FamilyRelationship] {
        try rows.map { row in
            let (family, team, role, breakGlass) = try row.decode((UUID, UUID, String?, Bool).self)
            return FamilyRelationship(familyId: family, teamId: team, allocationRole: role, breakGlass: breakGlass)
        }
    }
}

extension FamilyAccess {
    /// How `principal` stands with a family, from what `kith_relationships` said of them.
    init(_ fact: FamilyRelationship, of principal: Principal) {
        self.init(
            familyId: fact.familyId, teamId: fact.teamId, allocationRole: fact.allocationRole.flatMap(AllocationRole.init(rawValue:)),
            supervisesTeam: principal.supervises(team: fact.teamId), breakGlass: fact.breakGlass, adminOnly: principal.isAdminOnly)
    }
}

/// Tables whose rows are addressed by id in a path and belong to one family.
enum RecordTable: String {
    case people, allocations, notes, contacts, conferences, planItems = "plan_items", invitations = "family_invitations"
}
