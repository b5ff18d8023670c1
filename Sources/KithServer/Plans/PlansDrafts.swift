import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// Progress on a plan item, in the family's and worker's words.
struct NewPlanItemUpdate: Sendable {
    let id: UUID
    let planItemId: UUID
    /// The network member whose words the worker wrote down.
    let fromPersonId: UUID?
    let body: Components.Schemas.CreatePlanItemUpdate

    init(planItemId: UUID, _ body: Components.Schemas.CreatePlanItemUpdate) throws {
        var check = Validation()
        id = check.uuid("id", body.id) ?? UUID()
        check.requiredText("text", body.text, max: 65_536)
        fromPersonId = check.uuid("fromPersonId", body.fromPersonId)
        try check.orThrow()
        self.planItemId = planItemId
        self.body = body
    }
}

/// A new version of a family's plan, checked: each item names who does what (a person in the network or a worker,
/// checked against the family when saved).
struct NewPlan: Sendable {
    struct Item: Sendable {
        let id: UUID
        let who: UUID
        let what: String
        let byWhen: CalendarDay?
    }

    let id: UUID
    let conferenceId: UUID
    let items: [Item]
    let reviewOn: CalendarDay?
    let body: Components.Schemas.CreatePlan

    init(conferenceId: UUID, _ body: Components.Schemas.CreatePlan) throws {
        var check = Validation()
        id = check.uuid("id", body.id) ?? UUID()
        check.count("items", body.items.count, max: 200)
        let items = body.items.enumerated().map { index, item in
            let itemId = check.uuid("items[\(index)].id", item.id) ?? UUID()
            let who = check.uuid("items[\(index)].who", item.who)
            check.requiredText("items[\(index)].what", item.what, max: 10_000)
            let byWhen = check.day("items[\(index)].byWhen", item.byWhen)
            return (itemId, who, item.what, byWhen)
        }
        check.text("contingency", body.contingency, max: 65_536)
        reviewOn = check.day("reviewOn", body.reviewOn)
        check.text("referrerReasoning", body.referrerReasoning, max: 65_536)
        try check.orThrow()
        self.conferenceId = conferenceId
        self.items = items.map { Item(id: $0.0, who: $0.1!, what: $0.2, byWhen: $0.3) }
        self.body = body
    }
}
