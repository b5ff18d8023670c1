import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension Records {
    /// A referral opens a conference at the `referred` stage; a referrer or coordinator who is a worker is one here,
    /// whoever gave the family's agreement is in its network.
    func save(_ draft: NewConference, access: FamilyAccess) async throws -> Components.Schemas.Conference {
        let (id, referral, coordinatorId) = (draft.id, draft.referral, draft.coordinatorId)
        try await requireMembers(
            personIds: referral.agreedBy.map { [$0] } ?? [], workerIds: referral.referrerId.map { [$0] } ?? [], familyId: access.familyId,
            personField: "referral.familyAgreedBy", workerField: "referral.referrerId")
        try await requireMembers(
            personIds: [], workerIds: coordinatorId.map { [$0] } ?? [], familyId: access.familyId, workerField: "coordinatorId")
        let org = principal.organisationId
        let referredOn = referral.referredOn?.description
        try await connection.insertNew(
            """
            INSERT INTO conferences (organisation_id, id, family_id, referrer_id, referrer_name, referrer_agency, referred_on,
                                     referral_reason, family_agreed, family_agreed_on, family_agreed_by, bottom_lines,
                                     coordinator_id, created_by)
            VALUES (\(org), \(id), \(access.familyId), \(referral.referrerId), \(referral.referrerName), \(referral.referrerAgency),
                    coalesce(\(referredOn)::text::date, current_date), \(referral.body.reason), \(referral.body.familyAgreed),
                    \(referral.agreedOn?.description)::text::date, \(referral.agreedBy), \(referral.body.bottomLines),
                    \(coordinatorId), \(principal.workerId))
            """, record: "conference", logger: logger)
        try await query(
            """
            INSERT INTO conference_stage_events (organisation_id, id, conference_id, family_id, stage, on_date, recorded_by)
            VALUES (\(org), \(UUID()), \(id), \(access.familyId), 'referred', coalesce(\(referredOn)::text::date, current_date),
                    \(principal.workerId))
            """)
        if let coordinatorId {
            try await addCoordinator(coordinatorId, to: id, access: access, from: referredOn)
        }
        try await audit(.write, "conference", recordId: id, access: access)
        return try await conference(id, access: access)
    }

    /// A new coordinator from a day; the spell before stays in the conference's history.
    func changeCoordinator(
        of id: UUID, access: FamilyAccess, to workerId: UUID, from: CalendarDay?
    ) async throws -> Components.Schemas.Conference {
        try await requireMembers(personIds: [], workerIds: [workerId], familyId: access.familyId, workerField: "workerId")
        try await query(
            "UPDATE conferences SET coordinator_id = \(workerId) WHERE organisation_id = \(principal.organisationId) AND id = \(id)")
        try await addCoordinator(workerId, to: id, access: access, from: from?.description)
        try await audit(.write, "conference", recordId: id, access: access, reason: "coordinator changed")
        return try await conference(id, access: access)
    }

    private func addCoordinator(_ workerId: UUID, to conference: UUID, access: FamilyAccess, from: String?) async throws {
        try await query(
            """
            INSERT INTO conference_coordinators (organisation_id, id, conference_id, family_id, coordinator_id, from_on, changed_by)
            VALUES (\(principal.organisationId), \(UUID()), \(conference), \(access.familyId), \(workerId),
                    coalesce(\(from)::text::date, current_date), \(principal.workerId))
            """)
    }

    /// A meeting with who attended: each person or worker named attends (one not yet a participant becomes one,
    /// invited); every other invited participant is recorded absent.
    func save(_ meeting: NewMeeting, access: FamilyAccess) async throws -> Components.Schemas.Conference {
        let org = principal.organisationId
        let (id, meetingId, attended) = (meeting.conferenceId, meeting.id, meeting.attended)
        let (kind, heldOn, privateTime) = (meeting.body.kind, meeting.heldOn, meeting.body.privateFamilyTime)
        let known = try await query(
            """
            SELECT id, 'person' FROM people WHERE organisation_id = \(org) AND family_id = \(access.familyId) AND id = ANY(\(attended))
            UNION ALL
            SELECT id, 'worker' FROM workers WHERE organisation_id = \(org) AND id = ANY(\(attended))
            """).collect().map { try $0.decode((UUID, String).self) }
        let found = Set(known.map(\.0))
        if let stranger = attended.firstIndex(where: { !found.contains($0) }) {
            throw KithError.invalidField("attended[\(stranger)]", "is neither in this family's network nor a worker here")
        }
        try await connection.insertNew(
            """
            INSERT INTO conference_meetings (organisation_id, id, conference_id, family_id, kind, held_on, private_time_started_at,
                                             private_time_ended_at, recorded_by)
            VALUES (\(org), \(meetingId), \(id), \(access.familyId), \(kind.rawValue), \(heldOn.description)::date,
                    \(privateTime?.startedAt), \(privateTime?.endedAt), \(principal.workerId))
            """, record: "meeting", logger: logger)
        let people = known.filter { $0.1 == "person" }.map(\.0), workers = known.filter { $0.1 == "worker" }.map(\.0)
        try await query(
            """
            INSERT INTO conference_participants (organisation_id, id, conference_id, family_id, person_id, worker_id, role,
                                                 invited, attended)
            SELECT \(org), gen_random_uuid(), \(id), \(access.familyId), person, worker,
                   CASE WHEN worker IS NULL THEN 'familyMember' ELSE 'professional' END, true, true
            FROM (SELECT p, NULL::uuid FROM unnest(\(people)::uuid[]) AS p
                  UNION ALL SELECT NULL::uuid, w FROM unnest(\(workers)::uuid[]) AS w) AS present (person, worker)
            ON CONFLICT (organisation_id, conference_id, person_id, worker_id) DO UPDATE SET attended = true
            """)
        try await query(
            """
            INSERT INTO meeting_attendance (organisation_id, meeting_id, participant_id, conference_id, family_id, attended)
            SELECT \(org), \(meetingId), p.id, p.conference_id, p.family_id,
                   coalesce(p.person_id = ANY(\(attended)), false) OR coalesce(p.worker_id = ANY(\(attended)), false)
            FROM conference_participants p
            WHERE p.organisation_id = \(org) AND p.conference_id = \(id)
              AND (p.invited OR p.person_id = ANY(\(attended)) OR p.worker_id = ANY(\(attended)))
            """)
        try await audit(.write, "conference", recordId: id, access: access, reason: "\(kind.rawValue) meeting recorded")
        return try await conference(id, access: access)
    }

    /// Stages are recorded in any order, each with its date: the service records the process, it does not police it.
    func save(_ change: NewStage, access: FamilyAccess) async throws -> Components.Schemas.Conference {
        let (id, stage, on, note) = (change.conferenceId, change.stage, change.on, change.note)
        try await query(
            """
            INSERT INTO conference_stage_events (organisation_id, id, conference_id, family_id, stage, on_date, note, recorded_by)
            VALUES (\(principal.organisationId), \(UUID()), \(id), \(access.familyId), \(stage.rawValue),
                    \(on.description)::date, \(note), \(principal.workerId))
            """)
        try await query(
            """
            UPDATE conferences SET stage = \(stage.rawValue), stage_since = \(on.description)::date
            WHERE organisation_id = \(principal.organisationId) AND id = \(id)
            """)
        try await audit(.write, "conference", recordId: id, access: access)
        return try await conference(id, access: access)
    }

    /// One row per person or worker, updated in place.
    func save(_ change: ParticipantChange, access: FamilyAccess) async throws -> Components.Schemas.Conference {
        let (id, personId, workerId) = (change.conferenceId, change.personId, change.workerId)
        let (role, invited, attended) = (change.body.role, change.body.invited, change.body.attended)
        try await requireMembers(
            personIds: personId.map { [$0] } ?? [], workerIds: workerId.map { [$0] } ?? [], familyId: access.familyId,
            personField: "personId", workerField: "workerId")
        try await query(
            """
            INSERT INTO conference_participants (organisation_id, id, conference_id, family_id, person_id, worker_id, role,
                                                 invited, attended)
            VALUES (\(principal.organisationId), \(UUID()), \(id), \(access.familyId), \(personId), \(workerId),
                    \(role?.rawValue ?? (workerId == nil ? "familyMember" : "professional")), \(invited ?? false), \(attended ?? false))
            ON CONFLICT (organisation_id, conference_id, person_id, worker_id) DO UPDATE
            SET invited = coalesce(\(invited), conference_participants.invited),
                attended = coalesce(\(attended), conference_participants.attended),
                role = coalesce(\(role?.rawValue), conference_participants.role)
            """)
        try await audit(.write, "conference", recordId: id, access: access)
        return try await conference(id, access: access)
    }

    /// On the latest meeting, or an initial meeting on that day when none is recorded yet.
    func recordPrivateFamilyTime(
        of id: UUID, access: FamilyAccess, startedAt: Date, endedAt: Date?
    ) async throws -> Components.Schemas.Conference {
        let org = principal.organisationId
        let updated = try await query(
            """
            UPDATE conference_meetings SET private_time_started_at = \(startedAt), private_time_ended_at = \(endedAt)
            WHERE organisation_id = \(org) AND id = (
                SELECT id FROM conference_meetings WHERE organisation_id = \(org) AND conference_id = \(id)
                ORDER BY held_on DESC, recorded_at DESC LIMIT 1)
            RETURNING id
            """).collect()
        if updated.isEmpty {
            try await query(
                """
                INSERT INTO conference_meetings (organisation_id, id, conference_id, family_id, kind, held_on, private_time_started_at,
                                                 private_time_ended_at, recorded_by)
                VALUES (\(org), \(UUID()), \(id), \(access.familyId), 'initial', (\(startedAt) AT TIME ZONE 'UTC')::date,
                        \(startedAt), \(endedAt), \(principal.workerId))
                """)
        }
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
        for row in try await query(
            ConferenceStagesRead.self,
            """
            SELECT conference_id, stage, on_date::text, note, recorded_by, recorded_at FROM conference_stage_events
            WHERE organisation_id = \(org) AND family_id = ANY(\(families)) AND (\(ids)::uuid[] IS NULL OR conference_id = ANY(\(ids)::uuid[]))
            ORDER BY recorded_at, id
            """) {
            let (conference, stage, on, note, by, at) = try row.decode((UUID, String, String, String?, UUID, Date).self)
            stages[conference, default: []].append(.init(
                stage: .init(rawValue: stage) ?? .referred, on: on, note: note, recordedBy: by.text, recordedAt: at))
        }
        var participants: [UUID: [Components.Schemas.Participant]] = [:]
        for row in try await query(
            ConferenceParticipantsRead.self,
            """
            SELECT conference_id, id, person_id, worker_id, role, invited, attended FROM conference_participants
            WHERE organisation_id = \(org) AND family_id = ANY(\(families)) AND (\(ids)::uuid[] IS NULL OR conference_id = ANY(\(ids)::uuid[]))
            ORDER BY id
            """) {
            let (conference, id, person, worker, role, invited, attended) = try row.decode((UUID, UUID, UUID?, UUID?, String, Bool, Bool).self)
            participants[conference, default: []].append(.init(
                id: id.text, personId: person?.text, workerId: worker?.text, role: .init(rawValue: role) ?? .other, invited: invited,
                attended: attended))
        }
        var meetings: [UUID: [Components.Schemas.Meeting]] = [:]
        for row in try await query(
            ConferenceMeetingsRead.self,
            """
            SELECT m.conference_id, m.id, m.kind, m.held_on::text, m.private_time_started_at, m.private_time_ended_at, m.recorded_by,
                   ARRAY(SELECT a.participant_id FROM meeting_attendance a
                         WHERE a.organisation_id = m.organisation_id AND a.meeting_id = m.id AND a.attended ORDER BY a.participant_id)
            FROM conference_meetings m
            WHERE m.organisation_id = \(org) AND m.family_id = ANY(\(families))
              AND (\(ids)::uuid[] IS NULL OR m.conference_id = ANY(\(ids)::uuid[]))
            ORDER BY m.held_on, m.recorded_at, m.id
            """) {
            let (conference, id, kind, heldOn, started, ended, by, attended) =
                try row.decode((UUID, UUID, String, String, Date?, Date?, UUID, [UUID]).self)
            meetings[conference, default: []].append(.init(
                id: id.text, kind: .init(rawValue: kind) ?? .initial, heldOn: heldOn,
                privateFamilyTime: started.map { .init(startedAt: $0, endedAt: ended) }, attended: attended.map(\.text),
                recordedBy: by.text))
        }
        var coordinators: [UUID: [Components.Schemas.CoordinatorSpell]] = [:]
        for row in try await query(
            ConferenceCoordinatorsRead.self,
            """
            SELECT conference_id, coordinator_id, from_on::text FROM conference_coordinators
            WHERE organisation_id = \(org) AND family_id = ANY(\(families)) AND (\(ids)::uuid[] IS NULL OR conference_id = ANY(\(ids)::uuid[]))
            ORDER BY from_on, changed_at, id
            """) {
            let (conference, worker, from) = try row.decode((UUID, UUID, String).self)
            coordinators[conference, default: []].append(.init(workerId: worker.text, from: from))
        }
        var conferences: [Components.Schemas.Conference] = []
        for row in try await query(
            ConferencesRead.self,
            """
            SELECT \(unescaped: ConferenceRow.columns) FROM conferences
            WHERE organisation_id = \(org) AND family_id = ANY(\(families)) AND (\(ids)::uuid[] IS NULL OR id = ANY(\(ids)::uuid[]))
            ORDER BY created_at, id
            """) {
            let row = row.makeRandomAccess()
            let cid: UUID = try row.decode("id")
            let held = meetings[cid] ?? []
            conferences.append(.init(
                id: cid.text, familyId: try row.decode("family_id", as: UUID.self).text,
                stage: .init(rawValue: try row.decode("stage")) ?? .referred, stageSince: try row.decode("stage_since"),
                referral: .init(
                    referrerId: try row.decode("referrer_id", as: UUID?.self)?.text,
                    referrer: try row.decode("referrer_name", as: String?.self).map { .init(name: $0, agency: try row.decode("referrer_agency")) },
                    referredOn: try row.decode("referred_on"), reason: try row.decode("referral_reason"),
                    familyAgreed: try row.decode("family_agreed"), familyAgreedOn: try row.decode("family_agreed_on"),
                    familyAgreedBy: try row.decode("family_agreed_by", as: UUID?.self)?.text, bottomLines: try row.decode("bottom_lines")),
                coordinatorId: try row.decode("coordinator_id", as: UUID?.self)?.text, coordinators: coordinators[cid] ?? [],
                stages: stages[cid] ?? [], participants: participants[cid] ?? [], meetings: held,
                privateFamilyTime: held.last { $0.privateFamilyTime != nil }?.privateFamilyTime))
        }
        if ids?.count == 1, conferences.isEmpty { throw KithError.notFound }
        return conferences
    }
}

/// A conference's own columns, read by name.
enum ConferenceRow {
    static let columns = """
        id, family_id, stage, stage_since::text, referrer_id, referrer_name, referrer_agency, referred_on::text,
        referral_reason, family_agreed, family_agreed_on::text, family_agreed_by, bottom_lines, coordinator_id
        """
}

/// The conferences of a set of families, their stage events, participants, meetings and coordinators.
enum ConferencesRead: HotStatement {}
enum ConferenceStagesRead: HotStatement {}
enum ConferenceParticipantsRead: HotStatement {}
enum ConferenceMeetingsRead: HotStatement {}
enum ConferenceCoordinatorsRead: HotStatement {}
