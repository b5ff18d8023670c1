import Foundation
import KithCore
import PostgresNIO

/// The family's verdict, as the page asks it and keeps it. A person is asked once about each occasion of the last
/// `FamilyVerdict.askingDays` days (the newest they have not answered): their family's conference or review meeting,
/// or the start of a new allocated worker after another. Whether they answered is kept apart from what they said, so
/// an anonymous answer keeps only its team, quarter and kind of occasion.
extension FamilyPageRecords {
    /// The newest occasion waiting for this person's answer (or `only` that one, if it still waits).
    func waitingOccasion(only: UUID? = nil) async throws -> FamilyVerdict.Occasion? {
        let org = member.organisationId
        return try await query(
            """
            SELECT kind, id, on_day::text, worker_id FROM (
                SELECT CASE m.kind WHEN 'initial' THEN 'conference' ELSE 'review' END AS kind, m.id, m.held_on AS on_day,
                       NULL::uuid AS worker_id
                FROM conference_meetings m
                WHERE m.organisation_id = \(org) AND m.family_id = \(member.familyId)
                UNION ALL
                SELECT 'workerChange', a.id, a.started_on, a.worker_id FROM allocations a
                WHERE a.organisation_id = \(org) AND a.family_id = \(member.familyId) AND a.role = 'allocatedWorker'
                  AND EXISTS (SELECT 1 FROM allocations b
                              WHERE b.organisation_id = a.organisation_id AND b.family_id = a.family_id AND b.role = 'allocatedWorker'
                                AND b.id <> a.id AND b.ended_on IS NOT NULL AND b.ended_on <= a.started_on)
            ) occasions
            WHERE on_day BETWEEN current_date - \(FamilyVerdict.askingDays)::integer AND current_date
              AND (\(only)::uuid IS NULL OR id = \(only))
              AND NOT EXISTS (SELECT 1 FROM family_feedback_given g
                              WHERE g.organisation_id = \(org) AND g.person_id = \(member.personId) AND g.occasion_id = occasions.id)
            ORDER BY on_day DESC, id
            LIMIT 1
            """).decode((String, UUID, String, UUID?).self).first { _ in true }.flatMap { kind, id, on, worker in
            guard let kind = FamilyVerdict.OccasionKind(rawValue: kind), let day = CalendarDay(on) else { return nil }
            return FamilyVerdict.Occasion(kind: kind, id: id, on: day, workerId: worker)
        }
    }

    /// The person's answers about an occasion waiting for them, or their declining it: that they answered is kept with
    /// them; what they said is kept named or, as they chose, anonymous. Their words of what got in the way are a
    /// friction that fell on the family (dated to the occasion's quarter when anonymous).
    func giveVerdict(_ answers: FamilyVerdict.Answers, declined: Bool) async throws {
        let org = member.organisationId
        guard let occasion = try await waitingOccasion(only: answers.occasion) else { throw FamilyPageRefusal.noSuchQuestion }
        guard try await query(
            """
            INSERT INTO family_feedback_given (organisation_id, family_id, person_id, occasion_id)
            VALUES (\(org), \(member.familyId), \(member.personId), \(occasion.id))
            ON CONFLICT DO NOTHING
            RETURNING occasion_id
            """).decode(UUID.self).first(where: { _ in true }) != nil else { throw FamilyPageRefusal.noSuchQuestion }
        guard !declined, answers.sayAnything else {
            try await audit(.write, "familyVerdictDeclined", recordId: occasion.id)
            return
        }
        let id = UUID(), named = answers.named
        let quarterStart = CalendarDay("\(occasion.on.year)-\(String(format: "%02d", (occasion.on.month - 1) / 3 * 3 + 1))-01")!
        try await query(
            """
            INSERT INTO family_feedback (organisation_id, id, team_id, quarter, occasion_kind, listened, plan_own, worker_talk,
                                         family_id, person_id, worker_id, occasion_id, given_at)
            SELECT f.organisation_id, \(id), f.team_id, \(FamilyVerdict.quarter(occasion.on)), \(occasion.kind.rawValue),
                   \(answers.listened)::smallint, \(answers.planOwn)::smallint, \(answers.workerTalk)::smallint,
                   CASE WHEN \(named) THEN f.id END, CASE WHEN \(named) THEN \(member.personId)::uuid END,
                   CASE WHEN \(named) THEN coalesce(\(occasion.workerId)::uuid,
                       (SELECT a.worker_id FROM current_allocations a WHERE a.organisation_id = f.organisation_id
                          AND a.family_id = f.id AND a.role = 'allocatedWorker' ORDER BY a.started_on DESC, a.id LIMIT 1)) END,
                   CASE WHEN \(named) THEN \(occasion.id)::uuid END, CASE WHEN \(named) THEN now() END
            FROM families f WHERE f.organisation_id = \(org) AND f.id = \(member.familyId)
            """)
        if let words = answers.words {
            let friction = UUID()
            try await query(
                """
                INSERT INTO frictions (organisation_id, id, fell_on, text, family_id, team_id, feedback_id, recorded_at, created_at)
                SELECT f.organisation_id, \(friction), 'family', \(words), CASE WHEN \(named) THEN f.id END, f.team_id, \(id),
                       CASE WHEN \(named) THEN now() ELSE \(quarterStart.description)::date::timestamptz END,
                       CASE WHEN \(named) THEN clock_timestamp() ELSE \(quarterStart.description)::date::timestamptz END
                FROM families f WHERE f.organisation_id = \(org) AND f.id = \(member.familyId)
                """)
            if named {
                try await reachWorkers(
                    summary: "What got in the way for the family, said on the family's page",
                    payload: ["kind": "friction", "id": friction.text, "text": words])
            }
        }
        try await audit(.write, "familyVerdict", recordId: named ? id : nil)
    }
}
