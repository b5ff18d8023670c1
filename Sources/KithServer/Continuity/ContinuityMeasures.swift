import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// A family's continuity measures on one day, computed from allocations, contacts, conference stages and plans as
/// the record stood at the end of that day (rows recorded later are left out, so a past `asOf` shows what a
/// supervisor would have seen then). A contact counts as corrected, and a withdrawn one not at all, whatever the
/// day: a correction says what happened, and the values first recorded stay in the contact's history. Days are UTC
/// days. Windows end on `asOf` and start 364 (or 89) days before it.
struct FamilyMeasures: Sendable {
    var familyId: UUID
    var teamId: UUID
    var figures: FamilyFigures
    var currentWorkers: [Components.Schemas.CurrentWorker]
    var handovers: [Components.Schemas.HandoverEvidence]
    var lastContactId: UUID?
    var lastChildSeenContactId: UUID?
    var contactIds90: [UUID]
    var stageConferenceId: UUID?
    var reviewPlanId: UUID?
    var daysSinceLastContact: Int?
    var daysSinceChildSeen: Int?
    var childrenInFocus: [Components.Schemas.ChildInFocusSeen]
    var medianContactGapDays90: Double?
    var medianRecordingLagHours90: Double?
    var fgcStage: String?
    var daysInStage: Int?
    /// Nil once the plan's conference is closed: a review date of a finished conference is not overdue.
    var daysPastPlanReview: Int?
    var allocatedWorkersLeaving: Int

    var signalInputs: SignalInputs {
        SignalInputs(
            daysSinceLastContact: daysSinceLastContact, daysSinceChildSeen: daysSinceChildSeen,
            daysPastPlanReview: daysPastPlanReview, distinctAllocatedWorkers365: figures.distinctAllocatedWorkers365,
            allocatedWorkersLeaving: allocatedWorkersLeaving)
    }

    func response(asOf: CalendarDay, settings: SignalSettings) -> Components.Schemas.FamilyContinuity {
        .init(
            familyId: familyId.text, asOf: asOf.description, currentWorkers: currentWorkers,
            distinctAllocatedWorkers365: figures.distinctAllocatedWorkers365,
            handovers365: .init(
                total: handovers.count, withNote: handovers.filter(\.withNote).count,
                withJointVisit: handovers.filter(\.withJointVisit).count),
            daysSinceLastContact: daysSinceLastContact, daysSinceChildSeen: daysSinceChildSeen, childrenInFocus: childrenInFocus,
            medianContactGapDays90: medianContactGapDays90, medianRecordingLagHours90: medianRecordingLagHours90,
            fgcStage: fgcStage, daysInStage: daysInStage, planReviewPassed: daysPastPlanReview.map { $0 > 0 },
            signals: signalInputs.signals(settings).map { .init(measure: $0.measure, threshold: Double($0.threshold), raised: $0.raised) },
            evidence: .init(
                handovers365: handovers, lastContactId: lastContactId?.text, lastChildSeenContactId: lastChildSeenContactId?.text,
                contactIds90: contactIds90.map(\.text), stageConferenceId: stageConferenceId?.text, reviewPlanId: reviewPlanId?.text))
    }
}

extension Records {
    /// Measures for the given families in one statement, set-based: each kind of row (allocations, contacts,
    /// handovers, stages, plans) is read once for all the families (`family_id = ANY(…)`, through the family indexes)
    /// and grouped by family, so the cost follows the number of families asked about (a team's), not the size of the
    /// organisation. Stages recorded on one day at one moment count in the process's order (a plan agreed at the
    /// conference is the later stage).
    func familyMeasures(_ familyIds: [UUID], asOf: CalendarDay, organisation: UUID) async throws -> [FamilyMeasures] {
        let rows = try await query(
            """
            WITH asof AS (
                SELECT \(asOf.description)::date AS d, (\(asOf.description)::date + 1)::timestamp AT TIME ZONE 'UTC' AS cutoff
            ),
            fam AS (
                SELECT f.id, f.team_id, f.opened_on, f.closed_on
                FROM families f
                WHERE f.organisation_id = \(organisation) AND f.id = ANY(\(familyIds))
            ),
            allocs AS (
                SELECT a.family_id,
                       coalesce(json_agg(json_build_object('workerId', a.worker_id, 'role', a.role, 'tenureDays', asof.d - a.started_on)
                                         ORDER BY a.started_on, a.worker_id)
                                FILTER (WHERE a.ended_on IS NULL OR a.ended_on > asof.d), '[]')::text AS current,
                       count(DISTINCT a.worker_id)
                           FILTER (WHERE a.role = 'allocatedWorker' AND (a.ended_on IS NULL OR a.ended_on >= asof.d - 364))::int AS workers,
                       count(DISTINCT a.worker_id)
                           FILTER (WHERE a.role = 'allocatedWorker' AND (a.ended_on IS NULL OR a.ended_on > asof.d)
                                   AND w.left_on IS NOT NULL)::int AS leaving
                FROM allocations a
                JOIN workers w ON w.organisation_id = a.organisation_id AND w.id = a.worker_id
                CROSS JOIN asof
                WHERE a.organisation_id = \(organisation) AND a.family_id = ANY(\(familyIds))
                  AND a.created_at < asof.cutoff AND a.started_on <= asof.d
                GROUP BY a.family_id
            ),
            contact AS MATERIALIZED (
                SELECT c.id, c.family_id, (c.occurred_at AT TIME ZONE 'UTC')::date AS day, c.occurred_at, c.child_seen,
                       c.children_seen,
                       -- When the worker wrote it: on the device for one that came by sync, left out if that clock was suspect.
                       CASE WHEN NOT c.clock_suspect THEN coalesce(c.device_recorded_at, c.recorded_at) END AS written_at
                FROM current_contacts c, asof
                WHERE c.organisation_id = \(organisation) AND c.family_id = ANY(\(familyIds))
                  AND c.recorded_at < asof.cutoff AND c.occurred_at < asof.cutoff AND c.withdrawn_at IS NULL
            ),
            recent AS (
                SELECT c.family_id,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY c.gap) FILTER (WHERE c.gap IS NOT NULL) AS gap,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.written_at - c.occurred_at) / 3600)
                           FILTER (WHERE c.written_at IS NOT NULL) AS lag,
                       array_agg(c.id ORDER BY c.occurred_at, c.id) AS ids
                FROM (SELECT c.*, c.day - lag(c.day) OVER (PARTITION BY c.family_id ORDER BY c.occurred_at) AS gap
                        FROM contact c, asof WHERE c.day >= asof.d - 89) c
                GROUP BY c.family_id
            ),
            last AS (
                SELECT DISTINCT ON (c.family_id) c.family_id, c.id, c.day FROM contact c
                ORDER BY c.family_id, c.occurred_at DESC, c.id DESC
            ),
            seen AS (
                SELECT DISTINCT ON (c.family_id) c.family_id, c.id, c.day FROM contact c WHERE c.child_seen
                ORDER BY c.family_id, c.occurred_at DESC, c.id DESC
            ),
            -- Each child in focus: seen at a contact that names them as seen, or, where a contact names no child, whose
            -- summary says a child was seen.
            child AS (
                SELECT p.family_id, p.id FROM people p, asof
                WHERE p.organisation_id = \(organisation) AND p.family_id = ANY(\(familyIds)) AND p.is_child_in_focus
                  AND p.created_at < asof.cutoff
            ),
            child_seen AS (
                SELECT DISTINCT ON (ch.id) ch.id, c.id AS contact_id, c.day
                FROM child ch JOIN contact c ON c.family_id = ch.family_id
                WHERE CASE WHEN jsonb_array_length(c.children_seen) > 0
                           THEN c.children_seen @> jsonb_build_array(jsonb_build_object('personId', ch.id::text, 'seen', true))
                           ELSE coalesce(c.child_seen, false) END
                ORDER BY ch.id, c.occurred_at DESC, c.id DESC
            ),
            children AS (
                SELECT ch.family_id,
                       json_agg(json_build_object(
                           'personId', ch.id, 'daysSinceSeen', asof.d - s.day, 'lastSeenContactId', s.contact_id) ORDER BY ch.id)::text AS list
                FROM child ch CROSS JOIN asof LEFT JOIN child_seen s ON s.id = ch.id
                GROUP BY ch.family_id
            ),
            handover AS (
                SELECT ho.family_id,
                       json_agg(json_build_object(
                           'outgoingAllocationId', ho.outgoing_id, 'outgoingWorkerId', ho.outgoing_worker_id,
                           'incomingAllocationId', ho.incoming_id, 'incomingWorkerId', ho.incoming_worker_id,
                           'endedOn', ho.ended_on, 'withNote', ho.with_note, 'withJointVisit', ho.with_joint_visit)
                         ORDER BY ho.ended_on, ho.outgoing_id)::text AS list
                FROM handovers ho, asof
                WHERE ho.organisation_id = \(organisation) AND ho.family_id = ANY(\(familyIds))
                  AND ho.ended_on BETWEEN asof.d - 364 AND asof.d AND ho.incoming_started_on <= asof.d
                  AND ho.outgoing_created_at < asof.cutoff AND ho.incoming_created_at < asof.cutoff
                GROUP BY ho.family_id
            ),
            stage AS (
                SELECT DISTINCT ON (e.family_id) e.family_id, e.stage, e.on_date, e.conference_id
                FROM conference_stage_events e, asof
                WHERE e.organisation_id = \(organisation) AND e.family_id = ANY(\(familyIds))
                  AND e.on_date <= asof.d AND e.recorded_at < asof.cutoff
                ORDER BY e.family_id, e.on_date DESC, e.recorded_at DESC,
                         array_position(\(Components.Schemas.ConferenceStage.allCases.map(\.rawValue)), e.stage) DESC
            ),
            plan AS (
                SELECT DISTINCT ON (p.family_id) p.family_id, p.id, p.review_on, p.conference_id
                FROM family_plans p, asof
                WHERE p.organisation_id = \(organisation) AND p.family_id = ANY(\(familyIds)) AND p.created_at < asof.cutoff
                ORDER BY p.family_id, p.created_at DESC
            )
            SELECT fam.id, fam.team_id, fam.opened_on::text, fam.closed_on::text,
                   coalesce(allocs.current, '[]') AS current_workers, coalesce(allocs.workers, 0) AS distinct_workers,
                   coalesce(handover.list, '[]') AS handovers,
                   last.id AS last_contact, asof.d - last.day AS since_contact,
                   seen.id AS last_seen, asof.d - seen.day AS since_seen, coalesce(children.list, '[]') AS children,
                   recent.gap, recent.lag, coalesce(recent.ids, '{}') AS contacts_90,
                   stage.stage, asof.d - stage.on_date AS in_stage, stage.conference_id AS stage_conference,
                   plan.id AS review_plan,
                   CASE WHEN stage.stage = 'closed' AND stage.conference_id = plan.conference_id THEN NULL
                        ELSE asof.d - plan.review_on END AS past_review,
                   coalesce(allocs.leaving, 0) AS leaving
            FROM fam
            CROSS JOIN asof
            LEFT JOIN allocs ON allocs.family_id = fam.id
            LEFT JOIN handover ON handover.family_id = fam.id
            LEFT JOIN last ON last.family_id = fam.id
            LEFT JOIN seen ON seen.family_id = fam.id
            LEFT JOIN children ON children.family_id = fam.id
            LEFT JOIN recent ON recent.family_id = fam.id
            LEFT JOIN stage ON stage.family_id = fam.id
            LEFT JOIN plan ON plan.family_id = fam.id
            ORDER BY fam.id
            """)
        var measures: [FamilyMeasures] = []
        for try await row in rows {
            let row = row.makeRandomAccess()
            let id: UUID = try row.decode("id")
            let handovers = try KithJSON.decode([Components.Schemas.HandoverEvidence].self, from: try row.decode("handovers"))
            guard let opened = CalendarDay(try row.decode("opened_on", as: String.self)) else { continue }
            measures.append(FamilyMeasures(
                familyId: id, teamId: try row.decode("team_id"),
                figures: FamilyFigures(
                    familyId: id.text, openedOn: opened, closedOn: try row.decode("closed_on", as: String?.self).flatMap(CalendarDay.init),
                    distinctAllocatedWorkers365: try row.decode("distinct_workers"), handovers365: handovers.count),
                currentWorkers: try KithJSON.decode([Components.Schemas.CurrentWorker].self, from: try row.decode("current_workers")),
                handovers: handovers, lastContactId: try row.decode("last_contact"), lastChildSeenContactId: try row.decode("last_seen"),
                contactIds90: try row.decode("contacts_90"), stageConferenceId: try row.decode("stage_conference"),
                reviewPlanId: try row.decode("review_plan"), daysSinceLastContact: try row.decode("since_contact"),
                daysSinceChildSeen: try row.decode("since_seen"),
                childrenInFocus: try KithJSON.decode([Components.Schemas.ChildInFocusSeen].self, from: try row.decode("children")),
                medianContactGapDays90: try row.decode("gap"),
                medianRecordingLagHours90: try row.decode("lag"), fgcStage: try row.decode("stage"),
                daysInStage: try row.decode("in_stage"), daysPastPlanReview: try row.decode("past_review"),
                allocatedWorkersLeaving: try row.decode("leaving")))
        }
        return measures
    }

    /// A team's thresholds, the defaults until its supervisors set them; 404 for a team of no organisation of the caller's.
    func signalSettings(team: UUID) async throws -> SignalSettings {
        let row = try await query(
            """
            SELECT s.no_contact_days, s.child_not_seen_days, s.plan_review_overdue_days, s.worker_changes_365
            FROM teams t
            LEFT JOIN team_signal_settings s ON s.organisation_id = t.organisation_id AND s.team_id = t.id
            WHERE t.organisation_id = \(principal.organisationId) AND t.id = \(team)
            """).decode((Int?, Int?, Int?, Int?).self).first { _ in true }
        guard let row else { throw KithError.notFound }
        guard let noContact = row.0, let notSeen = row.1, let review = row.2, let changes = row.3 else { return .defaults }
        return SignalSettings(noContactDays: noContact, childNotSeenDays: notSeen, planReviewOverdueDays: review, workerChanges365: changes)
    }
}

extension CalendarDay {
    /// `?asOf=`, today (UTC) when absent.
    static func asOf(_ value: String?) throws -> CalendarDay {
        guard let value else { return .today }
        guard let day = CalendarDay(value) else { throw KithError.invalidField("asOf", "must be a date, YYYY-MM-DD") }
        return day
    }
}
