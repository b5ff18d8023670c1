package import Foundation
package import OpenAPIRuntime

/// The sync protocol version this build speaks (`docs/sync.md`): the client sends it, the server checks it.
package enum SyncProtocolVersion {
    package static let current = 1
}

/// A write a device pushes, defined once for the server, the client and the tests. On the wire a mutation's `type`
/// stays a free string, so a kind this server does not know is refused alone, and its `args` are the matching REST
/// body plus the id the REST path would carry (`Mutation` in `openapi.yaml`).
package enum DeviceMutation: Sendable {
    case recordContact(familyId: String, Components.Schemas.CreateContact)
    case correctContact(contactId: String, Components.Schemas.CorrectContact)
    case withdrawContact(contactId: String, Components.Schemas.WithdrawContact)
    case createNote(familyId: String, Components.Schemas.CreateNote)
    case amendNote(noteId: String, Components.Schemas.CreateAmendment)
    case withdrawNote(noteId: String, Components.Schemas.WithdrawNote)
    case refileNote(noteId: String, Components.Schemas.RefileNote)
    case changeNoteAudience(noteId: String, Components.Schemas.ChangeAudience)
    case addPerson(familyId: String, Components.Schemas.CreatePerson)
    case setPersonFields(personId: String, Components.Schemas.UpdatePerson)
    case addPlanItemUpdate(planItemId: String, Components.Schemas.CreatePlanItemUpdate)
    case resolveConflict(conflictId: String, value: String?)
    case writeHandover(allocationId: String, Components.Schemas.WriteHandover)
    case createConference(familyId: String, Components.Schemas.CreateConference)
    case recordStage(conferenceId: String, Components.Schemas.StageChange)
    case setParticipant(conferenceId: String, Components.Schemas.SetParticipant)
    case recordMeeting(conferenceId: String, Components.Schemas.RecordMeeting)
    case createPlan(conferenceId: String, Components.Schemas.CreatePlan)
    case createFriction(frictionId: String, Components.Schemas.CreateFriction)

    package enum Kind: String, CaseIterable, Sendable {
        case recordContact = "contact.record"
        case correctContact = "contact.correct"
        case withdrawContact = "contact.withdraw"
        case createNote = "note.create"
        case amendNote = "note.amend"
        case withdrawNote = "note.withdraw"
        case refileNote = "note.refile"
        case changeNoteAudience = "note.audience"
        case addPerson = "person.add"
        case setPersonFields = "person.setFields"
        case addPlanItemUpdate = "planItem.addUpdate"
        case resolveConflict = "conflict.resolve"
        case writeHandover = "handover.write"
        case createConference = "conference.create"
        case recordStage = "conference.stage"
        case setParticipant = "conference.participant"
        case recordMeeting = "conference.meeting"
        case createPlan = "plan.create"
        case createFriction = "friction.create"

        /// The kind in a worker's words, for what waits to be sent.
        package var word: String {
            switch self {
            case .recordContact: "visit"
            case .correctContact: "correction of a visit"
            case .withdrawContact: "withdrawal of a visit"
            case .createNote: "note"
            case .amendNote: "amendment"
            case .withdrawNote: "withdrawal of a note"
            case .refileNote: "refiling of a note"
            case .changeNoteAudience: "change of a note's audience"
            case .addPerson: "new person"
            case .setPersonFields: "change to a person"
            case .addPlanItemUpdate: "plan update"
            case .resolveConflict: "conflict resolution"
            case .writeHandover: "handover"
            case .createConference: "referral"
            case .recordStage: "conference stage"
            case .setParticipant: "conference invitation"
            case .recordMeeting: "conference meeting"
            case .createPlan: "family plan"
            case .createFriction: "what got in the way"
            }
        }

        /// The key in `args` naming the record the write is addressed to, as the REST path would.
        package var target: String {
            switch self {
            case .recordContact, .createNote, .addPerson, .createConference: "familyId"
            case .amendNote, .withdrawNote, .refileNote, .changeNoteAudience: "noteId"
            case .correctContact, .withdrawContact: "contactId"
            case .setPersonFields: "personId"
            case .addPlanItemUpdate: "planItemId"
            case .resolveConflict: "conflictId"
            case .writeHandover: "allocationId"
            case .recordStage, .setParticipant, .recordMeeting, .createPlan: "conferenceId"
            // What got in the way is addressed to no record but itself: its own id, chosen on the device.
            case .createFriction: "id"
            }
        }
    }

    /// `args` that are not what their kind needs: the field at fault and why.
    package struct Malformed: Error, Sendable {
        package let field: String
        package let message: String
    }

    package var kind: Kind {
        switch self {
        case .recordContact: .recordContact
        case .correctContact: .correctContact
        case .withdrawContact: .withdrawContact
        case .createNote: .createNote
        case .amendNote: .amendNote
        case .withdrawNote: .withdrawNote
        case .refileNote: .refileNote
        case .changeNoteAudience: .changeNoteAudience
        case .addPerson: .addPerson
        case .setPersonFields: .setPersonFields
        case .addPlanItemUpdate: .addPlanItemUpdate
        case .resolveConflict: .resolveConflict
        case .writeHandover: .writeHandover
        case .createConference: .createConference
        case .recordStage: .recordStage
        case .setParticipant: .setParticipant
        case .recordMeeting: .recordMeeting
        case .createPlan: .createPlan
        case .createFriction: .createFriction
        }
    }

    /// Reads a pushed mutation; nil for a kind this build does not know. A body that does not decode throws the
    /// decoder's error (its coding path names the field).
    package init?(type: String, args: OpenAPIObjectContainer) throws {
        try self.init(type: type, json: try KithJSON.encoder().encode(args), argsUnder: nil)
    }

    /// Reads a pushed mutation from the JSON of its `args`, or of an object holding them under `argsUnder` (the
    /// server reads them from the bytes it hashes, in one pass), as `init(type:args:)` does.
    package init?(type: String, json: Data, argsUnder key: String?) throws {
        guard let kind = Kind(rawValue: type) else { return nil }
        let decoder = KithJSON.decoder()
        decoder.userInfo[Key.kind] = kind
        decoder.userInfo[Key.argsUnder] = key
        func addressed<Body: Decodable>(_: Body.Type = Body.self) throws -> (id: String, body: Body) {
            let read = try decoder.decode(Args<AddressedBody<Body>>.self, from: json).args
            guard let id = read.id, let body = read.body else { throw Malformed(field: "args.\(kind.target)", message: "is required") }
            return (id, body)
        }
        switch kind {
        case .recordContact: let (id, body) = try addressed(Components.Schemas.CreateContact.self); self = .recordContact(familyId: id, body)
        case .correctContact:
            let (id, body) = try addressed(Components.Schemas.CorrectContact.self); self = .correctContact(contactId: id, body)
        case .withdrawContact:
            let (id, body) = try addressed(Components.Schemas.WithdrawContact.self); self = .withdrawContact(contactId: id, body)
        case .createNote: let (id, body) = try addressed(Components.Schemas.CreateNote.self); self = .createNote(familyId: id, body)
        case .amendNote: let (id, body) = try addressed(Components.Schemas.CreateAmendment.self); self = .amendNote(noteId: id, body)
        case .withdrawNote: let (id, body) = try addressed(Components.Schemas.WithdrawNote.self); self = .withdrawNote(noteId: id, body)
        case .refileNote: let (id, body) = try addressed(Components.Schemas.RefileNote.self); self = .refileNote(noteId: id, body)
        case .changeNoteAudience:
            let (id, body) = try addressed(Components.Schemas.ChangeAudience.self); self = .changeNoteAudience(noteId: id, body)
        case .addPerson: let (id, body) = try addressed(Components.Schemas.CreatePerson.self); self = .addPerson(familyId: id, body)
        case .setPersonFields:
            let (id, body) = try addressed(Components.Schemas.UpdatePerson.self); self = .setPersonFields(personId: id, body)
        case .addPlanItemUpdate:
            let (id, body) = try addressed(Components.Schemas.CreatePlanItemUpdate.self); self = .addPlanItemUpdate(planItemId: id, body)
        case .resolveConflict:
            let (id, body) = try addressed(ChosenValue.self); self = .resolveConflict(conflictId: id, value: body.value)
        case .writeHandover:
            let (id, body) = try addressed(Components.Schemas.WriteHandover.self); self = .writeHandover(allocationId: id, body)
        case .createConference:
            let (id, body) = try addressed(Components.Schemas.CreateConference.self); self = .createConference(familyId: id, body)
        case .recordStage: let (id, body) = try addressed(Components.Schemas.StageChange.self); self = .recordStage(conferenceId: id, body)
        case .setParticipant:
            let (id, body) = try addressed(Components.Schemas.SetParticipant.self); self = .setParticipant(conferenceId: id, body)
        case .recordMeeting:
            let (id, body) = try addressed(Components.Schemas.RecordMeeting.self); self = .recordMeeting(conferenceId: id, body)
        case .createPlan: let (id, body) = try addressed(Components.Schemas.CreatePlan.self); self = .createPlan(conferenceId: id, body)
        case .createFriction:
            let (id, body) = try addressed(Components.Schemas.CreateFriction.self); self = .createFriction(frictionId: id, body)
        }
    }

    /// The id the write is addressed to (a family, contact, note, person, plan item, conflict, allocation or conference;
    /// a friction's own).
    package var targetId: String {
        switch self {
        case .recordContact(let id, _), .correctContact(let id, _), .withdrawContact(let id, _), .createNote(let id, _), .amendNote(let id, _), .withdrawNote(let id, _), .refileNote(let id, _), .changeNoteAudience(let id, _),
             .addPerson(let id, _),
             .setPersonFields(let id, _), .addPlanItemUpdate(let id, _), .resolveConflict(let id, _), .writeHandover(let id, _),
             .createConference(let id, _), .recordStage(let id, _), .setParticipant(let id, _), .recordMeeting(let id, _),
             .createPlan(let id, _), .createFriction(let id, _): id
        }
    }

    /// The mutation's `args` as the wire carries them.
    package func args() throws -> OpenAPIObjectContainer {
        let body: any Encodable = switch self {
        case .recordContact(_, let body): body
        case .correctContact(_, let body): body
        case .withdrawContact(_, let body): body
        case .createNote(_, let body): body
        case .amendNote(_, let body): body
        case .withdrawNote(_, let body): body
        case .refileNote(_, let body): body
        case .changeNoteAudience(_, let body): body
        case .addPerson(_, let body): body
        case .setPersonFields(_, let body): body
        case .addPlanItemUpdate(_, let body): body
        case .resolveConflict(_, let value): ["value": value]
        case .writeHandover(_, let body): body
        case .createConference(_, let body): body
        case .recordStage(_, let body): body
        case .setParticipant(_, let body): body
        case .recordMeeting(_, let body): body
        case .createPlan(_, let body): body
        case .createFriction(_, let body): body
        }
        let data = try KithJSON.encoder().encode(Addressed(key: kind.target, id: targetId, body: body))
        return try KithJSON.decoder().decode(OpenAPIObjectContainer.self, from: data)
    }

    /// `args` themselves, or the member of the object around them that holds them.
    private struct Args<Inner: Decodable>: Decodable {
        let args: Inner

        init(from decoder: any Decoder) throws {
            guard let key = decoder.userInfo[Key.argsUnder] as? String else {
                args = try Inner(from: decoder)
                return
            }
            args = try decoder.container(keyedBy: Key.self).decode(Inner.self, forKey: Key(key))
        }
    }

    /// The addressed id under the key its kind uses and the body beside it, read in one pass; no body is read when the
    /// id is missing, which is the fault then reported.
    private struct AddressedBody<Body: Decodable>: Decodable {
        let id: String?
        let body: Body?

        init(from decoder: any Decoder) throws {
            let kind = decoder.userInfo[Key.kind] as! Kind
            id = try decoder.container(keyedBy: Key.self).decodeIfPresent(String.self, forKey: Key(kind.target))
            body = id == nil ? nil : try Body(from: decoder)
        }
    }

    /// A conflict's chosen value, the one body that is not a REST body.
    private struct ChosenValue: Decodable {
        let value: String?
    }

    /// A body with the addressed id beside its own fields, in one object.
    private struct Addressed: Encodable {
        let key: String
        let id: String
        let body: any Encodable

        func encode(to encoder: any Encoder) throws {
            try body.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(id, forKey: Key(key))
        }
    }

    private struct Key: CodingKey {
        static let kind = CodingUserInfoKey(rawValue: "kith.mutationKind")!
        static let argsUnder = CodingUserInfoKey(rawValue: "kith.argsUnder")!
        let stringValue: String
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
}
