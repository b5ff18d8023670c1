import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// The FGC lifecycle: referral → preparation → conference → family plan → reviews → closed. Stages are recorded
/// as events with dates; the service records what happened and never forces an order on a family's process.
extension KithService {
    func listConferences(_ input: Operations.ListConferences.Input) async throws -> Operations.ListConferences.Output {
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
