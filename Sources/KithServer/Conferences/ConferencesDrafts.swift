import Foundation
import KithAPI
import KithCore

/// A conference's writes, checked once for REST and sync alike (a pushed mutation's `args` are these bodies).
/// A referral, checked: a Kith worker or an outside referrer (at least one), the family's agreement with its day
/// and who gave it, and the bottom lines.
struct NewReferral: Sendable {
    let referrerId: UUID?
    let referrerName: String?
    let referrerAgency: String?
    let referredOn: CalendarDay?
    let agreedOn: CalendarDay?
    let agreedBy: UUID?
    let body: Components.Schemas.Referral

    init(_ body: Components.Schemas.Referral, check: inout Validation) {
        referrerId = check.uuid("referral.referrerId", body.referrerId)
        if let referrer = body.referrer {
            check.requiredText("referral.referrer.name", referrer.name, max: 200)
            check.text("referral.referrer.agency", referrer.agency, min: 1, max: 200)
        }
        if body.referrerId == nil && body.referrer == nil {
            check.add("referral.referrer", "name the referrer: a Kith worker (referrerId) or someone outside Kith (referrer)")
        }
        referrerName = body.referrer?.name
        referrerAgency = body.referrer?.agency.nilIfBlank
        referredOn = check.day("referral.referredOn", body.referredOn)
        agreedOn = check.day("referral.familyAgreedOn", body.familyAgreedOn)
        agreedBy = check.uuid("referral.familyAgreedBy", body.familyAgreedBy)
        check.text("referral.reason", body.reason, max: 65_536)
        check.count("referral.bottomLines", body.bottomLines.count, max: 50)
        for (index, line) in body.bottomLines.enumerated() { check.text("referral.bottomLines[\(index)]", line, max: 2000) }
        self.body = body
    }
}

/// A new conference: its referral and, if named, its coordinator.
struct NewConference: Sendable {
    let id: UUID
    let familyId: UUID
    let referral: NewReferral
    let coordinatorId: UUID?

    init(familyId: UUID, _ body: Components.Schemas.CreateConference) throws {
        var check = Validation()
        id = check.uuid("id", body.id) ?? UUID()
        referral = NewReferral(body.referral, check: &check)
        coordinatorId = check.uuid("coordinatorId", body.coordinatorId)
        try check.orThrow()
        self.familyId = familyId
    }
}

/// A stage the conference reached on a day.
struct NewStage: Sendable {
    let conferenceId: UUID
    let stage: Components.Schemas.ConferenceStage
    let on: CalendarDay
    let note: String?

    init(conferenceId: UUID, _ body: Components.Schemas.StageChange) throws {
        var check = Validation()
        let on = check.day("on", body.on)
        check.text("note", body.note, max: 10_000)
        try check.orThrow()
        self.conferenceId = conferenceId
        stage = body.stage
        self.on = on!
        note = body.note.nilIfBlank
    }
}

/// A participant invited, attending, or given their part: exactly one of a person or a worker.
struct ParticipantChange: Sendable {
    let conferenceId: UUID
    let personId: UUID?
    let workerId: UUID?
    let body: Components.Schemas.SetParticipant

    init(conferenceId: UUID, _ body: Components.Schemas.SetParticipant) throws {
        var check = Validation()
        personId = check.uuid("personId", body.personId)
        workerId = check.uuid("workerId", body.workerId)
        if (body.personId == nil) == (body.workerId == nil) { check.add("personId", "give exactly one of personId and workerId") }
        try check.orThrow()
        self.conferenceId = conferenceId
        self.body = body
    }
}

/// A meeting (the conference or a review) with its private family time and who attended.
struct NewMeeting: Sendable {
    let conferenceId: UUID
    let id: UUID
    let heldOn: CalendarDay
    let attended: [UUID]
    let body: Components.Schemas.RecordMeeting

    init(conferenceId: UUID, _ body: Components.Schemas.RecordMeeting) throws {
        var check = Validation()
        id = check.uuid("id", body.id) ?? UUID()
        let heldOn = check.day("heldOn", body.heldOn)
        attended = Array(Set(check.uuids("attended", body.attended, max: 100)))
        if let time = body.privateFamilyTime {
            check.moment("privateFamilyTime.startedAt", time.startedAt)
            check.moment("privateFamilyTime.endedAt", time.endedAt)
            if let end = time.endedAt, end < time.startedAt { check.add("privateFamilyTime.endedAt", "must not be before startedAt") }
        }
        try check.orThrow()
        self.conferenceId = conferenceId
        self.heldOn = heldOn!
        self.body = body
    }
}
