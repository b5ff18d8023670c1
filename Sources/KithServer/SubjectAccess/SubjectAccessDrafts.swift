import Foundation
import KithAPI
import KithCore

/// A subject access request, checked (`POST /v1/subject-access-requests`).
struct NewSubjectAccessRequest: Sendable {
    let id = UUID()
    let requesterPersonId: UUID?
    let requesterName: String?
    let dataSubjects: [UUID]
    let receivedOn: CalendarDay
    let body: Components.Schemas.CreateSubjectAccessRequest

    init(_ body: Components.Schemas.CreateSubjectAccessRequest) throws {
        var check = Validation()
        requesterPersonId = check.uuid("requester.personId", body.requester.personId)
        check.text("requester.name", body.requester.name, max: 200)
        requesterName = body.requester.name.nilIfBlank
        if (requesterPersonId == nil) == (requesterName == nil) {
            check.add("requester", "names a person of the record (personId) or someone by name, one of the two")
        }
        let subjects = check.uuids("dataSubjects", body.dataSubjects, max: 20)
        if subjects.isEmpty { check.add("dataSubjects", "names at least one person") }
        dataSubjects = Array(Set(subjects))
        let received = CalendarDay(body.receivedOn)
        if received == nil || received! > CalendarDay.today { check.add("receivedOn", "must be a day, not in the future") }
        check.text("channel", body.channel, max: 200)
        try check.orThrow()
        receivedOn = received!
        self.body = body
    }
}

/// An event of a request (`POST /v1/subject-access-requests/{id}/events`).
struct SubjectAccessEvent: Sendable {
    let requestId: UUID
    let kind: SubjectAccessEventKind
    let on: CalendarDay
    let reason: String?

    init(requestId: UUID, _ body: Components.Schemas.SubjectAccessEventInput) throws {
        var check = Validation()
        let on = CalendarDay(body.on)
        if on == nil || on! > CalendarDay.today { check.add("on", "must be a day, not in the future") }
        check.text("reason", body.reason, max: 2000)
        try check.orThrow()
        self.requestId = requestId
        self.kind = SubjectAccessEventKind(rawValue: body.kind.rawValue)!
        self.on = on!
        self.reason = body.reason.nilIfBlank
    }
}

/// A decision about an item of a request's bundle: a redaction (whole, or a span) or a release.
struct SubjectAccessDecisionDraft: Sendable {
    let requestId: UUID
    let itemId: String
    let decision: DisclosureDecision
    let reason: String

    init(requestId: UUID, _ body: Components.Schemas.SubjectAccessRedaction) throws {
        var check = Validation()
        check.requiredText("itemId", body.itemId, max: 200)
        check.text("text", body.text, max: 4000)
        check.requiredText("reason", body.reason, max: 2000)
        try check.orThrow()
        let exemption = Exemption(rawValue: body.exemption.rawValue)!
        self.requestId = requestId
        itemId = body.itemId
        decision = body.text.nilIfBlank.map { .redactSpan($0, exemption) } ?? .withhold(exemption)
        reason = body.reason
    }

    init(requestId: UUID, _ body: Components.Schemas.SubjectAccessRelease) throws {
        var check = Validation()
        check.requiredText("itemId", body.itemId, max: 200)
        check.requiredText("reason", body.reason, max: 2000)
        try check.orThrow()
        self.requestId = requestId
        itemId = body.itemId
        decision = .release
        reason = body.reason
    }
}
