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
        try await requireChildrenInFocus(contact.childrenSeen.personIds, familyId: contact.familyId)
        let workers = contact.recorderPresent ? Array(Set(contact.workerIds + [principal.workerId])) : contact.workerIds
        let body = contact.body
        try await connection.insertNew(
            """
            INSERT INTO contacts (organisation_id, id, family_id, occurred_at, duration_minutes, kind, location,
                                  child_seen, child_seen_alone, children_seen, recorded_by, source_device_id,
                                  device_recorded_at, clock_suspect, late_after_reallocation, others_present)
            VALUES (\(organisation), \(contact.id), \(contact.familyId), \(body.occurredAt), \(body.durationMinutes),
                    \(body.kind.rawValue), \(body.location.nilIfBlank), \(contact.childSeen), \(body.childSeenAlone),
                    \(try contact.childrenSeen.json)::jsonb, \(principal.workerId), \(principal.deviceId),
                    \(origin.deviceRecordedAt), \(origin.clockSuspect), \(origin.lateAfterReallocation),
                    \(contact.othersPresent)::jsonb)
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

    /// A family's contacts as they stand (`current_contacts`), each with its corrections and the values as recorded;
    /// withdrawn ones marked.
    func contacts(of families: [UUID], only ids: [UUID]? = nil) async throws -> [Components.Schemas.Contact] {
        let rows = try await query(
            ContactsRead.self,
            """
            SELECT \(unescaped: ContactRow.columns) FROM current_contacts c
            WHERE c.organisation_id = \(principal.organisationId) AND c.family_id = ANY(\(families))
              AND (\(ids)::uuid[] IS NULL OR c.id = ANY(\(ids)::uuid[]))
            ORDER BY c.occurred_at, c.id
            """)
        return try rows.map(ContactRow.decode)
    }
}

extension Records {
    /// The contact a correction is about, as the caller may correct it (`FamilyAccess.mayCorrect`), as it stands.
    /// Corrections of one contact are serialised.
    private func correctable(_ contactId: UUID, access: FamilyAccess) async throws -> Components.Schemas.Contact {
        try await query("SELECT pg_advisory_xact_lock(hashtextextended(\(contactId.text), 0))")
        guard let contact = try await contacts(of: [access.familyId], only: [contactId]).first,
              let recordedBy = UUID(uuidString: contact.recordedBy)
        else { throw KithError.notFound }
        guard access.mayCorrect(recordBy: recordedBy, caller: principal.workerId) else {
            throw KithError.forbidden("Only the worker who recorded the contact or the family's supervisors correct it.")
        }
        return contact
    }

    /// A correction of a contact, with its audit event: only the fields whose value it changes are kept; one that
    /// changes nothing is refused.
    func save(_ correction: ContactCorrection, access: FamilyAccess) async throws {
        let contact = try await correctable(correction.contactId, access: access)
        guard contact.withdrawn == nil else {
            throw KithError.conflict("contact_withdrawn", "This contact was withdrawn: it takes no correction.")
        }
        let body = correction.body
        func changed<Value: Equatable>(_ new: Value?, from old: Value?) -> Value? { new == old ? nil : new }
        let people = correction.personIds.flatMap { ids in
            Set(ids) == Set(contact.presentPersonIds.compactMap(UUID.init(uuidString:))) ? nil : ids
        }
        let children = correction.childrenSeen.flatMap { Set($0.entries) == Set(contact.childrenSeen ?? []) ? nil : $0 }
        let occurredAt = changed(body.occurredAt, from: contact.occurredAt)
        let kind = changed(body.kind?.rawValue, from: contact.kind.rawValue)
        let childSeen = changed(correction.childSeen, from: contact.childSeen)
        let childSeenAlone = changed(body.childSeenAlone, from: contact.childSeenAlone)
        let duration = changed(body.durationMinutes, from: contact.durationMinutes)
        guard occurredAt != nil || kind != nil || childSeen != nil || childSeenAlone != nil || duration != nil
                || people != nil || children != nil
        else { throw KithError.conflict("nothing_changed", "The contact has these values already.") }
        if let people { try await requireMembers(personIds: people, workerIds: [], familyId: access.familyId) }
        if let children { try await requireChildrenInFocus(children.personIds, familyId: access.familyId) }
        try await query(
            """
            INSERT INTO contact_corrections (organisation_id, id, contact_id, family_id, occurred_at, kind, child_seen,
                                             child_seen_alone, duration_minutes, present_person_ids, children_seen,
                                             reason, corrected_by)
            VALUES (\(principal.organisationId), \(correction.id), \(correction.contactId), \(access.familyId), \(occurredAt),
                    \(kind), \(childSeen), \(childSeenAlone), \(duration), \(try people.map { try KithJSON.text($0.map(\.text)) })::jsonb,
                    \(try children?.json)::jsonb, \(body.reason), \(principal.workerId))
            """)
        try await audit(.write, "contactCorrection", recordId: correction.contactId, access: access, reason: body.reason)
    }

    /// Withdraws a contact recorded on the wrong family, once, with its audit event.
    func save(_ withdrawal: ContactWithdrawal, access: FamilyAccess) async throws {
        let contact = try await correctable(withdrawal.contactId, access: access)
        guard contact.withdrawn == nil else { throw KithError.conflict("already_withdrawn", "This contact was withdrawn already.") }
        try await query(
            """
            INSERT INTO contact_withdrawals (organisation_id, contact_id, family_id, reason, withdrawn_by)
            VALUES (\(principal.organisationId), \(withdrawal.contactId), \(access.familyId), \(withdrawal.reason), \(principal.workerId))
            """)
        try await audit(.write, "contactWithdrawal", recordId: withdrawal.contactId, access: access, reason: withdrawal.reason)
    }
}

/// A contact as it stands, with who was there, its corrections and the values as recorded, read by name.
enum ContactRow {
    static let columns = """
        c.id, c.family_id, c.occurred_at, c.duration_minutes, c.kind, c.location,
        CASE WHEN c.present_person_ids IS NOT NULL
             THEN ARRAY(SELECT p::uuid FROM jsonb_array_elements_text(c.present_person_ids) AS p ORDER BY 1)
             ELSE coalesce((SELECT array_agg(person_id ORDER BY person_id) FROM contact_people cp
                            WHERE cp.organisation_id = c.organisation_id AND cp.contact_id = c.id), '{}') END AS people,
        coalesce((SELECT array_agg(worker_id ORDER BY worker_id) FROM contact_workers cw
                  WHERE cw.organisation_id = c.organisation_id AND cw.contact_id = c.id), '{}') AS workers,
        c.child_seen, c.child_seen_alone, c.children_seen::text, c.recorded_by, c.recorded_at, c.device_recorded_at,
        c.clock_suspect, c.source_device_id, c.late_after_reallocation, c.others_present::text,
        c.withdrawn_at, c.withdrawn_by, c.withdrawn_reason,
        CASE WHEN c.corrected THEN (
            SELECT json_agg(json_build_object(
                       'at', to_char(k.corrected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'by', k.corrected_by,
                       'reason', k.reason,
                       'changes', json_strip_nulls(json_build_object(
                           'occurredAt', to_char(k.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                           'kind', k.kind, 'childSeen', k.child_seen, 'childSeenAlone', k.child_seen_alone,
                           'durationMinutes', k.duration_minutes, 'presentPersonIds', k.present_person_ids,
                           'childrenSeen', k.children_seen)))
                   ORDER BY k.corrected_at, k.id)
            FROM contact_corrections k WHERE k.organisation_id = c.organisation_id AND k.contact_id = c.id)::text END AS corrections,
        CASE WHEN c.corrected THEN (
            SELECT json_strip_nulls(json_build_object(
                       'occurredAt', to_char(r.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'kind', r.kind,
                       'childSeen', r.child_seen, 'childSeenAlone', r.child_seen_alone, 'durationMinutes', r.duration_minutes,
                       'presentPersonIds', (SELECT coalesce(json_agg(person_id ORDER BY person_id), '[]') FROM contact_people cp
                                            WHERE cp.organisation_id = r.organisation_id AND cp.contact_id = r.id),
                       'childrenSeen', r.children_seen))
            FROM contacts r WHERE r.organisation_id = c.organisation_id AND r.id = c.id)::text END AS recorded
        """

    static func decode(_ row: PostgresRow) throws -> Components.Schemas.Contact {
        let row = row.makeRandomAccess()
        let childrenSeen = try KithJSON.decode([Components.Schemas.ChildSeen].self, from: try row.decode("children_seen"))
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
            othersPresent: try KithJSON.decode([Components.Schemas.OtherPresent].self, from: try row.decode("others_present")),
            childrenSeen: childrenSeen.isEmpty ? nil : childrenSeen,
            corrections: try row.decode("corrections", as: String?.self).map {
                try KithJSON.decode([Components.Schemas.ContactCorrection].self, from: $0)
            },
            recorded: try row.decode("recorded", as: String?.self).map { try KithJSON.decode(Components.Schemas.ContactFacts.self, from: $0) },
            withdrawn: try row.decode("withdrawn_at", as: Date?.self).map { at in
                .init(at: at, by: try row.decode("withdrawn_by", as: UUID.self).text, reason: try row.decode("withdrawn_reason"))
            })
    }
}

/// The contacts of a set of families.
enum ContactsRead: HotStatement {}
