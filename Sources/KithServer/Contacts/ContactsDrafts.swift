import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// A contact, checked. A child seen alone was seen, so `childSeen` follows from `childSeenAlone` (or from
/// `childrenSeen`) when absent; the worker recording it was there unless the request says `recorderPresent: false`.
struct NewContact: Sendable {
    let id: UUID
    let familyId: UUID
    let personIds: [UUID]
    let workerIds: [UUID]
    let recorderPresent: Bool
    /// Other professionals and interpreters, as JSON for the contact's row.
    let othersPresent: String
    let childSeen: Bool?
    let childrenSeen: ChildrenSeen
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
        let childrenSeen = ChildrenSeen(body.childrenSeen, &check)
        childSeen = ChildrenSeen.summary(body.childSeen, alone: body.childSeenAlone, childrenSeen, &check)
        try check.orThrow()
        self.familyId = familyId
        recorderPresent = body.recorderPresent ?? true
        othersPresent = try KithJSON.text(others)
        self.childrenSeen = childrenSeen ?? ChildrenSeen(entries: [])
        self.body = body
    }
}

/// Which children in focus were seen at a contact, and seen alone: the one rule for what a contact says about the
/// children, shared by recording and correcting it.
struct ChildrenSeen: Sendable {
    let entries: [Components.Schemas.ChildSeen]

    var personIds: [UUID] { entries.compactMap { UUID(uuidString: $0.personId) } }
    /// As the contact's row keeps them.
    var json: String { get throws { try KithJSON.text(entries) } }

    init(entries: [Components.Schemas.ChildSeen]) { self.entries = entries }

    /// Nil when the request said nothing of the children one by one.
    init?(_ entries: [Components.Schemas.ChildSeen]?, _ check: inout Validation) {
        guard let entries else { return nil }
        check.count("childrenSeen", entries.count, max: 20)
        // Ids as the database writes them, so that a child is found in the JSON whatever case the client wrote.
        self.entries = entries.enumerated().map { index, child in
            if child.seenAlone && !child.seen { check.add("childrenSeen[\(index)].seenAlone", "a child seen alone was seen") }
            let id = check.uuid("childrenSeen[\(index)].personId", child.personId)
            return .init(personId: id?.text ?? child.personId, seen: child.seen, seenAlone: child.seenAlone)
        }
        if Set(self.entries.map(\.personId)).count != entries.count { check.add("childrenSeen", "names a child more than once") }
    }

    /// The summary `childSeen` (`ChildSeen.summary`); one that says no child was seen while one was is refused.
    static func summary(_ childSeen: Bool?, alone: Bool?, _ children: ChildrenSeen?, _ check: inout Validation) -> Bool? {
        let named = children?.entries ?? []
        if alone == true, childSeen == false { check.add("childSeenAlone", "a child seen alone was seen: childSeen cannot be false") }
        if named.contains(where: \.seen), childSeen == false { check.add("childSeen", "childrenSeen says a child was seen") }
        return Components.Schemas.ChildSeen.summary(childSeen, alone: alone, named)
    }
}

/// A contact corrected: the fields that were recorded wrongly, each with its right value, and why
/// (`POST /v1/contacts/{id}/corrections`, or `contact.correct` by sync).
struct ContactCorrection: Sendable {
    let id: UUID
    let contactId: UUID
    let body: Components.Schemas.CorrectContact
    let personIds: [UUID]?
    let childrenSeen: ChildrenSeen?
    let childSeen: Bool?

    init(contactId: UUID, _ body: Components.Schemas.CorrectContact) throws {
        var check = Validation()
        check.moment("occurredAt", body.occurredAt)
        check.range("durationMinutes", body.durationMinutes, 0...1440)
        check.requiredText("reason", body.reason, max: 2000)
        personIds = body.presentPersonIds.map { _ in Array(Set(check.uuids("presentPersonIds", body.presentPersonIds, max: 100))) }
        childrenSeen = ChildrenSeen(body.childrenSeen, &check)
        childSeen = ChildrenSeen.summary(body.childSeen, alone: body.childSeenAlone, childrenSeen, &check)
        try check.orThrow()
        id = UUID()
        self.contactId = contactId
        self.body = body
    }
}

/// A contact recorded on the wrong family, withdrawn, and why (`POST /v1/contacts/{id}/withdraw`, `contact.withdraw`).
struct ContactWithdrawal: Sendable {
    let contactId: UUID
    let reason: String

    init(contactId: UUID, _ body: Components.Schemas.WithdrawContact) throws {
        var check = Validation()
        check.requiredText("reason", body.reason, max: 2000)
        try check.orThrow()
        self.contactId = contactId
        self.reason = body.reason
    }
}
