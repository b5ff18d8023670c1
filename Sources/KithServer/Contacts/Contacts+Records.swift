import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension Records {
    /// Writes a contact with who was present, audited, in the caller's transaction.
    func save(_ contact: NewContact, access: FamilyAccess, origin: WriteOrigin) async throws {
        let organisation = principal.organisationId
        try await requireMembers(
            personIds: contact.personIds, workerIds: contact.workerIds, familyId: contact.familyId)
        let workers = contact.recorderPresent ? Array(Set(contact.workerIds + [principal.workerId])) : contact.workerIds
        let body = contact.body
        try await connection.insertNew(
            """
            INSERT INTO contacts (organisation_id, id, family_id, occurred_at, duration_minutes, kind, location,
                                  child_seen, child_seen_alone, recorded_by, source_device_id, device_recorded_at,
                                  clock_suspect, late_after_reallocation, others_present)
            VALUES (\(organisation), \(contact.id), \(contact.familyId), \(body.occurredAt), \(body.durationMinutes),
                    \(body.kind.rawValue), \(body.location.nilIfBlank), \(contact.childSeen), \(body.childSeenAlone),
                    \(principal.workerId), \(principal.deviceId), \(origin.deviceRecordedAt), \(origin.clockSuspect),
                    \(origin.lateAfterReallocation), \(contact.othersPresent)::jsonb)
            """, record: "contact", logger: logger)
        try await query(
            """
            INSERT INTO contact_people (organisation_id, contact_id, person_id)
            SELECT \(organisation), \(contact.id), p FROM unnest(\(contact.personIds)::uuid[]) AS p
            """)
        try await query(
            """
            INSERT INTO contact_workers (organisation_id, contact_id, worker_id)
            SELECT \(organisation), \(contact.id), w FROM unnest(\(workers)::uuid[]) AS w
            """)
        try await audit(.write, "contact", recordId: contact.id, access: access)
    }

    func contacts(of families: [UUID], only ids: [UUID]? = nil) async throws -> [Components.Schemas.Contact] {
        let rows = try await query(
            ContactsRead.self,
            """
            SELECT \(unescaped: ContactRow.columns) FROM contacts c
            WHERE c.organisation_id = \(principal.organisationId) AND c.family_id = ANY(\(families))
              AND (\(ids)::uuid[] IS NULL OR c.id = ANY(\(ids)::uuid[]))
            ORDER BY c.occurred_at, c.id
            """)
        return try rows.map(ContactRow.decode)
    }
}

/// A contact, with who was there, read by name.
enum ContactRow {
    static let columns = """
        c.id, c.family_id, c.occurred_at, c.duration_minutes, c.kind, c.location,
        coalesce((SELECT array_agg(person_id ORDER BY person_id) FROM contact_people cp
                  WHERE cp.organisation_id = c.organisation_id AND cp.contact_id = c.id), '{}') AS people,
        coalesce((SELECT array_agg(worker_id ORDER BY worker_id) FROM contact_workers cw
                  WHERE cw.organisation_id = c.organisation_id AND cw.contact_id = c.id), '{}') AS workers,
        c.child_seen, c.child_seen_alone, c.recorded_by, c.recorded_at, c.device_recorded_at, c.clock_suspect,
        c.source_device_id, c.late_after_reallocation, c.others_present::text
        """

    static func decode(_ row: PostgresRow) throws -> Components.Schemas.Contact {
        let row = row.makeRandomAccess()
        return .init(
            id: try row.decode("id", as: UUID.self).text, familyId: try row.decode("family_id", as: UUID.self).text,
            occurredAt: try row.decode("occurred_at"), durationMinutes: try row.decode("duration_minutes"),
            kind: .init(rawValue: try row.decode("kind")) ?? .other, location: try row.decode("location"),
            presentPersonIds: try row.decode("people", as: [UUID].self).map(\.text),
            presentWorkerIds: try row.decode("workers", as: [UUID].self).map(\.text), childSeen: try row.decode("child_seen"),
            childSeenAlone: try row.decode("child_seen_alone"), recordedBy: try row.decode("recorded_by", as: UUID.self).text,
            recordedAt: try row.decode("recorded_at"), deviceRecordedAt: try row.decode("device_recorded_at"),
            clockSuspect: try row.decode("clock_suspect"), sourceDeviceId: try row.decode("source_device_id", as: UUID?.self)?.text,
            lateAfterReallocation: try row.decode("late_after_reallocation"),
            othersPresent: try KithJSON.decode([Components.Schemas.OtherPresent].self, from: try row.decode("others_present")))
    }
}

/// The contacts of a set of families.
enum ContactsRead: HotStatement {}
