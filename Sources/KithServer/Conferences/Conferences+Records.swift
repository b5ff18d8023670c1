import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension Records {
    /// A referral opens a conference at the `referred` stage; its referrer and coordinator are workers here.
    func createConference(
        _ id: UUID, access: FamilyAccess, referrerId: UUID, coordinatorId: UUID?, referral: Components.Schemas.Referral
    ) async throws -> Components.Schemas.Conference {
        try await requireMembers(personIds: [], workerIds: [referrerId] + (coordinatorId.map { [$0] } ?? []), familyId: access.familyId)
        try await connection.insertNew(
            """
            INSERT INTO conferences (organisation_id, id, family_id, referrer_id, referral_reason, family_agreed,
                                     bottom_lines, coordinator_id, created_by)
            VALUES (\(principal.organisationId), \(id), \(access.familyId), \(referrerId), \(referral.reason),
                    \(referral.familyAgreed), \(referral.bottomLines), \(coordinatorId), \(principal.workerId))
            """, record: "conference", logger: logger)
        try await connection.query(
            """
            INSERT INTO conference_stage_events (organisation_id, id, conference_id, family_id, stage, on_date, recorded_by)
            VALUES (\(principal.organisationId), \(UUID()), \(id), \(access.familyId), 'referred', current_date, \(principal.workerId))
            """, logger: logger)
        try await audit(.write, "conference", recordId: id, access: access)
        return try await conference(id, access: access)
    }

    /// Stages are recorded in any order, each with its date: the service records the process, it does not police it.
    func recordStage(
        of id: UUID, access: FamilyAccess, stage: Components.Schemas.ConferenceStage, on: CalendarDay, note: String?
    ) async throws -> Components.Schemas.Conference {
        try await connection.query(
            """
            INSERT INTO conference_stage_events (organisation_id, id, conference_id, family_id, stage, on_date, note, recorded_by)
            VALUES (\(principal.organisationId), \(UUID()), \(id), \(access.familyId), \(stage.rawValue),
                    \(on.description)::date, \(note), \(principal.workerId))
            """, logger: logger)
        try await connection.query(
            """
            UPDATE conferences SET stage = \(stage.rawValue), stage_since = \(on.description)::date
            WHERE organisation_id = \(principal.organisationId) AND id = \(id)
            """, logger: logger)
        try await audit(.write, "conference", recordId: id, access: access)
        return try await conference(id, access: access)
    }

    /// One row per person or worker, updated in place.
    func setParticipant(
        of id: UUID, access: FamilyAccess, personId: UUID?, workerId: UUID?, invited: Bool?, attended: Bool?
    ) async throws -> Components.Schemas.Conference {
        try await requireMembers(personIds: personId.map { [$0] } ?? [], workerIds: workerId.map { [$0] } ?? [], familyId: access.familyId)
        try await connection.query(
            """
            INSERT INTO conference_participants (organisation_id, id, conference_id, family_id, person_id, worker_id, invited, attended)
            VALUES (\(principal.organisationId), \(UUID()), \(id), \(access.familyId), \(personId), \(workerId),
                    \(invited ?? false), \(attended ?? false))
            ON CONFLICT (organisation_id, conference_id, person_id, worker_id) DO UPDATE
            SET invited = coalesce(\(invited), conference_participants.invited),
                attended = coalesce(\(attended), conference_participants.attended)
            """, logger: logger)
        try await audit(.write, "conference", recordId: id, access: access)
        return try await conference(id, access: access)
    }

    func recordPrivateFamilyTime(
        of id: UUID, access: FamilyAccess, startedAt: Date, endedAt: Date?
    ) async throws -> Components.Schemas.Conference {
        try await connection.query(
            """
            UPDATE conferences SET private_time_started_at = \(startedAt), private_time_ended_at = \(endedAt)
            WHERE organisation_id = \(principal.organisationId) AND id = \(id)
            """, logger: logger)
        try await audit(.write, "conference", recordId: id, access: access)
        return try await conference(id, access: access)
    }

    /// The caller's access to a conference's family (404 without it).
    func conferenceAccess(_ id: UUID, for action: FamilyAction) async throws -> FamilyAccess {
        try await access(.conferences, id, for: action)
    }

    func conference(_ id: UUID, access: FamilyAccess) async throws -> Components.Schemas.Conference {
        try await conferences(of: [access.familyId], only: [id])[0]
    }

    func conferences(of families: [UUID], only ids: [UUID]? = nil) async throws -> [Components.Schemas.Conference] {
        let org = principal.organisationId
        var stages: [UUID: [Components.Schemas.StageEvent]] = [:]
        for row in try await connection.query(
            ConferenceStagesRead.self,
            """
            SELECT conference_id, stage, on_date::text, note, recorded_by, recorded_at FROM conference_stage_events
            WHERE organisation_id = \(org) AND family_id = ANY(\(families)) AND (\(ids)::uuid[] IS NULL OR conference_id = ANY(\(ids)::uuid[]))
            ORDER BY recorded_at, id
            """, logger: logger
        ) {
            let (conference, stage, on, note, by, at) = try row.decode((UUID, String, String, String?, UUID, Date).self)
            stages[conference, default: []].append(.init(
                stage: .init(rawValue: stage) ?? .referred, on: on, note: note, recordedBy: by.text, recordedAt: at))
        }
        var participants: [UUID: [Components.Schemas.Participant]] = [:]
        for row in try await connection.query(
            ConferenceParticipantsRead.self,
            """
            SELECT conference_id, person_id, worker_id, invited, attended FROM conference_participants
            WHERE organisation_id = \(org) AND family_id = ANY(\(families)) AND (\(ids)::uuid[] IS NULL OR conference_id = ANY(\(ids)::uuid[]))
            ORDER BY id
            """, logger: logger
        ) {
            let (conference, person, worker, invited, attended) = try row.decode((UUID, UUID?, UUID?, Bool, Bool).self)
            participants[conference, default: []].append(.init(
                personId: person?.text, workerId: worker?.text, invited: invited, attended: attended))
        }
        var conferences: [Components.Schemas.Conference] = []
        for row in try await connection.query(
            ConferencesRead.self,
            """
            SELECT id, family_id, stage, stage_since::text, referrer_id, referral_reason, family_agreed, bottom_lines, coordinator_id,
                   private_time_started_at, private_time_ended_at
            FROM conferences
            WHERE organisation_id = \(org) AND family_id = ANY(\(families)) AND (\(ids)::uuid[] IS NULL OR id = ANY(\(ids)::uuid[]))
            ORDER BY created_at, id
            """, logger: logger
        ) {
            let (cid, family, stage, since, referrer, reason, agreed, bottomLines, coordinator, started, ended) =
                try row.decode((UUID, UUID, String, String, UUID, String, Bool, [String], UUID?, Date?, Date?).self)
            conferences.append(.init(
                id: cid.text, familyId: family.text, stage: .init(rawValue: stage) ?? .referred, stageSince: since,
                referral: .init(referrerId: referrer.text, reason: reason, familyAgreed: agreed, bottomLines: bottomLines),
                coordinatorId: coordinator?.text, stages: stages[cid] ?? [], participants: participants[cid] ?? [],
                privateFamilyTime: started.map { .init(startedAt: $0, endedAt: ended) }))
        }
        if ids?.count == 1, conferences.isEmpty { throw KithError.notFound }
        return conferences
    }
}

/// The conferences of a set of families, their stage events and participants.
enum ConferencesRead: HotStatement {}
enum ConferenceStagesRead: HotStatement {}
enum ConferenceParticipantsRead: HotStatement {}
