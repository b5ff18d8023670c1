import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// Progress on a plan item, in the family's and worker's words.
struct NewPlanItemUpdate: Sendable {
    let id: UUID
    let planItemId: UUID
    let body: Components.Schemas.CreatePlanItemUpdate

    init(planItemId: UUID, _ body: Components.Schemas.CreatePlanItemUpdate) throws {
        var check = Validation()
        id = check.uuid("id", body.id) ?? UUID()
        check.requiredText("text", body.text, max: 65_536)
        try check.orThrow()
        self.planItemId = planItemId
        self.body = body
    }
}
