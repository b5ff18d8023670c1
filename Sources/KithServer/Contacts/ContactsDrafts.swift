import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// A contact, checked. A child seen alone was seen, so `childSeen` follows from `childSeenAlone` when absent.
struct NewContact: Sendable {
    let id: UUID
    let familyId: UUID
    let personIds: [UUID]
    let workerIds: [UUID]
    let childSeen: Bool?
    let body: Components.Schemas.CreateContact

    init(familyId: UUID, _ body: Components.Schemas.CreateContact) throws {
        var check = Validation()
        id = check.uuid("id", body.id) ?? UUID()
        check.moment("occurredAt", body.occurredAt)
        check.range("durationMinutes", body.durationMinutes, 0...1440)
        check.text("location", body.location, max: 500)
        personIds = Array(Set(check.uuids("presentPersonIds", body.presentPersonIds, max: 100)))
        workerIds = Array(Set(check.uuids("presentWorkerIds", body.presentWorkerIds, max: 20)))
        if body.childSeenAlone == true, body.childSeen == false {
            check.add("childSeenAlone", "a child seen alone was seen: childSeen cannot be false")
        }
        try check.orThrow()
        self.familyId = familyId
        childSeen = body.childSeen ?? (body.childSeenAlone == true ? true : nil)
        self.body = body
    }
}
