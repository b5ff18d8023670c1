import Foundation
import KithAPI
import KithCore

/// A change of practice, checked.
struct PracticeChangeDraft: Sendable {
    let id = UUID()
    let teamId: UUID
    let startedOn: CalendarDay
    let description: String

    init(_ body: Components.Schemas.CreatePracticeChange) throws {
        var check = Validation()
        let teamId = check.uuid("teamId", body.teamId)
        let startedOn = check.day("startedOn", body.startedOn)
        check.requiredText("description", body.description, max: 2000)
        try check.orThrow()
        (self.teamId, self.startedOn, description) = (teamId!, startedOn!, body.description)
    }
}

/// A study as proposed, checked: its span, its ethics reference, and which columns its extract has (all by default).
struct ResearchStudyDraft: Sendable {
    let id = UUID()
    let title: String
    let ethicsReference: String
    let from: CalendarDay
    let to: CalendarDay
    let fields: [Components.Schemas.ExtractField]

    init(_ body: Components.Schemas.CreateResearchStudy) throws {
        var check = Validation()
        check.requiredText("title", body.title, max: 300)
        check.requiredText("ethicsReference", body.ethicsReference, max: 200)
        let days = check.days(from: body.from, to: body.to, lastDays: 1)
        if let fields = body.fields {
            if fields.isEmpty { check.add("fields", "must name at least one column") }
            if Set(fields).count != fields.count { check.add("fields", "must not name a column twice") }
        }
        try check.orThrow()
        (title, ethicsReference, from, to) = (body.title, body.ethicsReference, days.lowerBound, days.upperBound)
        fields = body.fields ?? Components.Schemas.ExtractField.allCases
    }
}
