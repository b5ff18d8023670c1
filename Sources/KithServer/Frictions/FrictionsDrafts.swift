import Foundation
import KithAPI
import KithCore

/// What got in the way, checked: only sizes are limited; the teller comes from the sign-in, never from the body.
struct NewFriction: Sendable {
    let id: UUID
    let familyId: UUID?
    let body: Components.Schemas.CreateFriction

    init(_ body: Components.Schemas.CreateFriction) throws {
        var check = Validation()
        id = check.uuid("id", body.id) ?? UUID()
        familyId = check.uuid("familyId", body.familyId)
        check.requiredText("text", body.text, max: 4000)
        if let cost = body.cost { check.requiredText("cost", cost, max: 200) }
        if let problem = body.problem {
            check.range("problem.status", problem.status, 400...499)
            check.text("problem.code", problem.code, max: 100)
            check.text("problem.detail", problem.detail, max: 2000)
            check.text("problem.command", problem.command, max: 100)
        }
        try check.orThrow()
        self.body = body
    }
}

/// A supervisor's answer to a friction, checked.
struct FrictionEventDraft: Sendable {
    let frictionId: UUID
    let body: Components.Schemas.FrictionEventInput

    init(frictionId: UUID, _ body: Components.Schemas.FrictionEventInput) throws {
        var check = Validation()
        // An acknowledgement may stand alone; what was done is said in words.
        if body.text != nil || body.kind != .acknowledged { check.requiredText("text", body.text ?? "", max: 4000) }
        try check.orThrow()
        self.frictionId = frictionId
        self.body = body
    }
}
