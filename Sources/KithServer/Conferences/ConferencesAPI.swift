import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// The FGC lifecycle: referral → preparation → conference → family plan → reviews → closed. Stages are recorded
/// as events with dates; the service records what happened and never forces an order on a family's process.
extension KithService {
    func listConferences(_ input: Operations.ListConferences.Input) async throws -> Operations.ListConferences.Output {
        let principal = try Principal.required()
        let familyId = try UUID(path: input.path.familyId)
        let conferences = try await readFamily(familyId, "conferences") { records, _ in
            try await records.conferences(familyId: familyId)
        }
        return .ok(.init(body: .json(.init(items: conferences))))
    }

    func createConference(_ input: Operations.CreateConference.Input) async throws -> Operations.CreateConference.Output {
        let principal = try Principal.required()
        let familyId = try UUID(path: input.path.familyId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        let id = check.uuid("id", body.id) ?? UUID()
        let referrerId = check.uuid("referral.referrerId", body.referral.referrerId)
        let coordinatorId = check.uuid("coordinatorId", body.coordinatorId)
        check.text("referral.reason", body.referral.reason, max: 65_536)
        check.count("referral.bottomLines", body.referral.bottomLines.count, max: 50)
        for (index, line) in body.referral.bottomLines.enumerated() { check.text("referral.bottomLines[\(index)]", line, max: 2000) }
        try check.orThrow()

        let conference = try await records { records in
            let access = try await records.access(familyId, for: .read)
            try await records.requireMembers(
                personIds: [], workerIds: [referrerId!] + (coordinatorId.map { [$0] } ?? []), familyId: familyId)
            try await records.connection.insertNew(
                """
                INSERT INTO conferences (organisation_id, id, family_id, referrer_id, referral_reason, family_agreed,
                                         bottom_lines, coordinator_id, created_by)
                VALUES (\(principal.organisationId), \(id), \(familyId), \(referrerId!), \(body.referral.reason),
                        \(body.referral.familyAgreed), \(body.referral.bottomLines), \(coordinatorId), \(principal.workerId))
                """, record: "conference", logger: logger)
            try await records.connection.query(
                """
                INSERT INTO conference_stage_events (organisation_id, id, conference_id, family_id, stage, on_date, recorded_by)
                VALUES (\(principal.organisationId), \(UUID()), \(id), \(familyId), 'referred', current_date, \(principal.workerId))
                """, logger: logger)
            try await records.audit(.write, "conference", recordId: id, access: access)
            return try await records.conferences(familyId: familyId, only: id)[0]
        }
        return .created(.init(body: .json(conference)))
    }

    func getConference(_ input: Operations.GetConference.Input) async throws -> Operations.GetConference.Output {
        let principal = try Principal.required()
        let id = try UUID(path: input.path.conferenceId)
        let conference = try await records { records in
            let access = try await records.conferenceAccess(id)
            try await records.audit(.read, "conference", recordId: id, access: access)
            return try await records.conference(id, access: access)
        }
        return .ok(.init(body: .json(conference)))
    }

    func changeConferenceStage(_ input: Operations.ChangeConferenceStage.Input) async throws -> Operations.ChangeConferenceStage.Output {
        let principal = try Principal.required()
        let id = try UUID(path: input.path.conferenceId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        let on = check.day("on", body.on)
        check.text("note", body.note, max: 10_000)
        try check.orThrow()

        let conference = try await records { records in
            let access = try await records.conferenceAccess(id)
            try await records.connection.query(
                """
                INSERT INTO conference_stage_events (organisation_id, id, conference_id, family_id, stage, on_date, note, recorded_by)
                VALUES (\(principal.organisationId), \(UUID()), \(id), \(access.familyId), \(body.stage.rawValue),
                        \(on!.description)::date, \(body.note.nilIfBlank), \(principal.workerId))
                """, logger: logger)
            try await records.connection.query(
                """
                UPDATE conferences SET stage = \(body.stage.rawValue), stage_since = \(on!.description)::date
                WHERE organisation_id = \(principal.organisationId) AND id = \(id)
                """, logger: logger)
            try await records.audit(.write, "conference", recordId: id, access: access)
            return try await records.conference(id, access: access)
        }
        return .ok(.init(body: .json(conference)))
    }

    func setConferenceParticipant(_ input: Operations.SetConferenceParticipant.Input) async throws -> Operations.SetConferenceParticipant.Output {
        let principal = try Principal.required()
        let id = try UUID(path: input.path.conferenceId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        let personId = check.uuid("personId", body.personId)
        let workerId = check.uuid("workerId", body.workerId)
        if (body.personId == nil) == (body.workerId == nil) { check.add("personId", "give exactly one of personId and workerId") }
        try check.orThrow()

        let conference = try await records { records in
            let access = try await records.conferenceAccess(id)
            try await records.requireMembers(
                personIds: personId.map { [$0] } ?? [], workerIds: workerId.map { [$0] } ?? [], familyId: access.familyId)
            try await records.connection.query(
                """
                INSERT INTO conference_participants (organisation_id, id, conference_id, family_id, person_id, worker_id, invited, attended)
                VALUES (\(principal.organisationId), \(UUID()), \(id), \(access.familyId), \(personId), \(workerId),
                        \(body.invited ?? false), \(body.attended ?? false))
                ON CONFLICT (organisation_id, conference_id, person_id, worker_id) DO UPDATE
                SET invited = coalesce(\(body.invited), conference_participants.invited),
                    attended = coalesce(\(body.attended), conference_participants.attended)
                """, logger: logger)
            try await records.audit(.write, "conference", recordId: id, access: access)
            return try await records.conference(id, access: access)
        }
        return .ok(.init(body: .json(conference)))
    }

    /// Private family time is the family's own: only when it started and ended is recorded.
    func recordPrivateFamilyTime(_ input: Operations.RecordPrivateFamilyTime.Input) async throws -> Operations.RecordPrivateFamilyTime.Output {
        let principal = try Principal.required()
        let id = try UUID(path: input.path.conferenceId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.moment("startedAt", body.startedAt)
        check.moment("endedAt", body.endedAt)
        if let end = body.endedAt, end < body.startedAt { check.add("endedAt", "must not be before startedAt") }
        try check.orThrow()

        let conference = try await records { records in
            let access = try await records.conferenceAccess(id)
            try await records.connection.query(
                """
                UPDATE conferences SET private_time_started_at = \(body.startedAt), private_time_ended_at = \(body.endedAt)
                WHERE organisation_id = \(principal.organisationId) AND id = \(id)
                """, logger: logger)
            try await records.audit(.write, "conference", recordId: id, access: access)
            return try await records.conference(id, access: access)
        }
        return .ok(.init(body: .json(conference)))
    }
}

extension Records {
    /// The caller's access to a conference's family (404 without it).
    func conferenceAccess(_ id: UUID, for action: FamilyAction = .read) async throws -> FamilyAccess {
        try await access(.conferences, id, for: action)
    }

    func conference(_ id: UUID, access: FamilyAccess) async throws -> Components.Schemas.Conference {
        try await conferences(familyId: access.familyId, only: id)[0]
    }

    func conferences(familyId: UUID, only id: UUID? = nil) async throws -> [Components.Schemas.Conference] {
        let org = principal.organisationId
        var stages: [UUID: [Components.Schemas.StageEvent]] = [:]
        for try await (conference, stage, on, note, by, at) in try await connection.query(
            """
            SELECT conference_id, stage, on_date::text, note, recorded_by, recorded_at FROM conference_stage_events
            WHERE organisation_id = \(org) AND family_id = \(familyId) AND (\(id)::uuid IS NULL OR conference_id = \(id))
            ORDER BY recorded_at, id
            """, logger: logger
        ).decode((UUID, String, String, String?, UUID, Date).self) {
            stages[conference, default: []].append(.init(
                stage: .init(rawValue: stage) ?? .referred, on: on, note: note, recordedBy: by.text, recordedAt: at))
        }
        var participants: [UUID: [Components.Schemas.Participant]] = [:]
        for try await (conference, person, worker, invited, attended) in try await connection.query(
            """
            SELECT conference_id, person_id, worker_id, invited, attended FROM conference_participants
            WHERE organisation_id = \(org) AND family_id = \(familyId) AND (\(id)::uuid IS NULL OR conference_id = \(id))
            ORDER BY id
            """, logger: logger
        ).decode((UUID, UUID?, UUID?, Bool, Bool).self) {
            participants[conference, default: []].append(.init(
                personId: person?.text, workerId: worker?.text, invited: invited, attended: attended))
        }
        var conferences: [Components.Schemas.Conference] = []
        for try await (cid, stage, since, referrer, reason, agreed, bottomLines, coordinator, started, ended) in try await connection.query(
            """
            SELECT id, stage, stage_since::text, referrer_id, referral_reason, family_agreed, bottom_lines, coordinator_id,
                   private_time_started_at, private_time_ended_at
            FROM conferences
            WHERE organisation_id = \(org) AND family_id = \(familyId) AND (\(id)::uuid IS NULL OR id = \(id))
            ORDER BY created_at, id
            """, logger: logger
        ).decode((UUID, String, String, UUID, String, Bool, [String], UUID?, Date?, Date?).self) {
            conferences.append(.init(
                id: cid.text, familyId: familyId.text, stage: .init(rawValue: stage) ?? .referred, stageSince: since,
                referral: .init(referrerId: referrer.text, reason: reason, familyAgreed: agreed, bottomLines: bottomLines),
                coordinatorId: coordinator?.text, stages: stages[cid] ?? [], participants: participants[cid] ?? [],
                privateFamilyTime: started.map { .init(startedAt: $0, endedAt: ended) }))
        }
        if id != nil, conferences.isEmpty { throw KithError.notFound }
        return conferences
    }
}
