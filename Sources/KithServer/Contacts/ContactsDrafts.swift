import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// A contact, checked. A child seen alone was seen, so `childSeen` follows from `childSeenAlone` when absent; the
/// worker recording it was there unless the request says `recorderPresent: false`.
struct NewContact: Sendable {
    let id: UUID
    let familyId: UUID
    let personIds: [UUID]
    let workerIds: [UUID]
    let recorderPresent: Bool
    /// Other professionals and interpreters, as JSON for the contact's row.
    let othersPresent: String
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
        let others = body.othersPresent ?? []
        check.count("othersPresent", others.count, max: 20)
        for (index, other) in others.enumerated() {
            check.requiredText("othersPresent[\(index)].name", other.name, max: 200)
            check.requiredText("othersPresent[\(index)].role", other.role, max: 200)
        }
        if body.childSeenAlone == true, body.childSeen == false {
            check.add("childSeenAlone", "a child seen alone was seen: childSeen cannot be false")
        }
        try check.orThrow()
        self.familyId = familyId
        recorderPresent = body.recorderPresent ?? true
        othersPresent = try KithJSON.text(others)
        childSeen = body.childSeen ?? (body.childSeenAlone == true ? true : nil)
        self.body = body
    }
}
