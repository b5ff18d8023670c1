import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension Records {
    /// More raised signals first, then more allocated workers in the year, then longer without contact.
    static func riskiestFirst(_ a: Components.Schemas.FamilyContinuity, _ b: Components.Schemas.FamilyContinuity) -> Bool {
        let key = { (family: Components.Schemas.FamilyContinuity) in
            (family.signals.filter(\.raised).count, family.distinctAllocatedWorkers365, family.daysSinceLastContact ?? Int.max)
        }
        let (x, y) = (key(a), key(b))
        if x != y { return x > y }
        return a.familyId < b.familyId
    }

    /// A worker's caseload with tenure and their handovers in and out over the year to `asOf`.
    func workerContinuity(of workerId: UUID, asOf: CalendarDay) async throws -> Components.Schemas.WorkerContinuity {
        try await requireOversight(of: workerId)
        let org = principal.organisationId
        let (allocationsJSON, out, into) = try await query(
            """
            WITH asof AS (
                SELECT \(asOf.description)::date AS d, (\(asOf.description)::date + 1)::timestamp AT TIME ZONE 'UTC' AS cutoff
            ),
            worked AS (SELECT DISTINCT family_id FROM allocations WHERE organisation_id = \(org) AND worker_id = \(workerId)),
            handover AS (
                SELECT ho.* FROM handovers ho, asof
                WHERE ho.organisation_id = \(org) AND ho.family_id IN (SELECT family_id FROM worked)
                  AND ho.ended_on BETWEEN asof.d - 364 AND asof.d AND ho.incoming_started_on <= asof.d
                  AND ho.outgoing_created_at < asof.cutoff AND ho.incoming_created_at < asof.cutoff
            )
            SELECT (SELECT coalesce(json_agg(json_build_object('familyId', a.family_id, 'role', a.role, 'tenureDays', asof.d - a.started_on)
                                             ORDER BY a.started_on, a.family_id), '[]')::text
                      FROM allocations a
                     WHERE a.organisation_id = \(org) AND a.worker_id = \(workerId) AND a.started_on <= asof.d
                       AND (a.ended_on IS NULL OR a.ended_on > asof.d) AND a.created_at < asof.cutoff),
                   (SELECT count(*)::int FROM handover WHERE outgoing_worker_id = \(workerId)),
                   (SELECT count(*)::int FROM handover WHERE incoming_worker_id = \(workerId))
            FROM asof
            """).decode((String, Int, Int).self).first { _ in true } ?? ("[]", 0, 0)
        let allocations = try KithJSON.decode([Components.Schemas.WorkerAllocationTenure].self, from: allocationsJSON)
        return Components.Schemas.WorkerContinuity(
            workerId: workerId.text, asOf: asOf.description, caseload: Set(allocations.map(\.familyId)).count,
            allocations: allocations, handoversIn365: into, handoversOut365: out)
    }

    /// The team's figures and every family open in the year, riskiest relationships first.
    func teamContinuity(of teamId: UUID, asOf: CalendarDay) async throws -> Components.Schemas.TeamContinuity {
        let org = principal.organisationId
        var familyIds: [UUID] = []
        // Every family open at some time in the window counts towards the team's figures.
        for try await id in try await query(
            """
            SELECT id FROM families
            WHERE organisation_id = \(org) AND team_id = \(teamId) AND opened_on <= \(asOf.description)::date
              AND (closed_on IS NULL OR closed_on > \(asOf.description)::date - 365)
              AND created_at < (\(asOf.description)::date + 1)::timestamp AT TIME ZONE 'UTC'
            """).decode(UUID.self) { familyIds.append(id) }
        let settings = try await signalSettings(team: teamId)
        let measures = try await familyMeasures(familyIds, asOf: asOf, organisation: org)
        let open = measures.filter { $0.figures.isOpen(on: asOf) }
        try await audit(.read, "continuity", familyIds: open.map(\.familyId))
        let figures = TeamFigures(families: measures.map(\.figures), asOf: asOf)
        return Components.Schemas.TeamContinuity(
            teamId: teamId.text, asOf: asOf.description, keptOneWorkerShare: figures.keptOneWorkerShare,
            workerChangesPerFamilyYear: figures.workerChangesPerFamilyYear,
            familiesWithThreeOrMoreWorkers365: figures.familiesWithThreeOrMoreWorkers365,
            families: open.map { $0.response(asOf: asOf, settings: settings) }.sorted(by: Self.riskiestFirst))
    }

    /// A team's thresholds, set by its supervisors; an administrative change in the organisation's feed.
    func setSignalSettings(of teamId: UUID, _ body: Components.Schemas.SignalSettings) async throws {
        _ = try await signalSettings(team: teamId)
        try await query(
            """
            INSERT INTO team_signal_settings (organisation_id, team_id, no_contact_days, child_not_seen_days,
                                              plan_review_overdue_days, worker_changes_365, updated_by, updated_at)
            VALUES (\(principal.organisationId), \(teamId), \(body.noContactDays), \(body.childNotSeenDays),
                    \(body.planReviewOverdueDays), \(body.workerChanges365), \(principal.workerId), now())
            ON CONFLICT (organisation_id, team_id) DO UPDATE SET
                no_contact_days = excluded.no_contact_days, child_not_seen_days = excluded.child_not_seen_days,
                plan_review_overdue_days = excluded.plan_review_overdue_days,
                worker_changes_365 = excluded.worker_changes_365, updated_by = excluded.updated_by, updated_at = now()
            """)
        try await auditAdministration(
            "signalSettings", recordId: teamId, teamIds: [teamId],
            reason: "no contact \(body.noContactDays) d, child not seen \(body.childNotSeenDays) d, plan review overdue "
                + "\(body.planReviewOverdueDays) d, worker changes \(body.workerChanges365) a year")
    }
}
