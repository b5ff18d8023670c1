import Foundation
import KithAPI
import Logging
import PostgresNIO

/// One family member's transaction on the family's page, behind the database's wall for their organisation: what the
/// page shows them, their words, and the audit events of both, attributed to the person.
struct FamilyPageRecords: Sendable {
    let connection: PostgresConnection
    let member: FamilyMember
    let logger: Logger

    /// Words a person may send from the page in an hour (messages and progress together).
    static let submissionsPerHour = 20

    /// A statement of this transaction, logged with the request's logger (as `Records.query`).
    @discardableResult
    func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        try await connection.query(query, logger: logger)
    }

    /// Everything the page shows, read in this transaction in the words `speaking` gives for the person's recorded
    /// language, and the view audited.
    func page(speaking: (String?) -> PageWords) async throws -> FamilyPageContent {
        let org = member.organisationId
        guard let (familyName, personName, language) = try await query(
            """
            SELECT f.display_name, p.name, p.language FROM families f, people p
            WHERE f.organisation_id = \(org) AND f.id = \(member.familyId) AND p.organisation_id = \(org) AND p.id = \(member.personId)
            """).decode((String, String, String?).self).first(where: { _ in true }) else { throw FamilyPageRefusal.ended }
        let words = speaking(language)

        var workers: [FamilyPageContent.Worker] = []
        for try await (name, role, since) in try await query(
            """
            SELECT w.name, a.role, a.started_on::text FROM current_allocations a
            JOIN workers w ON w.organisation_id = a.organisation_id AND w.id = a.worker_id
            WHERE a.organisation_id = \(org) AND a.family_id = \(member.familyId)
            ORDER BY a.role = 'allocatedWorker' DESC, a.started_on, w.name
            """).decode((String, String, String).self) {
            workers.append(.init(firstName: FamilyPageContent.firstName(name), role: role, since: since, words))
        }

        let letter = try await query(
            """
            SELECT w.name, a.ended_on::text, a.letter_to_family FROM allocations a
            JOIN workers w ON w.organisation_id = a.organisation_id AND w.id = a.worker_id
            WHERE a.organisation_id = \(org) AND a.family_id = \(member.familyId) AND a.letter_to_family IS NOT NULL
            ORDER BY a.ended_on DESC, a.id LIMIT 1
            """).decode((String, String, String).self).first { _ in true }.map {
            FamilyPageContent.Letter(from: FamilyPageContent.firstName($0.0), on: $0.1, text: $0.2, words)
        }

        var notes: [FamilyPageContent.Note] = []
        for try await (id, author, writtenAt, latest, saidNotRight) in try await query(
            """
            SELECT n.id, w.name, n.created_at,
                   (SELECT json_build_object('number', r.number, 'reason', r.reason, 'body', r.body,
                                             'observed', r.observed, 'analysis', r.analysis, 'decision', r.decision,
                                             'familyWords', r.family_words, 'nextSteps', r.next_steps,
                                             'at', to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::text
                    FROM note_revisions r WHERE r.organisation_id = n.organisation_id AND r.note_id = n.id
                    ORDER BY r.number DESC LIMIT 1),
                   (SELECT max(m.created_at) FROM family_messages m
                    WHERE m.organisation_id = n.organisation_id AND m.about_note_id = n.id AND m.person_id = \(member.personId))
            FROM current_notes n JOIN workers w ON w.organisation_id = n.organisation_id AND w.id = n.author_id
            WHERE n.organisation_id = \(org) AND n.family_id = \(member.familyId) AND n.audience = \(FamilyMember.noteAudience)
              AND NOT EXISTS (SELECT 1 FROM note_withdrawals nw WHERE nw.organisation_id = n.organisation_id AND nw.note_id = n.id)
            ORDER BY n.created_at DESC, n.id
            LIMIT 200
            """).decode((UUID, String, Date, String, Date?).self) {
            notes.append(.init(
                id: id, author: FamilyPageContent.firstName(author), writtenAt: writtenAt,
                latest: try KithJSON.decode(FamilyPageContent.Revision.self, from: latest), saidNotRight: saidNotRight, words))
        }

        let plan = try await currentPlan(words)
        var messages: [FamilyPageContent.Message] = []
        for try await (text, at) in try await query(
            """
            SELECT text, created_at FROM family_messages
            WHERE organisation_id = \(org) AND family_id = \(member.familyId) AND person_id = \(member.personId)
            ORDER BY created_at DESC LIMIT 20
            """).decode((String, Date).self) {
            messages.append(.init(text: text, at: at, words))
        }
        let verdict = try await waitingOccasion().map { FamilyPageContent.Verdict($0, words) }
        try await audit(.read, "familyPage")
        return FamilyPageContent(
            words: words, familyName: familyName, personName: FamilyPageContent.firstName(personName), workers: workers, letter: letter,
            notes: notes, plan: plan, messages: messages, verdict: verdict)
    }

    /// The family's newest plan version, its items in order with who does each and every word of progress.
    private func currentPlan(_ words: PageWords) async throws -> FamilyPageContent.Plan? {
        let org = member.organisationId
        guard let (planId, contingency, reviewOn) = try await query(
            """
            SELECT id, contingency, review_on::text FROM family_plans
            WHERE organisation_id = \(org) AND family_id = \(member.familyId)
            ORDER BY created_at DESC, version DESC LIMIT 1
            """).decode((UUID, String?, String?).self).first(where: { _ in true }) else { return nil }
        var progress: [UUID: [FamilyPageContent.Progress]] = [:]
        for try await (item, text, status, by, byFamily, byThem, at) in try await query(
            """
            SELECT u.plan_item_id, u.text, u.status, coalesce(w.name, p.name), u.person_id IS NOT NULL,
                   u.person_id IS NOT DISTINCT FROM \(member.personId), u.created_at
            FROM plan_item_updates u
            JOIN plan_items i ON i.organisation_id = u.organisation_id AND i.id = u.plan_item_id
            LEFT JOIN workers w ON w.organisation_id = u.organisation_id AND w.id = u.author_id
            LEFT JOIN people p ON p.organisation_id = u.organisation_id AND p.id = u.person_id
            WHERE u.organisation_id = \(org) AND i.plan_id = \(planId)
            ORDER BY u.created_at, u.id
            """).decode((UUID, String, String?, String, Bool, Bool, Date).self) {
            progress[item, default: []].append(.init(
                text: text, status: status, by: byThem ? nil : FamilyPageContent.firstName(by), fromFamily: byFamily, at: at, words))
        }
        var items: [FamilyPageContent.Item] = []
        for try await (id, what, byWhen, who) in try await query(
            """
            SELECT i.id, i.what, i.by_when::text, coalesce(p.name, w.name)
            FROM plan_items i
            LEFT JOIN people p ON p.organisation_id = i.organisation_id AND p.id = i.person_id
            LEFT JOIN workers w ON w.organisation_id = i.organisation_id AND w.id = i.worker_id
            WHERE i.organisation_id = \(org) AND i.plan_id = \(planId)
            ORDER BY i.position
            """).decode((UUID, String, String?, String).self) {
            items.append(.init(
                id: id, what: what, who: FamilyPageContent.firstName(who), byWhen: byWhen, progress: progress[id] ?? [], words))
        }
        return .init(items: items, contingency: contingency, reviewOn: reviewOn, words)
    }

    /// Progress on an item of the family's current plan, in the person's own words.
    func addProgress(to planItemId: UUID, text: String) async throws {
        try await checkSubmissionRate()
        let item = try await query(
            """
            SELECT i.what FROM plan_items i
            WHERE i.organisation_id = \(member.organisationId) AND i.id = \(planItemId) AND i.family_id = \(member.familyId)
              AND i.plan_id = (SELECT id FROM family_plans WHERE organisation_id = \(member.organisationId)
                                 AND family_id = \(member.familyId) ORDER BY created_at DESC, version DESC LIMIT 1)
            """).decode(String.self).first { _ in true }
        guard let what = item else { throw FamilyPageRefusal.noSuchItem }
        let id = UUID()
        try await query(
            """
            INSERT INTO plan_item_updates (organisation_id, id, plan_item_id, family_id, text, person_id)
            VALUES (\(member.organisationId), \(id), \(planItemId), \(member.familyId), \(text), \(member.personId))
            """)
        try await reachWorkers(
            summary: "Progress on the family's plan, written on the family's page",
            payload: ["kind": "planItemUpdate", "id": id.text, "planItemId": planItemId.text, "planItem": what, "text": text])
        try await audit(.write, "planItemUpdate", recordId: id)
    }

    /// The person's words that a note written for them is not right: a message attached to the note, for the family's
    /// allocated workers to review. Only a note their page shows them.
    func sayNotRight(about noteId: UUID, text: String) async throws {
        try await checkSubmissionRate()
        let shown = try await query(
            """
            SELECT count(*) FROM current_notes n
            WHERE n.organisation_id = \(member.organisationId) AND n.family_id = \(member.familyId) AND n.id = \(noteId)
              AND n.audience = \(FamilyMember.noteAudience)
              AND NOT EXISTS (SELECT 1 FROM note_withdrawals nw WHERE nw.organisation_id = n.organisation_id AND nw.note_id = n.id)
            """).decode(Int.self).first { _ in true } ?? 0
        guard shown == 1 else { throw FamilyPageRefusal.noSuchNote }
        let id = UUID()
        try await query(
            """
            INSERT INTO family_messages (organisation_id, id, family_id, person_id, text, about_note_id)
            VALUES (\(member.organisationId), \(id), \(member.familyId), \(member.personId), \(text), \(noteId))
            """)
        try await reachWorkers(
            summary: "The family say a note written for them is not right, on the family's page",
            payload: ["kind": "notRight", "id": id.text, "noteId": noteId.text, "text": text])
        try await audit(.write, "familyMessage", recordId: id)
    }

    /// A message to the family's worker, in the person's own words.
    func sendMessage(_ text: String) async throws {
        try await checkSubmissionRate()
        let id = UUID()
        try await query(
            """
            INSERT INTO family_messages (organisation_id, id, family_id, person_id, text)
            VALUES (\(member.organisationId), \(id), \(member.familyId), \(member.personId), \(text))
            """)
        try await reachWorkers(
            summary: "A message to the family's worker, sent from the family's page",
            payload: ["kind": "familyMessage", "id": id.text, "text": text])
        try await audit(.write, "familyMessage", recordId: id)
    }

    /// A review item for the family's allocated workers (the team's supervisors see it with their team's queue).
    func reachWorkers(summary: String, payload: [String: String]) async throws {
        var payload = payload
        payload["personId"] = member.personId.text
        let json = try KithJSON.text(payload)
        try await query(
            """
            WITH item AS (
                INSERT INTO review_items (organisation_id, id, kind, family_id, team_id, summary, payload)
                SELECT f.organisation_id, \(UUID()), 'familyWords', f.id, f.team_id, \(summary), \(json)::jsonb
                FROM families f WHERE f.organisation_id = \(member.organisationId) AND f.id = \(member.familyId)
                RETURNING organisation_id, id, family_id
            )
            INSERT INTO review_item_recipients (organisation_id, review_item_id, worker_id)
            SELECT DISTINCT item.organisation_id, item.id, a.worker_id FROM item
            JOIN current_allocations a ON a.organisation_id = item.organisation_id AND a.family_id = item.family_id
            WHERE a.role = 'allocatedWorker'
            """)
    }

    private func checkSubmissionRate() async throws {
        let recent = try await query(
            """
            SELECT (SELECT count(*) FROM family_messages WHERE organisation_id = \(member.organisationId)
                      AND person_id = \(member.personId) AND created_at > now() - interval '1 hour')
                 + (SELECT count(*) FROM plan_item_updates WHERE organisation_id = \(member.organisationId)
                      AND person_id = \(member.personId) AND created_at > now() - interval '1 hour')
            """).decode(Int64.self).first { _ in true } ?? 0
        if recent >= Self.submissionsPerHour { throw FamilyPageRefusal.tooManyWords }
    }

    /// A new page session for the person an invitation is for; the invitation counts as opened from now on.
    func startSession(tokenHash: Data, expiresAt: Date) async throws {
        try await query(
            """
            INSERT INTO family_sessions (organisation_id, id, invitation_id, family_id, person_id, token_hash, expires_at)
            VALUES (\(member.organisationId), \(member.sessionId), \(member.invitationId), \(member.familyId), \(member.personId),
                    \(tokenHash), \(expiresAt))
            """)
        try await query(
            """
            UPDATE family_invitations SET opened_at = coalesce(opened_at, now())
            WHERE organisation_id = \(member.organisationId) AND id = \(member.invitationId)
            """)
        try await audit(.write, "familySession", recordId: member.sessionId)
    }

    func endSession() async throws {
        try await query(
            """
            UPDATE family_sessions SET revoked_at = now()
            WHERE organisation_id = \(member.organisationId) AND id = \(member.sessionId) AND revoked_at IS NULL
            """)
    }

    /// An event of the family's audit trail, by the person: the family's "who viewed" shows it.
    func audit(_ action: AuditAction, _ entity: String, recordId: UUID? = nil) async throws {
        try await query(
            """
            SELECT kith_audit(NULL, \(member.personId), ARRAY[\(member.familyId)]::uuid[], \(action.rawValue), \(entity),
                              ARRAY[\(recordId)::uuid], NULL, ARRAY[false], '{}')
            """)
    }
}
