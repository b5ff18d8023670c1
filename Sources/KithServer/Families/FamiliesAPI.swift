import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension KithService {
    /// The caller's caseload (`mine`: current allocations) or, for supervisors, their teams' families.
    func listFamilies(_ input: Operations.ListFamilies.Input) async throws -> Operations.ListFamilies.Output {
        let principal = try Principal.required()
        let limit = try PageSize.resolve(input.query.limit)
        // The cursor holds the last family's id only, never its name: URLs end up in logs.
        var after: UUID?
        if let cursor = input.query.after {
            guard let keys = PageCursor(encoded: cursor, count: 1)?.keys, let id = UUID(uuidString: keys[0]) else {
                throw KithError.invalidField("after", "is not a cursor from this list")
            }
            after = id
        }
        let teamScope = input.query.scope == .team
        if teamScope { try principal.require(.supervisor, "supervisors (a team's caseload)") }

        var families = try await records { records in
            try await FamilyRow.decode(try await records.connection.query(
            """
            SELECT \(unescaped: FamilyRow.columns) FROM families f
            WHERE f.organisation_id = \(principal.organisationId)
              AND (\(input.query.status?.rawValue)::text IS NULL OR f.status = \(input.query.status?.rawValue))
              AND CASE WHEN \(teamScope) THEN f.team_id = ANY(\(principal.teamIds))
                  ELSE EXISTS (SELECT 1 FROM current_allocations a
                               WHERE a.organisation_id = f.organisation_id AND a.family_id = f.id
                                 AND a.worker_id = \(principal.workerId)) END
              AND (\(after)::uuid IS NULL OR (f.display_name, f.id) > (
                   (SELECT display_name FROM families WHERE organisation_id = \(principal.organisationId) AND id = \(after)), \(after)))
            ORDER BY f.display_name, f.id
            LIMIT \(limit + 1)
            """, logger: logger))
        }
        var next: String?
        if families.count > limit {
            families.removeLast()
            next = families.last.map { PageCursor([$0.id]).encoded }
        }
        return .ok(.init(body: .json(.init(items: families, next: next))))
    }

    func createFamily(_ input: Operations.CreateFamily.Input) async throws -> Operations.CreateFamily.Output {
        let principal = try Principal.required()
        guard !principal.isAdminOnly else {
            throw KithError.forbidden("Administrators manage the organisation; families are opened by practitioners, coordinators and supervisors.")
        }
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        let id = check.uuid("id", body.id) ?? UUID()
        let requestedTeam = check.uuid("teamId", body.teamId)
        check.requiredText("displayName", body.displayName, max: 500)
        check.text("reference", body.reference, max: 100)
        check.text("reasonForInvolvement", body.reasonForInvolvement, max: 10_000)
        let openedOn = check.day("openedOn", body.openedOn)
        let teamId = requestedTeam ?? principal.teamIds.first
        if let teamId, !principal.teamIds.contains(teamId) { check.add("teamId", "must be one of your teams") }
        if teamId == nil { check.add("teamId", "is needed: you belong to no team") }
        try check.orThrow()

        // A practitioner or coordinator who opens a family is its worker from today; a supervisor allocates.
        let ownRole: AllocationRole? =
            principal.has(.practitioner) ? .allocatedWorker : principal.has(.coordinator) ? .coordinator : nil

        let family = try await records { records in
            try await records.connection.insertNew(
                """
                INSERT INTO families (organisation_id, id, team_id, display_name, reference, reason_for_involvement,
                                      opened_on, created_by)
                VALUES (\(principal.organisationId), \(id), \(teamId!), \(body.displayName), \(body.reference.nilIfBlank),
                        \(body.reasonForInvolvement), coalesce(\(openedOn?.description)::date, current_date), \(principal.workerId))
                """, record: "family", alsoUnique: "reference", logger: logger)
            if let ownRole {
                try await records.connection.query(
                    """
                    INSERT INTO allocations (organisation_id, id, family_id, worker_id, role, started_on, created_by)
                    VALUES (\(principal.organisationId), \(UUID()), \(id), \(principal.workerId), \(ownRole.rawValue),
                            current_date, \(principal.workerId))
                    """, logger: logger)
            }
            let access = try await records.access(id, for: .read)
            try await records.audit(.write, "family", recordId: id, access: access)
            return try await records.family(id)
        }
        return .created(.init(body: .json(family)))
    }

    func getFamily(_ input: Operations.GetFamily.Input) async throws -> Operations.GetFamily.Output {
        let id = try UUID(path: input.path.familyId)
        let family = try await readFamily(id, "family", recordId: id) { records, _ in
            try await records.family(id)
        }
        return .ok(.init(body: .json(family)))
    }

    func updateFamily(_ input: Operations.UpdateFamily.Input) async throws -> Operations.UpdateFamily.Output {
        let principal = try Principal.required()
        let id = try UUID(path: input.path.familyId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        if let name = body.displayName { check.requiredText("displayName", name, max: 500) }
        check.text("reference", body.reference, max: 100)
        check.text("reasonForInvolvement", body.reasonForInvolvement, max: 10_000)
        let closedOn = check.day("closedOn", body.closedOn)
        try check.orThrow()

        let family = try await records { records in
            let access = try await records.access(id, for: .read)
            let status = body.status?.rawValue
            try await records.connection.query(
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
                """, logger: logger)
            try await records.audit(.write, "family", recordId: id, access: access)
            return try await records.family(id)
        }
        return .ok(.init(body: .json(family)))
    }
}
