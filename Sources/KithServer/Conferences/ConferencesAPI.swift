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
            try await records.conferences(of: [familyId])
        }
        return .ok(.init(body: .json(.init(items: conferences))))
    }

    func createConference(_ input: Operations.CreateConference.Input) async throws -> Operations.CreateConference.Output {
        let familyId = try UUID(path: input.path.familyId)
        let body = switch input.body { case .json(let body): body }
        let draft = try NewConference(familyId: familyId, body)
        let conference = try await records { records in
            try await records.save(draft, access: try await records.access(familyId, for: .write))
        }
        return .created(.init(body: .json(conference)))
    }

    func getConference(_ input: Operations.GetConference.Input) async throws -> Operations.GetConference.Output {
        let id = try UUID(path: input.path.conferenceId)
        let conference = try await records { records in
            let access = try await records.conferenceAccess(id, for: .read)
            try await records.audit(.read, "conference", recordId: id, access: access)
            return try await records.conference(id, access: access)
        }
        return .ok(.init(body: .json(conference)))
    }

    func changeConferenceStage(_ input: Operations.ChangeConferenceStage.Input) async throws -> Operations.ChangeConferenceStage.Output {
        let id = try UUID(path: input.path.conferenceId)
        let body = switch input.body { case .json(let body): body }
        let draft = try NewStage(conferenceId: id, body)
        let conference = try await records { records in
            try await records.save(draft, access: try await records.conferenceAccess(id, for: .write))
        }
        return .ok(.init(body: .json(conference)))
    }

    func setConferenceParticipant(_ input: Operations.SetConferenceParticipant.Input) async throws -> Operations.SetConferenceParticipant.Output {
        let id = try UUID(path: input.path.conferenceId)
        let body = switch input.body { case .json(let body): body }
        let draft = try ParticipantChange(conferenceId: id, body)
        let conference = try await records { records in
            try await records.save(draft, access: try await records.conferenceAccess(id, for: .write))
        }
        return .ok(.init(body: .json(conference)))
    }

    /// Private family time is the family's own: only when it started and ended is recorded.
    func recordPrivateFamilyTime(_ input: Operations.RecordPrivateFamilyTime.Input) async throws -> Operations.RecordPrivateFamilyTime.Output {
        let id = try UUID(path: input.path.conferenceId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.moment("startedAt", body.startedAt)
        check.moment("endedAt", body.endedAt)
        if let end = body.endedAt, end < body.startedAt { check.add("endedAt", "must not be before startedAt") }
        try check.orThrow()

        let conference = try await records { records in
            try await records.recordPrivateFamilyTime(
                of: id, access: try await records.conferenceAccess(id, for: .write), startedAt: body.startedAt, endedAt: body.endedAt)
        }
        return .ok(.init(body: .json(conference)))
    }

    func recordMeeting(_ input: Operations.RecordMeeting.Input) async throws -> Operations.RecordMeeting.Output {
        let id = try UUID(path: input.path.conferenceId)
        let body = switch input.body { case .json(let body): body }
        let draft = try NewMeeting(conferenceId: id, body)
        let conference = try await records { records in
            try await records.save(draft, access: try await records.conferenceAccess(id, for: .write))
        }
        return .created(.init(body: .json(conference)))
    }

    func changeCoordinator(_ input: Operations.ChangeCoordinator.Input) async throws -> Operations.ChangeCoordinator.Output {
        let id = try UUID(path: input.path.conferenceId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        let workerId = check.uuid("workerId", body.workerId)
        let from = check.day("from", body.from)
        try check.orThrow()

        let conference = try await records { records in
            try await records.changeCoordinator(
                of: id, access: try await records.conferenceAccess(id, for: .write), to: workerId!, from: from)
        }
        return .ok(.init(body: .json(conference)))
    }
}
