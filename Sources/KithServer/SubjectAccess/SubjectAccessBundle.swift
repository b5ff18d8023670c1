import Foundation
import KithAPI
import KithCore
import PostgresNIO

/// One item of the record about a data subject, as a subject access bundle holds it, with Kith's proposal and the
/// rule that made it. Ids are stable across reads (`kind:record id`), so decisions name items.
struct BundleItem: Sendable {
    let id: String
    let kind: Components.Schemas.SubjectAccessItem.KindPayload
    let dataSubjectId: UUID
    let familyId: UUID
    let at: Date?
    let title: String
    let text: String
    var withdrawn = false
    let proposal: DisclosureProposal
    let rule: Rule

    /// Why an item is proposed as it is: what a practitioner would say when asked "can they have this?".
    enum Rule: String, Sendable {
        /// Written for the family, or with them: theirs already.
        case writtenForTheFamily
        /// The professionals' own record of the work (their names and roles go out; the rest is read first).
        case professionalRecord
        /// The data subject's own words, details or actions.
        case theirOwnWords, theirOwnDetails, theirOwnRecord
        /// Another person's contact details, words or identity.
        case thirdPartyDetails, thirdPartyWords
        /// A restricted note: a third party's confidence or a risk of serious harm, read first.
        case restricted
        /// Kith's own handling of the work (rejected and quarantined work, review items).
        case workRecord
        /// A note withdrawn as filed in error: it may not be about them at all.
        case withdrawnNote

        var proposal: DisclosureProposal {
            switch self {
            case .writtenForTheFamily, .theirOwnWords, .theirOwnDetails, .theirOwnRecord: .disclose
            case .professionalRecord, .thirdPartyDetails, .thirdPartyWords, .restricted, .workRecord, .withdrawnNote: .review
            }
        }
    }

    init(
        _ kind: Components.Schemas.SubjectAccessItem.KindPayload, id: UUID, subject: DataSubject, at: Date?, title: String,
        text: String, rule: Rule, withdrawn: Bool = false
    ) {
        self.init(kind, recordId: id.text, subject: subject, at: at, title: title, text: text, rule: rule, withdrawn: withdrawn)
    }

    init(
        _ kind: Components.Schemas.SubjectAccessItem.KindPayload, recordId: String, subject: DataSubject, at: Date?, title: String,
        text: String, rule: Rule, withdrawn: Bool = false
    ) {
        self.id = "\(kind.rawValue):\(recordId)"
        self.kind = kind
        self.dataSubjectId = subject.personId
        self.familyId = subject.familyId
        self.at = at
        self.title = title
        self.text = text
        self.withdrawn = withdrawn
        self.rule = rule
        self.proposal = rule.proposal
    }
}

/// A person a request is about, with their family: the request reaches that family and no other.
struct DataSubject: Sendable {
    let personId: UUID
    let familyId: UUID
    let name: String
}

extension Records {
    /// Everything the record holds about the data subjects, each from their own family only, in a fixed order (by
    /// subject, then by kind of record, then by time): the same record gives the same bundle.
    func bundleItems(of subjects: [DataSubject]) async throws -> [BundleItem] {
        var items: [BundleItem] = []
        for subject in subjects {
            items += try await noteItems(subject)
            items += try await contactItems(subject)
            items += try await personItems(subject)
            items += try await messageItems(subject)
            items += try await planItems(subject)
            items += try await pageViewItems(subject)
            items += try await letterItems(subject)
            items += try await participationItems(subject)
            items += try await reviewItems(subject)
        }
        return items
    }

    /// Every revision of every note of the family: written for or with the family, disclosed; restricted or withdrawn,
    /// read first; the rest is the professionals' record, read first.
    private func noteItems(_ subject: DataSubject) async throws -> [BundleItem] {
        let rows = try await query(
            """
            SELECT r.id, r.number, r.created_at, w.name, n.audience, n.written_with_family, nw.note_id IS NOT NULL AS withdrawn,
                   concat_ws(E'\\n\\n', r.body, 'What I saw: ' || r.observed, 'What I think: ' || r.analysis,
                             'What I decided: ' || r.decision, 'The family''s words: ' || r.family_words,
                             'Next steps: ' || r.next_steps) AS text,
                   r.reason
            FROM current_notes n
            JOIN note_revisions r ON r.organisation_id = n.organisation_id AND r.note_id = n.id
            JOIN workers w ON w.organisation_id = r.organisation_id AND w.id = r.author_id
            LEFT JOIN note_withdrawals nw ON nw.organisation_id = n.organisation_id AND nw.note_id = n.id
            WHERE n.organisation_id = \(principal.organisationId) AND n.family_id = \(subject.familyId)
            ORDER BY n.created_at, n.id, r.number
            """)
        var items: [BundleItem] = []
        for try await row in rows {
            let row = row.makeRandomAccess()
            let (audience, withFamily, withdrawn): (String, Bool, Bool) = (
                try row.decode("audience"), try row.decode("written_with_family"), try row.decode("withdrawn"))
            let rule: BundleItem.Rule = withdrawn ? .withdrawnNote : audience == "restricted" ? .restricted
                : audience == FamilyMember.noteAudience || withFamily ? .writtenForTheFamily : .professionalRecord
            let number: Int = try row.decode("number")
            let amended = try row.decode("reason", as: String?.self).map { ", revision \(number): \($0)" } ?? ""
            items.append(BundleItem(
                .noteRevision, id: try row.decode("id"), subject: subject, at: try row.decode("created_at"),
                title: "Note by \(try row.decode("name", as: String.self))\(amended)", text: try row.decode("text"), rule: rule,
                withdrawn: withdrawn))
        }
        return items
    }

    /// Contacts the data subject was present at, as corrected; with other people of the network there too, read first.
    private func contactItems(_ subject: DataSubject) async throws -> [BundleItem] {
        let rows = try await query(
            """
            SELECT c.id, c.occurred_at, c.kind, c.location,
                   (SELECT string_agg(p.name, ', ' ORDER BY p.name) FROM people p
                    WHERE p.organisation_id = c.organisation_id AND p.id = ANY(present.ids)) AS people,
                   (SELECT string_agg(w.name, ', ' ORDER BY w.name) FROM contact_workers cw
                    JOIN workers w ON w.organisation_id = cw.organisation_id AND w.id = cw.worker_id
                    WHERE cw.organisation_id = c.organisation_id AND cw.contact_id = c.id) AS workers,
                   cardinality(present.ids) > 1 AS others
            FROM current_contacts c
            CROSS JOIN LATERAL (
                SELECT CASE WHEN c.present_person_ids IS NOT NULL
                            THEN ARRAY(SELECT p::uuid FROM jsonb_array_elements_text(c.present_person_ids) AS p)
                            ELSE ARRAY(SELECT cp.person_id FROM contact_people cp
                                       WHERE cp.organisation_id = c.organisation_id AND cp.contact_id = c.id) END AS ids
            ) present
            WHERE c.organisation_id = \(principal.organisationId) AND c.family_id = \(subject.familyId) AND c.withdrawn_at IS NULL
              AND \(subject.personId) = ANY(present.ids)
            ORDER BY c.occurred_at, c.id
            """)
        var items: [BundleItem] = []
        for try await (id, at, kind, location, people, workers, others) in rows.decode((UUID, Date, String, String?, String?, String?, Bool).self) {
            let text = ["Who was there: " + [people, workers].compactMap { $0 }.joined(separator: ", "), location.map { "Where: \($0)" }]
                .compactMap { $0 }.joined(separator: "\n")
            items.append(BundleItem(
                .contact, id: id, subject: subject, at: at, title: "Contact (\(kind))", text: text,
                rule: others ? .thirdPartyDetails : .theirOwnRecord))
        }
        return items
    }

    /// The people of the family's network: the data subject's own details go out; anyone else's are a third party's.
    private func personItems(_ subject: DataSubject) async throws -> [BundleItem] {
        let rows = try await query(
            """
            SELECT id, created_at, concat_ws(E'\\n', 'Name: ' || name, 'Relationship: ' || relationship_to_child,
                                             'Date of birth: ' || date_of_birth, 'Phone: ' || phone, 'Email: ' || email,
                                             'Address: ' || address, 'Language: ' || language)
            FROM people WHERE organisation_id = \(principal.organisationId) AND family_id = \(subject.familyId)
            ORDER BY id = \(subject.personId) DESC, created_at, id
            """)
        var items: [BundleItem] = []
        for try await (id, at, text) in rows.decode((UUID, Date, String).self) {
            let theirs = id == subject.personId
            items.append(BundleItem(
                .person, id: id, subject: subject, at: at, title: theirs ? "Your details" : "Someone in the family's network",
                text: text, rule: theirs ? .theirOwnDetails : .thirdPartyDetails))
        }
        return items
    }

    /// Words sent from the family's page: the data subject's own, or another person's.
    private func messageItems(_ subject: DataSubject) async throws -> [BundleItem] {
        let rows = try await query(
            """
            SELECT m.id, m.created_at, m.person_id, p.name, m.text, m.about_note_id IS NOT NULL
            FROM family_messages m JOIN people p ON p.organisation_id = m.organisation_id AND p.id = m.person_id
            WHERE m.organisation_id = \(principal.organisationId) AND m.family_id = \(subject.familyId)
            ORDER BY m.created_at, m.id
            """)
        var items: [BundleItem] = []
        for try await (id, at, person, name, text, notRight) in rows.decode((UUID, Date, UUID, String, String, Bool).self) {
            let theirs = person == subject.personId
            items.append(BundleItem(
                .familyMessage, id: id, subject: subject, at: at,
                title: "\(theirs ? "Your" : "\(name)'s") \(notRight ? "words that a note is not right" : "message from the family's page")",
                text: text, rule: theirs ? .theirOwnWords : .thirdPartyWords))
        }
        return items
    }

    /// Plan items the data subject owns, and every word of progress on them (by a worker, by them, or by another).
    private func planItems(_ subject: DataSubject) async throws -> [BundleItem] {
        var items: [BundleItem] = []
        let owned = try await query(
            """
            SELECT i.id, p.created_at, i.what, i.by_when::text FROM plan_items i
            JOIN family_plans p ON p.organisation_id = i.organisation_id AND p.id = i.plan_id
            WHERE i.organisation_id = \(principal.organisationId) AND i.family_id = \(subject.familyId) AND i.person_id = \(subject.personId)
            ORDER BY p.created_at, i.position, i.id
            """).collect().map { try $0.decode((UUID, Date, String, String?).self) }
        for (id, at, what, byWhen) in owned {
            items.append(BundleItem(
                .planItem, id: id, subject: subject, at: at, title: "A step of the family's plan that is yours",
                text: what + (byWhen.map { " (by \($0))" } ?? ""), rule: .theirOwnRecord))
        }
        let progress = try await query(
            """
            SELECT u.id, u.created_at, u.text, u.person_id, coalesce(w.name, p.name) FROM plan_item_updates u
            LEFT JOIN workers w ON w.organisation_id = u.organisation_id AND w.id = u.author_id
            LEFT JOIN people p ON p.organisation_id = u.organisation_id AND p.id = u.person_id
            WHERE u.organisation_id = \(principal.organisationId) AND u.plan_item_id = ANY(\(owned.map(\.0)))
            ORDER BY u.created_at, u.id
            """)
        for try await (id, at, text, person, by) in progress.decode((UUID, Date, String, UUID?, String).self) {
            let rule: BundleItem.Rule = person == nil ? .professionalRecord : person == subject.personId ? .theirOwnWords : .thirdPartyWords
            items.append(BundleItem(.planProgress, id: id, subject: subject, at: at, title: "Progress, by \(by)", text: text, rule: rule))
        }
        return items
    }

    /// The data subject's views of the family's page (the audit's `familyPage` reads), at most the last 1,000.
    private func pageViewItems(_ subject: DataSubject) async throws -> [BundleItem] {
        let rows = try await query(
            """
            SELECT id, at FROM (
                SELECT id, at FROM audit_events
                WHERE organisation_id = \(principal.organisationId) AND family_id = \(subject.familyId) AND person_id = \(subject.personId)
                  AND action = 'read' AND entity = 'familyPage'
                ORDER BY at DESC, id LIMIT 1000) v
            ORDER BY at, id
            """)
        var items: [BundleItem] = []
        for try await (id, at) in rows.decode((Int64, Date).self) {
            items.append(BundleItem(.pageView, recordId: String(id), subject: subject, at: at, title: "You opened the family's page", text: "", rule: .theirOwnRecord))
        }
        return items
    }

    /// Letters to the family written when a worker left: written for the family.
    private func letterItems(_ subject: DataSubject) async throws -> [BundleItem] {
        let rows = try await query(
            """
            SELECT a.id, a.ended_on::timestamp AT TIME ZONE 'UTC', w.name, a.letter_to_family FROM allocations a
            JOIN workers w ON w.organisation_id = a.organisation_id AND w.id = a.worker_id
            WHERE a.organisation_id = \(principal.organisationId) AND a.family_id = \(subject.familyId) AND a.letter_to_family IS NOT NULL
            ORDER BY a.ended_on, a.id
            """)
        var items: [BundleItem] = []
        for try await (id, at, name, letter) in rows.decode((UUID, Date?, String, String).self) {
            items.append(BundleItem(
                .handoverLetter, id: id, subject: subject, at: at, title: "A letter to the family from \(name)", text: letter,
                rule: .writtenForTheFamily))
        }
        return items
    }

    /// The conferences the data subject was invited to or came to.
    private func participationItems(_ subject: DataSubject) async throws -> [BundleItem] {
        let rows = try await query(
            """
            SELECT cp.id, c.referred_on::timestamp AT TIME ZONE 'UTC', cp.role, cp.invited, cp.attended FROM conference_participants cp
            JOIN conferences c ON c.organisation_id = cp.organisation_id AND c.id = cp.conference_id
            WHERE cp.organisation_id = \(principal.organisationId) AND cp.family_id = \(subject.familyId) AND cp.person_id = \(subject.personId)
            ORDER BY c.referred_on, cp.id
            """)
        var items: [BundleItem] = []
        for try await (id, at, role, invited, attended) in rows.decode((UUID, Date?, String, Bool, Bool).self) {
            items.append(BundleItem(
                .conferenceParticipation, id: id, subject: subject, at: at, title: "The family group conference",
                text: "Your part: \(role). Invited: \(invited ? "yes" : "no"). Came: \(attended ? "yes" : "no").", rule: .theirOwnRecord))
        }
        return items
    }

    /// Review items about the family, rejected and quarantined work among them: Kith's handling of the work.
    private func reviewItems(_ subject: DataSubject) async throws -> [BundleItem] {
        let rows = try await query(
            """
            SELECT id, created_at, kind, summary, reason FROM review_items
            WHERE organisation_id = \(principal.organisationId) AND family_id = \(subject.familyId)
            ORDER BY created_at, id
            """)
        var items: [BundleItem] = []
        for try await (id, at, kind, summary, reason) in rows.decode((UUID, Date, String, String, String?).self) {
            items.append(BundleItem(
                .reviewItem, id: id, subject: subject, at: at, title: "Work held for review (\(kind))",
                text: [summary, reason].compactMap { $0 }.joined(separator: "\n"), rule: .workRecord))
        }
        return items
    }
}
