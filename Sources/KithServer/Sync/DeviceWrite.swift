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
    case contactCorrection(ContactCorrection)
    case contactWithdrawal(ContactWithdrawal)
    case note(NewNote)
    case amendment(NoteAmendment)
    case withdrawal(NoteWithdrawal)
    case refiling(NoteRefiling)
    case audience(AudienceChange)
    case person(NewPerson)
    case fields(personId: UUID, [PersonFieldEdit])
    case planItemUpdate(NewPlanItemUpdate)
    case resolveConflict(conflictId: UUID, value: String?)
    case handover(NewHandover)
    case conference(NewConference)
    case stage(NewStage)
    case participant(ParticipantChange)
    case meeting(NewMeeting)
    case plan(NewPlan)
    case friction(NewFriction)

    /// The write a pushed mutation asks for, its `args` checked as the REST body and path would be.
    init(type: String, args: OpenAPIObjectContainer) throws {
        try self.init { try DeviceMutation(type: type, args: args) }
    }

    /// The same from the JSON holding the mutation's `args` under `argsUnder` (`DeviceMutation.init(type:json:argsUnder:)`).
    init(type: String, json: Data, argsUnder key: String) throws {
        try self.init { try DeviceMutation(type: type, json: json, argsUnder: key) }
    }

    private init(reading read: () throws -> DeviceMutation?) throws {
        let mutation: DeviceMutation
        do {
            guard let known = try read() else {
                throw KithError.invalidField("type", "is not a mutation this server knows")
            }
            mutation = known
        } catch let malformed as DeviceMutation.Malformed {
            throw KithError.invalidField(malformed.field, malformed.message)
        }
        func id(_ text: String) throws -> UUID {
            guard let id = UUID(uuidString: text) else { throw KithError.invalidField("args.\(mutation.kind.target)", "must be a UUID") }
            return id
        }
        switch mutation {
        case .recordContact(let familyId, let body): self = .contact(try NewContact(familyId: try id(familyId), body))
        case .correctContact(let contactId, let body):
            self = .contactCorrection(try ContactCorrection(contactId: try id(contactId), body))
        case .withdrawContact(let contactId, let body):
            self = .contactWithdrawal(try ContactWithdrawal(contactId: try id(contactId), body))
        case .createNote(let familyId, let body): self = .note(try NewNote(familyId: try id(familyId), body))
        case .amendNote(let noteId, let body): self = .amendment(try NoteAmendment(noteId: try id(noteId), body))
        case .withdrawNote(let noteId, let body): self = .withdrawal(try NoteWithdrawal(noteId: try id(noteId), body))
        case .refileNote(let noteId, let body): self = .refiling(try NoteRefiling(noteId: try id(noteId), body))
        case .changeNoteAudience(let noteId, let body): self = .audience(try AudienceChange(noteId: try id(noteId), body))
        case .addPerson(let familyId, let body): self = .person(try NewPerson(familyId: try id(familyId), body))
        case .setPersonFields(let personId, let body):
            self = .fields(personId: try id(personId), try PersonFieldEdit.all(from: body.fields))
        case .addPlanItemUpdate(let planItemId, let body):
            self = .planItemUpdate(try NewPlanItemUpdate(planItemId: try id(planItemId), body))
        case .resolveConflict(let conflictId, let value):
            var check = Validation()
            check.text("args.value", value, max: 1000)
            try check.orThrow()
            self = .resolveConflict(conflictId: try id(conflictId), value: value)
        case .writeHandover(let allocationId, let body):
            self = .handover(try NewHandover(allocationId: try id(allocationId), body))
        case .createConference(let familyId, let body): self = .conference(try NewConference(familyId: try id(familyId), body))
        case .recordStage(let conferenceId, let body): self = .stage(try NewStage(conferenceId: try id(conferenceId), body))
        case .setParticipant(let conferenceId, let body):
            self = .participant(try ParticipantChange(conferenceId: try id(conferenceId), body))
        case .recordMeeting(let conferenceId, let body): self = .meeting(try NewMeeting(conferenceId: try id(conferenceId), body))
        case .createPlan(let conferenceId, let body): self = .plan(try NewPlan(conferenceId: try id(conferenceId), body))
        case .createFriction(let frictionId, var body):
            body.id = try id(frictionId).text
            self = .friction(try NewFriction(body))
        }
    }

    /// Notes, amendments, contacts, handovers and what happened in a conference (a referral, its stages, meetings and
    /// the plan agreed) record practice that happened, and what got in the way of it: they are kept even when the family
    /// was reallocated while the device was offline. Other edits under an ended grant (a withdrawal, refiling or correction among them) become
    /// proposals.
    var recordsPractice: Bool {
        switch self {
        case .contact, .note, .amendment, .handover, .conference, .stage, .meeting, .plan, .friction: true
        case .person, .fields, .planItemUpdate, .resolveConflict, .participant, .withdrawal, .refiling, .audience,
             .contactCorrection, .contactWithdrawal: false
        }
    }

    /// The family the write is about (404 if the addressed record does not exist in the organisation).
    func familyId(in records: Records) async throws -> UUID? {
        switch self {
        case .contact(let contact): contact.familyId
        case .contactCorrection(let correction): try await records.familyOf(.contacts, id: correction.contactId)
        case .contactWithdrawal(let withdrawal): try await records.familyOf(.contacts, id: withdrawal.contactId)
        case .note(let note): note.familyId
        case .person(let person): person.familyId
        case .amendment(let amendment): try await records.familyOf(.notes, id: amendment.noteId)
        case .withdrawal(let withdrawal): try await records.familyOf(.notes, id: withdrawal.noteId)
        case .refiling(let refiling): try await records.familyOf(.notes, id: refiling.noteId)
        case .audience(let change): try await records.familyOf(.notes, id: change.noteId)
        case .fields(let personId, _): try await records.familyOf(.people, id: personId)
        case .planItemUpdate(let update):
            try await records.familyOf(.planItems, id: update.planItemId)
        case .handover(let handover): try await records.familyOf(.allocations, id: handover.allocationId)
        case .conference(let conference): conference.familyId
        case .stage(let stage): try await records.familyOf(.conferences, id: stage.conferenceId)
        case .participant(let change): try await records.familyOf(.conferences, id: change.conferenceId)
        case .meeting(let meeting): try await records.familyOf(.conferences, id: meeting.conferenceId)
        case .plan(let plan): try await records.familyOf(.conferences, id: plan.conferenceId)
        case .friction(let friction): friction.familyId
        case .resolveConflict: nil
        }
    }
}
