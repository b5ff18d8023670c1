import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// Visits and other contacts. Only attribution is required (who recorded it, which family, when it happened):
/// a contact with no note, no duration and nobody listed as present still saves.
extension KithService {
    func recordContact(_ input: Operations.RecordContact.Input) async throws -> Operations.RecordContact.Output {
        let principal = try Principal.required()
        let body = switch input.body { case .json(let body): body }
        let draft = try NewContact(familyId: try UUID(path: input.path.familyId), body)
        let contact = try await records { records in
            let access = try await records.access(draft.familyId, for: .read)
            try await records.save(draft, access: access, origin: .online)
            return try await records.contacts(familyId: draft.familyId, only: draft.id)[0]
        }
        return .created(.init(body: .json(contact)))
    }
}

/// A contact, checked. A child seen alone was seen, so `childSeen` follows from `childSeenAlone` when absent.
struct NewContact: Sendable {
    let id: UUID
    let familyId: UUID
    let personIds: [UUID]
    let workerIds: [UUID]
    let childSeen: Bool?
    let body: Components.Schemas.CreateContact

    init(familyId: UUID, _ body: Components.Schemas.CreateContact) throws {
        var check = Validation()
        id = check.uuid("id", body.id) ?? UUID()
        check.moment("occurredAt", body.occurredAt)
        check.range("durationMinutes", body.durationMinutes, 0...1440)
        check.text("location", body.location, max: 500)
        personIds = Array(Set(check.uuids("presentPersonIds", body.presentPersonIds, max: 100)))
        workerIds = Array(Set(check.uuids("presentWorkerIds", body.presentWorkerIds, max: 20)))
        if body.childSeenAlone == true, body.childSeen == false {
            check.add("childSeenAlone", "a child seen alone was seen: childSeen cannot be false")
        }
        try check.orThrow()
        self.familyId = familyId
        childSeen = body.childSeen ?? (body.childSeenAlone == true ? true : nil)
        self.body = body
    }
}

extension Records {
    /// Writes a contact with who was present, audited, in the caller's transaction.
    func save(_ contact: NewContact, access: FamilyAccess, origin: WriteOrigin) async throws {
        let organisation = principal.organisationId
        try await requireMembers(
            personIds: contact.personIds, workerIds: contact.workerIds, familyId: contact.familyId)
        let body = contact.body
        try await connection.insertNew(
            """
            INSERT INTO contacts (organisation_id, id, family_id, occurred_at, duration_minutes, kind, location,
                                  child_seen, child_seen_alone, recorded_by, source_device_id, device_recorded_at,
                                  clock_suspect, late_after_reallocation)
            VALUES (\(organisation), \(contact.id), \(contact.familyId), \(body.occurredAt), \(body.durationMinutes),
                    \(body.kind.rawValue), \(body.location.nilIfBlank), \(contact.childSeen), \(body.childSeenAlone),
                    \(principal.workerId), \(principal.deviceId), \(origin.deviceRecordedAt), \(origin.clockSuspect),
                    \(origin.lateAfterReallocation))
            """, record: "contact", logger: logger)
        try await connection.query(
            """
            INSERT INTO contact_people (organisation_id, contact_id, person_id)
            SELECT \(organisation), \(contact.id), p FROM unnest(\(contact.personIds)::uuid[]) AS p
            """, logger: logger)
        try await connection.query(
            """
            INSERT INTO contact_workers (organisation_id, contact_id, worker_id)
            SELECT \(organisation), \(contact.id), w FROM unnest(\(contact.workerIds)::uuid[]) AS w
            """, logger: logger)
        try await audit(.write, "contact", recordId: contact.id, access: access)
    }

    /// Present people must be in this family's network, present workers in this organisation.
    func requireMembers(personIds: [UUID], workerIds: [UUID], familyId: UUID) async throws {
        let (people, workers) = try await connection.query(
            """
            SELECT (SELECT count(*) FROM people WHERE organisation_id = \(principal.organisationId)
                      AND family_id = \(familyId) AND id = ANY(\(personIds))),
                   (SELECT count(*) FROM workers WHERE organisation_id = \(principal.organisationId) AND id = ANY(\(workerIds)))
            """, logger: logger
        ).decode((Int, Int).self).first { _ in true } ?? (0, 0)
        var check = Validation()
        if people != Set(personIds).count { check.add("presentPersonIds", "names someone who is not in this family's network") }
        if workers != Set(workerIds).count { check.add("presentWorkerIds", "names someone who is not a worker here") }
        try check.orThrow()
    }

    func contacts(familyId: UUID, only id: UUID? = nil) async throws -> [Components.Schemas.Contact] {
        let rows = try await connection.query(
            """
            SELECT c.id, c.family_id, c.occurred_at, c.duration_minutes, c.kind, c.location,
                   coalesce((SELECT array_agg(person_id ORDER BY person_id) FROM contact_people cp
                              WHERE cp.organisation_id = c.organisation_id AND cp.contact_id = c.id), '{}'),
                   coalesce((SELECT array_agg(worker_id ORDER BY worker_id) FROM contact_workers cw
                              WHERE cw.organisation_id = c.organisation_id AND cw.contact_id = c.id), '{}'),
                   c.child_seen, c.child_seen_alone, c.recorded_by, c.recorded_at, c.device_recorded_at, c.clock_suspect,
                   c.source_device_id, c.late_after_reallocation
            FROM contacts c
            WHERE c.organisation_id = \(principal.organisationId) AND c.family_id = \(familyId)
              AND (\(id)::uuid IS NULL OR c.id = \(id))
            ORDER BY c.occurred_at, c.id
            """, logger: logger)
        var contacts: [Components.Schemas.Contact] = []
        for try await (id, family, occurredAt, duration, kind, location, people, workers, seen, alone, recordedBy, recordedAt,
                       deviceRecordedAt, clockSuspect, device, late) in rows.decode(
            (UUID, UUID, Date, Int?, String, String?, [UUID], [UUID], Bool?, Bool?, UUID, Date, Date?, Bool, UUID?, Bool).self)
        {
            contacts.append(.init(
                id: id.text, familyId: family.text, occurredAt: occurredAt, durationMinutes: duration,
                kind: .init(rawValue: kind) ?? .other, location: location, presentPersonIds: people.map(\.text),
                presentWorkerIds: workers.map(\.text), childSeen: seen, childSeenAlone: alone, recordedBy: recordedBy.text,
                recordedAt: recordedAt, deviceRecordedAt: deviceRecordedAt, clockSuspect: clockSuspect,
                sourceDeviceId: device?.text, lateAfterReallocation: late))
        }
        return contacts
    }
}
