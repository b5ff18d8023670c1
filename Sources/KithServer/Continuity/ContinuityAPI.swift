import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// Continuity measures with the team's signals beside them: prompts for supervision, computed on request, never
/// stored as a status and never blocking anything.
extension KithService {
    func getFamilyContinuity(_ input: Operations.GetFamilyContinuity.Input) async throws -> Operations.GetFamilyContinuity.Output {
        let principal = try Principal.required()
        let familyId = try UUID(path: input.path.familyId)
        let asOf = try CalendarDay.asOf(input.query.asOf)
        let continuity = try await readFamily(familyId, "continuity", recordId: familyId) { records, access in
            let settings = try await records.signalSettings(team: access.teamId)
            guard let measures = try await records.familyMeasures(
                [familyId], asOf: asOf, organisation: principal.organisationId).first
            else { throw KithError.notFound }
            return measures.response(asOf: asOf, settings: settings)
        }
        return .ok(.init(body: .json(continuity)))
    }

    /// For the worker themselves and the supervisors of their teams.
    func getWorkerContinuity(_ input: Operations.GetWorkerContinuity.Input) async throws -> Operations.GetWorkerContinuity.Output {
        let principal = try Principal.required()
        let workerId = try UUID(path: input.path.workerId)
        let asOf = try CalendarDay.asOf(input.query.asOf)
        let continuity = try await records { records in
            try await records.requireOversight(of: workerId)
            let org = principal.organisationId
            let (allocationsJSON, out, into) = try await records.connection.query(
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
                """, logger: logger
            ).decode((String, Int, Int).self).first { _ in true } ?? ("[]", 0, 0)
            let allocations = try JSONDecoder().decode([Components.Schemas.WorkerAllocationTenure].self, from: Data(allocationsJSON.utf8))
            return Components.Schemas.WorkerContinuity(
                workerId: workerId.text, asOf: asOf.description, caseload: Set(allocations.map(\.familyId)).count,
                allocations: allocations, handoversIn365: into, handoversOut365: out)
        }
        return .ok(.init(body: .json(continuity)))
    }

    /// For the team's supervisors: the team's figures and every open family's measures, riskiest relationships first.
    func getTeamContinuity(_ input: Operations.GetTeamContinuity.Input) async throws -> Operations.GetTeamContinuity.Output {
        let principal = try Principal.required()
        let teamId = try UUID(path: input.path.teamId)
        let asOf = try CalendarDay.asOf(input.query.asOf)
        guard principal.supervises(team: teamId) else { throw KithError.notFound }
        let continuity = try await records { records in
            let org = principal.organisationId
            var familyIds: [UUID] = []
            // Every family open at some time in the window counts towards the team's figures.
            for try await id in try await records.connection.query(
                """
                SELECT id FROM families
                WHERE organisation_id = \(org) AND team_id = \(teamId) AND opened_on <= \(asOf.description)::date
                  AND (closed_on IS NULL OR closed_on > \(asOf.description)::date - 365)
                  AND created_at < (\(asOf.description)::date + 1)::timestamp AT TIME ZONE 'UTC'
                """, logger: logger
            ).decode(UUID.self) { familyIds.append(id) }
            let settings = try await records.signalSettings(team: teamId)
            let measures = try await records.familyMeasures(familyIds, asOf: asOf, organisation: org)
            let open = measures.filter { $0.figures.isOpen(on: asOf) }
            try await records.audit(.read, "continuity", familyIds: open.map(\.familyId))
            let figures = TeamFigures(families: measures.map(\.figures), asOf: asOf)
            return Components.Schemas.TeamContinuity(
                teamId: teamId.text, asOf: asOf.description, keptOneWorkerShare: figures.keptOneWorkerShare,
                workerChangesPerFamilyYear: figures.workerChangesPerFamilyYear,
                familiesWithThreeOrMoreWorkers365: figures.familiesWithThreeOrMoreWorkers365,
                families: open.map { $0.response(asOf: asOf, settings: settings) }.sorted(by: Self.riskiestFirst))
        }
        return .ok(.init(body: .json(continuity)))
    }

    /// More raised signals first, then more allocated workers in the year, then longer without contact.
    static func riskiestFirst(_ a: Components.Schemas.FamilyContinuity, _ b: Components.Schemas.FamilyContinuity) -> Bool {
        let key = { (family: Components.Schemas.FamilyContinuity) in
            (family.signals.filter(\.raised).count, family.distinctAllocatedWorkers365, family.daysSinceLastContact ?? Int.max)
        }
        let (x, y) = (key(a), key(b))
        if x != y { return x > y }
        return a.familyId < b.familyId
    }

    /// Team members read their team's thresholds; the team's supervisors change them.
    func getSignalSettings(_ input: Operations.GetSignalSettings.Input) async throws -> Operations.GetSignalSettings.Output {
        let principal = try Principal.required()
        let teamId = try UUID(path: input.path.teamId)
        guard principal.teamIds.contains(teamId) || principal.has(.admin) else { throw KithError.notFound }
        let settings = try await records { try await $0.signalSettings(team: teamId) }
        return .ok(.init(body: .json(.init(settings))))
    }

    func putSignalSettings(_ input: Operations.PutSignalSettings.Input) async throws -> Operations.PutSignalSettings.Output {
        let principal = try Principal.required()
        let teamId = try UUID(path: input.path.teamId)
        let body = switch input.body { case .json(let body): body }
        guard principal.teamIds.contains(teamId) || principal.has(.admin) else { throw KithError.notFound }
        guard principal.supervises(team: teamId) else { throw KithError.forbidden("Only the team's supervisors change its signal settings.") }
        var check = Validation()
        check.range("noContactDays", body.noContactDays, 1...3650)
        check.range("childNotSeenDays", body.childNotSeenDays, 1...3650)
        check.range("planReviewOverdueDays", body.planReviewOverdueDays, 0...3650)
        check.range("workerChanges365", body.workerChanges365, 1...100)
        try check.orThrow()
        try await records { records in
            _ = try await records.signalSettings(team: teamId)
            try await records.connection.query(
                """
                INSERT INTO team_signal_settings (organisation_id, team_id, no_contact_days, child_not_seen_days,
                                                  plan_review_overdue_days, worker_changes_365, updated_by, updated_at)
                VALUES (\(principal.organisationId), \(teamId), \(body.noContactDays), \(body.childNotSeenDays),
                        \(body.planReviewOverdueDays), \(body.workerChanges365), \(principal.workerId), now())
                ON CONFLICT (organisation_id, team_id) DO UPDATE SET
                    no_contact_days = excluded.no_contact_days, child_not_seen_days = excluded.child_not_seen_days,
                    plan_review_overdue_days = excluded.plan_review_overdue_days,
                    worker_changes_365 = excluded.worker_changes_365, updated_by = excluded.updated_by, updated_at = now()
                """, logger: logger)
            try await records.auditAdministration(
                "signalSettings", recordId: teamId, teamIds: [teamId],
                reason: "no contact \(body.noContactDays) d, child not seen \(body.childNotSeenDays) d, plan review overdue "
                    + "\(body.planReviewOverdueDays) d, worker changes \(body.workerChanges365) a year")
        }
        return .ok(.init(body: .json(body)))
    }
}

extension Components.Schemas.SignalSettings {
    init(_ settings: SignalSettings) {
        self.init(
            noContactDays: settings.noContactDays, childNotSeenDays: settings.childNotSeenDays,
            planReviewOverdueDays: settings.planReviewOverdueDays, workerChanges365: settings.workerChanges365)
    }
}
