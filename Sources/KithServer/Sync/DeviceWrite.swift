import Foundation
import KithAPI
import KithCore
import Logging
import OpenAPIRuntime
import PostgresNIO

/// A pushed mutation read as the write it asks for. Its `args` are the matching REST body plus the id the REST path
/// would carry, and pass the same checks as that body.
enum DeviceWrite: Sendable {
    case contact(NewContact)
    case note(NewNote)
    case amendment(NoteAmendment)
    case person(NewPerson)
    case fields(personId: UUID, [PersonFieldEdit])
    case planItemUpdate(NewPlanItemUpdate)
    case resolveConflict(conflictId: UUID, value: String?)

    /// The ids a mutation's `args` may address, beside the body.
    private struct Target: Decodable {
        var familyId: String?
        var noteId: String?
        var personId: String?
        var planItemId: String?
        var conflictId: String?
        var value: String?

        func id(_ key: KeyPath<Target, String?>, _ name: String) throws -> UUID {
            guard let text = self[keyPath: key], let id = UUID(uuidString: text) else {
                throw KithError.invalidField("args.\(name)", "must be a UUID")
            }
            return id
        }
    }

    init(type: String, args: OpenAPIObjectContainer) throws {
        let data = try JSONEncoder().encode(args)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let target = try decoder.decode(Target.self, from: data)
        func body<Body: Decodable>(_: Body.Type) throws -> Body { try decoder.decode(Body.self, from: data) }
        switch type {
        case "contact.record":
            self = .contact(try NewContact(familyId: try target.id(\.familyId, "familyId"), body(Components.Schemas.CreateContact.self)))
        case "note.create":
            self = .note(try NewNote(familyId: try target.id(\.familyId, "familyId"), body(Components.Schemas.CreateNote.self)))
        case "note.amend":
            self = .amendment(try NoteAmendment(noteId: try target.id(\.noteId, "noteId"), body(Components.Schemas.CreateAmendment.self)))
        case "person.add":
            self = .person(try NewPerson(familyId: try target.id(\.familyId, "familyId"), body(Components.Schemas.CreatePerson.self)))
        case "person.setFields":
            let edits = try PersonFieldEdit.all(from: body(Components.Schemas.UpdatePerson.self).fields)
            self = .fields(personId: try target.id(\.personId, "personId"), edits)
        case "planItem.addUpdate":
            self = .planItemUpdate(try NewPlanItemUpdate(
                planItemId: try target.id(\.planItemId, "planItemId"), body(Components.Schemas.CreatePlanItemUpdate.self)))
        case "conflict.resolve":
            var check = Validation()
            check.text("args.value", target.value, max: 1000)
            try check.orThrow()
            self = .resolveConflict(conflictId: try target.id(\.conflictId, "conflictId"), value: target.value)
        default:
            throw KithError.invalidField("type", "is not a mutation this server knows")
        }
    }

    /// Notes, amendments and contacts record practice that happened: they are kept even when the family was
    /// reallocated while the device was offline. Other edits under an ended grant become proposals.
    var recordsPractice: Bool {
        switch self {
        case .contact, .note, .amendment: true
        case .person, .fields, .planItemUpdate, .resolveConflict: false
        }
    }

    /// The family the write is about (404 if the addressed record does not exist in the organisation).
    func familyId(in records: Records) async throws -> UUID? {
        switch self {
        case .contact(let contact): contact.familyId
        case .note(let note): note.familyId
        case .person(let person): person.familyId
        case .amendment(let amendment): try await records.familyOf(.notes, id: amendment.noteId)
        case .fields(let personId, _): try await records.familyOf(.people, id: personId)
        case .planItemUpdate(let update):
            try await records.familyOf(.planItems, id: update.planItemId)
        case .resolveConflict: nil
        }
    }
}
