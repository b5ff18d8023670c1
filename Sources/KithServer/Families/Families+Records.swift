import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

enum FamilyRow {
    static let columns = """
        f.id, f.team_id, f.display_name, f.reference, f.reason_for_involvement, f.status,
        f.opened_on::text, f.closed_on::text, f.created_at
        """

    static func decode(_ rows: [PostgresRow]) throws -> [Components.Schemas.Family] {
        var families: [Components.Schemas.Family] = []
        for row in rows {
            let row = row.makeRandomAccess()
            families.append(.init(
                id: try row.decode("id", as: UUID.self).text, teamId: try row.decode("team_id", as: UUID.self).text,
                displayName: try row.decode("display_name"), reference: try row.decode("reference"),
                reasonForInvolvement: try row.decode("reason_for_involvement"),
                status: .init(rawValue: try row.decode("status")) ?? .open, openedOn: try row.decode("opened_on"),
                closedOn: try row.decode("closed_on"), createdAt: try row.decode("created_at")))
        }
        return families
    }
}

extension Records {
    /// The caller's caseload (current allocations), or their teams' families; by name, after a family's id.
    func caseload(team: Bool, status: String?, after: UUID?, limit: Int) async throws -> [Components.Schemas.Family] {
        try FamilyRow.decode(try await query(
            """
            SELECT \(unescaped: FamilyRow.columns) FROM families f
            WHERE f.organisation_id = \(principal.organisationId)
              AND (\(status)::text IS NULL OR f.status = \(status))
              AND CASE WHEN \(team) THEN f.team_id = ANY(\(principal.teamIds))
                  ELSE EXISTS (SELECT 1 FROM current_allocations a
                               WHERE a.organisation_id = f.organisation_id AND a.family_id = f.id
                                 AND a.worker_id = \(principal.workerId)) END
              AND (\(after)::uuid IS NULL OR (f.display_name, f.id) > (
                   (SELECT display_name FROM families WHERE organisation_id = \(principal.organisationId) AND id = \(after)), \(after)))
            ORDER BY f.display_name, f.id
            LIMIT \(limit)
            """).collect())
    }

    /// A new family of one of the caller's teams; a practitioner or coordinator who opens it is its worker from today.
    func openFamily(
        _ id: UUID, team: UUID, displayName: String, reference: String?, reasonForInvolvement: String?, openedOn: CalendarDay?,
        ownRole: AllocationRole?
    ) async throws -> Components.Schemas.Family {
        try await connection.insertNew(
            """
            INSERT INTO families (organisation_id, id, team_id, display_name, reference, reason_for_involvement,
                                  opened_on, created_by)
            VALUES (\(principal.organisationId), \(id), \(team), \(displayName), \(reference),
                    \(reasonForInvolvement), coalesce(\(openedOn?.description)::date, current_date), \(principal.workerId))
            """, record: "family", alsoUnique: "reference", logger: logger)
        if let ownRole {
            try await query(
                """
                INSERT INTO allocations (organisation_id, id, family_id, worker_id, role, started_on, created_by)
                VALUES (\(principal.organisationId), \(UUID()), \(id), \(principal.workerId), \(ownRole.rawValue),
                        current_date, \(principal.workerId))
                """)
        }
        try await audit(.write, "family", recordId: id, access: try await access(id, for: .write))
        return try await family(id)
    }

    func update(family id: UUID, _ body: Components.Schemas.UpdateFamily, closedOn: CalendarDay?) async throws -> Components.Schemas.Family {
        let access = try await access(id, for: .write)
        let status = body.status?.rawValue
        try await query(
            """
            UPDATE families SET
                display_name = coalesce(\(body.displayName), display_name),
                reference = CASE WHEN \(body.reference)::text IS NULL THEN reference ELSE \(body.reference.nilIfBlank) END,
                reason_for_involvement = coalesce(\(body.reasonForInvolvement), reason_for_involvement),
                status = coalesce(\(status), status),
                closed_on = CASE
                    WHEN coalesce(\(status), status) = 'open' THEN NULL
                    ELSE coalesce(\(closedOn?.description)::date, closed_on, current_date) END
            WHERE organisation_id = \(principal.organisationId) AND id = \(id)
            """)
        try await audit(.write, "family", recordId: id, access: access)
        return try await family(id)
    }

    func family(_ id: UUID) async throws -> Components.Schemas.Family {
        guard let family = try await families([id]).first else { throw KithError.notFound }
        return family
    }

    func families(_ ids: [UUID]) async throws -> [Components.Schemas.Family] {
        try FamilyRow.decode(try await query(
            FamiliesRead.self,
            """
            SELECT \(unescaped: FamilyRow.columns) FROM families f
            WHERE f.organisation_id = \(principal.organisationId) AND f.id = ANY(\(ids))
            """))
    }
}

/// Families by id.
enum FamiliesRead: HotStatement {}
