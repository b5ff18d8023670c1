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
            SELECT c.id, c.family_id, c.occurred_at, c.duration_minutes, c.kind, c.location,
                   coalesce((SELECT array_agg(person_id ORDER BY person_id) FROM contact_people cp
                              WHERE cp.organisation_id = c.organisation_id AND cp.contact_id = c.id), '{}'),
                   coalesce((SELECT array_agg(worker_id ORDER BY worker_id) FROM contact_workers cw
                              WHERE cw.organisation_id = c.organisation_id AND cw.contact_id = c.id), '{}'),
                   c.child_seen, c.child_seen_alone, c.recorded_by, c.recorded_at, c.device_recorded_at, c.clock_suspect,
                   c.source_device_id, c.late_after_reallocation, c.others_present::text
            FROM contacts c
            WHERE c.organisation_id = \(principal.organisationId) AND c.family_id = ANY(\(families))
              AND (\(ids)::uuid[] IS NULL OR c.id = ANY(\(ids)::uuid[]))
            ORDER BY c.occurred_at, c.id
            """)
        var contacts: [Components.Schemas.Contact] = []
        for row in rows {
            let (id, family, occurredAt, duration, kind, location, people, workers, seen, alone, recordedBy, recordedAt,
                       deviceRecordedAt, clockSuspect, device, late, others) = try row.decode(
                    (UUID, UUID, Date, Int?, String, String?, [UUID], [UUID], Bool?, Bool?, UUID, Date, Date?, Bool, UUID?, Bool, String).self)
            contacts.append(.init(
                id: id.text, familyId: family.text, occurredAt: occurredAt, durationMinutes: duration,
                kind: .init(rawValue: kind) ?? .other, location: location, presentPersonIds: people.map(\.text),
                presentWorkerIds: workers.map(\.text), childSeen: seen, childSeenAlone: alone, recordedBy: recordedBy.text,
                recordedAt: recordedAt, deviceRecordedAt: deviceRecordedAt, clockSuspect: clockSuspect,
                sourceDeviceId: device?.text, lateAfterReallocation: late,
                othersPresent: try KithJSON.decode([Components.Schemas.OtherPresent].self, from: others)))
        }
        return contacts
    }
}

/// The contacts of a set of families.
enum ContactsRead: HotStatement {}
