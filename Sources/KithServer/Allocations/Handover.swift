import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// A handover note, checked: the outgoing worker's knowledge of the family for whoever takes it on.
struct NewHandover: Sendable {
    let allocationId: UUID
    let note: String
    let jointVisitContactId: UUID?

    init(allocationId: UUID, _ body: Components.Schemas.WriteHandover) throws {
        var check = Validation()
        check.requiredText("note", body.note, max: 65_536)
        jointVisitContactId = check.uuid("jointVisitContactId", body.jointVisitContactId)
        try check.orThrow()
        self.allocationId = allocationId
        note = body.note
    }
}

extension Records {
    /// A new version of the allocation's handover note, written by the allocation's own worker or a supervisor of the
    /// family's team (anyone else who sees the family hears 403). The incoming worker, once allocated, has it to read.
    func save(_ handover: NewHandover, access: FamilyAccess) async throws {
        let org = principal.organisationId
        let found = try await query(
            """
            SELECT worker_id, role FROM allocations
            WHERE organisation_id = \(org) AND id = \(handover.allocationId) AND family_id = \(access.familyId)
            FOR UPDATE
            """).decode((UUID, String).self).first { _ in true }
        guard let (outgoing, role) = found else { throw KithError.notFound }
        guard outgoing == principal.workerId || access.allows(.allocate) else {
            throw KithError.forbidden("A handover is written by the worker whose allocation it is, or a supervisor of the family's team.")
        }
        if let contactId = handover.jointVisitContactId {
            try await requireJointVisit(contactId, of: outgoing, in: access.familyId)
        }
        try await query(
            """
            WITH version AS (
                INSERT INTO handover_notes (organisation_id, id, allocation_id, family_id, version, note, joint_visit_contact_id,
                                            written_by)
                SELECT \(org), \(UUID()), \(handover.allocationId), \(access.familyId), coalesce(max(version), 0) + 1,
                       \(handover.note), \(handover.jointVisitContactId), \(principal.workerId)
                FROM handover_notes WHERE organisation_id = \(org) AND allocation_id = \(handover.allocationId)
                RETURNING written_at
            )
            UPDATE allocations a
            SET handover_note = \(handover.note), handover_written_by = \(principal.workerId),
                handover_written_at = version.written_at, joint_visit_contact_id = \(handover.jointVisitContactId)
            FROM version
            WHERE a.organisation_id = \(org) AND a.id = \(handover.allocationId)
            """)
        try await audit(.write, "handover", recordId: handover.allocationId, access: access)
        if role == AllocationRole.allocatedWorker.rawValue {
            try await handOver(handover.allocationId, access: access)
        }
    }

    /// The contact must be with this family and the outgoing worker recorded at it.
    private func requireJointVisit(_ contactId: UUID, of worker: UUID, in familyId: UUID) async throws {
        let (contact, present) = try await query(
            """
            SELECT EXISTS (SELECT 1 FROM contacts WHERE organisation_id = \(principal.organisationId) AND id = \(contactId)
                             AND family_id = \(familyId)),
                   EXISTS (SELECT 1 FROM contact_workers WHERE organisation_id = \(principal.organisationId)
                             AND contact_id = \(contactId) AND worker_id = \(worker))
            """).decode((Bool, Bool).self).first { _ in true } ?? (false, false)
        guard contact else { throw KithError.invalidField("jointVisitContactId", "is not a contact with this family") }
        guard present else {
            throw KithError.invalidField("jointVisitContactId", "is a contact the outgoing worker is not recorded as present at")
        }
    }

    /// "Handover to read" for each incoming allocated worker of the family (allocated after the outgoing allocation
    /// began) who has no open one for this allocation yet; acknowledging it clears it.
    func handOver(_ allocationId: UUID, access: FamilyAccess) async throws {
        let org = principal.organisationId
        let rows = try await query(
            """
            SELECT b.worker_id, w.name
            FROM allocations a
            JOIN workers w ON w.organisation_id = a.organisation_id AND w.id = a.worker_id
            JOIN current_allocations b ON b.organisation_id = a.organisation_id AND b.family_id = a.family_id
                 AND b.role = 'allocatedWorker' AND b.worker_id <> a.worker_id AND b.started_on >= a.started_on
            WHERE a.organisation_id = \(org) AND a.id = \(allocationId) AND a.handover_note IS NOT NULL
              AND NOT EXISTS (
                  SELECT 1 FROM review_items i
                  JOIN review_item_recipients r ON r.organisation_id = i.organisation_id AND r.review_item_id = i.id
                  WHERE i.organisation_id = a.organisation_id AND i.family_id = a.family_id AND i.kind = 'handover'
                    AND i.status = 'open' AND i.payload ->> 'allocationId' = \(allocationId.text) AND r.worker_id = b.worker_id)
            """)
        for try await (incoming, outgoingName) in rows.decode((UUID, String).self) {
            let payload = try KithJSON.text(["allocationId": allocationId.text])
            try await addReviewItem(
                .handover, familyId: access.familyId, teamId: access.teamId, deviceId: nil, mutationId: nil,
                summary: "A handover note from \(outgoingName) to read", reason: nil, payload: payload,
                recipients: [incoming])
        }
    }

    /// The family's latest handover from an allocated worker other than `worker`, for one just allocated.
    func handOverLatest(to worker: UUID, access: FamilyAccess) async throws {
        let latest = try await query(
            """
            SELECT id FROM allocations
            WHERE organisation_id = \(principal.organisationId) AND family_id = \(access.familyId) AND role = 'allocatedWorker'
              AND worker_id <> \(worker) AND handover_note IS NOT NULL
            ORDER BY coalesce(ended_on, 'infinity'::date) DESC, started_on DESC
            LIMIT 1
            """).decode(UUID.self).first { _ in true }
        if let latest { try await handOver(latest, access: access) }
    }

    /// Every version of the family's handover notes (of one allocation, if given), oldest first.
    func handoverVersions(in familyId: UUID, of allocationId: UUID? = nil) async throws -> [Components.Schemas.HandoverVersion] {
        let rows = try await query(
            """
            SELECT id, allocation_id, version, note, joint_visit_contact_id, written_by, written_at FROM handover_notes
            WHERE organisation_id = \(principal.organisationId) AND family_id = \(familyId)
              AND (\(allocationId)::uuid IS NULL OR allocation_id = \(allocationId))
            ORDER BY written_at, version
            """)
        var versions: [Components.Schemas.HandoverVersion] = []
        for try await (id, allocation, version, note, contact, writtenBy, writtenAt) in rows.decode(
            (UUID, UUID, Int, String, UUID?, UUID, Date).self)
        {
            versions.append(.init(
                id: id.text, allocationId: allocation.text, version: version, note: note, jointVisitContactId: contact?.text,
                writtenBy: writtenBy.text, writtenAt: writtenAt))
        }
        return versions
    }
}
