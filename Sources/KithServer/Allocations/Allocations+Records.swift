import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

enum AllocationRow {
    static let columns = """
        a.id, a.family_id, a.worker_id, a.role, a.started_on::text, a.ended_on::text, a.end_reason, a.handover_note,
        a.joint_handover_visit, a.letter_to_family, a.handover_written_by, a.handover_written_at, a.joint_visit_contact_id,
        (SELECT max(h.version) FROM handover_notes h WHERE h.organisation_id = a.organisation_id AND h.allocation_id = a.id)
            AS handover_version
        """

    static func decode(_ rows: [PostgresRow]) throws -> [Components.Schemas.Allocation] {
        var allocations: [Components.Schemas.Allocation] = []
        for row in rows {
            let row = row.makeRandomAccess()
            allocations.append(.init(
                id: try row.decode("id", as: UUID.self).text, familyId: try row.decode("family_id", as: UUID.self).text,
                workerId: try row.decode("worker_id", as: UUID.self).text,
                role: .init(rawValue: try row.decode("role")) ?? .allocatedWorker, startedOn: try row.decode("started_on"),
                endedOn: try row.decode("ended_on"), endReason: try row.decode("end_reason"),
                handoverNote: try row.decode("handover_note"), letterToFamily: try row.decode("letter_to_family"),
                jointHandoverVisit: try row.decode("joint_handover_visit"),
                handoverWrittenBy: try row.decode("handover_written_by", as: UUID?.self)?.text,
                handoverWrittenAt: try row.decode("handover_written_at"), handoverVersion: try row.decode("handover_version"),
                jointVisitContactId: try row.decode("joint_visit_contact_id", as: UUID?.self)?.text))
        }
        return allocations
    }
}

extension Records {
    /// A worker of this organisation, current on `startedOn` and allowed to be allocated (`Principal.checkAllocating`).
    func allocate(
        _ id: UUID, access: FamilyAccess, worker workerId: UUID, role: Components.Schemas.AllocationRole, from startedOn: CalendarDay
    ) async throws -> Components.Schemas.Allocation {
        let roles = try await query(
            """
            SELECT roles FROM workers WHERE organisation_id = \(principal.organisationId) AND id = \(workerId)
              AND (left_on IS NULL OR left_on > \(startedOn.description)::date)
            """).decode([String].self).first { _ in true }
        guard let roles else { throw KithError.invalidField("workerId", "is not a current worker of this organisation") }
        try principal.checkAllocating(workerId, roles: Set(roles.compactMap(Role.init(rawValue:))))
        try await connection.insertNew(
            """
            INSERT INTO allocations (organisation_id, id, family_id, worker_id, role, started_on, created_by)
            VALUES (\(principal.organisationId), \(id), \(access.familyId), \(workerId), \(role.rawValue),
                    \(startedOn.description)::date, \(principal.workerId))
            """, record: "allocation", alsoUnique: "an open allocation of this worker in this role", logger: logger)
        try await audit(.write, "allocation", recordId: id, access: access)
        if role == .allocatedWorker {
            try await handOverLatest(to: workerId, access: access)
        }
        return try await allocation(id)
    }

    /// Ends an open allocation, with the letter to the family and, if given, a new version of the handover note (as
    /// `save(_:access:)` writes it, so an earlier one by the outgoing worker is kept).
    func end(
        allocation id: UUID, access: FamilyAccess, on endedOn: CalendarDay, reason: String, handoverNote: String?,
        letterToFamily: String?, jointHandoverVisit: Bool?
    ) async throws -> Components.Schemas.Allocation {
        let ended = try await query(
            """
            UPDATE allocations SET ended_on = \(endedOn.description)::date, end_reason = \(reason),
                   letter_to_family = \(letterToFamily),
                   joint_handover_visit = \(jointHandoverVisit), ended_by = \(principal.workerId)
            WHERE organisation_id = \(principal.organisationId) AND id = \(id) AND ended_on IS NULL
              AND started_on <= \(endedOn.description)::date
            RETURNING id
            """).decode(UUID.self).first { _ in true }
        guard ended != nil else {
            let current = try await allocation(id)
            if current.endedOn != nil { throw KithError.conflict("already_ended", "This allocation has already ended.") }
            throw KithError.invalidField("endedOn", "must not be before the allocation started (\(current.startedOn))")
        }
        try await audit(.write, "allocation", recordId: id, access: access)
        if let handoverNote {
            try await save(try NewHandover(allocationId: id, .init(note: handoverNote)), access: access)
        }
        return try await allocation(id)
    }

    /// Every allocation of these families, current and ended, oldest first.
    func allocations(of families: [UUID], only ids: [UUID]? = nil) async throws -> [Components.Schemas.Allocation] {
        try AllocationRow.decode(try await query(
            AllocationsRead.self,
            """
            SELECT \(unescaped: AllocationRow.columns) FROM allocations a
            WHERE a.organisation_id = \(principal.organisationId) AND a.family_id = ANY(\(families))
              AND (\(ids)::uuid[] IS NULL OR a.id = ANY(\(ids)::uuid[]))
            ORDER BY a.started_on, a.created_at
            """))
    }

    /// The allocation a reallocation ends: the one chosen (it must be current, of this family and role), or the
    /// family's only current one in the role.
    func currentAllocation(of familyId: UUID, role: Components.Schemas.AllocationRole, chosen: UUID?) async throws -> UUID {
        let current = try await query(
            """
            SELECT id FROM current_allocations
            WHERE organisation_id = \(principal.organisationId) AND family_id = \(familyId) AND role = \(role.rawValue)
              AND (\(chosen)::uuid IS NULL OR id = \(chosen))
            """).collect().map { try $0.decode(UUID.self) }
        guard current.count == 1, let id = current.first else {
            if chosen != nil { throw KithError.invalidField("fromAllocationId", "is not a current \(role.rawValue) allocation of this family") }
            throw KithError.conflict(
                current.isEmpty ? "nothing_to_end" : "several_current",
                current.isEmpty ? "The family has no current \(role.rawValue) allocation to end; allocate instead."
                    : "The family has \(current.count) current \(role.rawValue) allocations: say which to end (fromAllocationId).")
        }
        return id
    }

    func allocation(_ id: UUID) async throws -> Components.Schemas.Allocation {
        guard let allocation = try AllocationRow.decode(try await query(
            "SELECT \(unescaped: AllocationRow.columns) FROM allocations a WHERE a.organisation_id = \(principal.organisationId) AND a.id = \(id)").collect()).first
        else { throw KithError.notFound }
        return allocation
    }

}

/// The allocations of a set of families.
enum AllocationsRead: HotStatement {}
