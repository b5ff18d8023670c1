import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// A note's `POST` is one statement that writes the note, its first revision and its audit event
/// (`kith_write_notes`, db/functions/), or nothing.
extension Operations.CreateNote: WorksInOneStatement {}

/// Judgment notes are append-only: an amendment is a new revision naming the revision it supersedes and why.
/// Two amendments of the same revision are both kept and flagged concurrent, for a person to reconcile.
/// There is no delete: a retraction is an amendment, and a note filed in error is withdrawn, a fact beside it.
extension KithService {
    func createNote(_ input: Operations.CreateNote.Input) async throws -> Operations.CreateNote.Output {
        let body = switch input.body { case .json(let body): body }
        let draft = try NewNote(familyId: try UUID(path: input.path.familyId), body)
        let written = try await inOneStatement(Operations.CreateNote.self, NotesWrite.self, family: draft.familyId, for: .write) { principal, access, acting in
            try NotesWrite.statement([(draft, access, .online)], as: acting, device: principal.deviceId)
        }
        guard let createdAt = try written.first?.decode(Date?.self) else {
            throw try await records { records in try await records.refusal(of: draft) }
        }
        return .created(.init(body: .json(draft.written(by: try Principal.required().workerId, at: createdAt, origin: .online))))
    }

    func amendNote(_ input: Operations.AmendNote.Input) async throws -> Operations.AmendNote.Output {
        let body = switch input.body { case .json(let body): body }
        let amendment = try NoteAmendment(noteId: try UUID(path: input.path.noteId), body)
        let note = try await records { records in
            let familyId = try await records.familyOf(.notes, id: amendment.noteId)
            let access = try await records.access(familyId, for: .write)
            try await records.save(amendment, access: access)
            return try await records.notes(of: [access], only: [amendment.noteId])[0]
        }
        return .created(.init(body: .json(note)))
    }

    func withdrawNote(_ input: Operations.WithdrawNote.Input) async throws -> Operations.WithdrawNote.Output {
        let body = switch input.body { case .json(let body): body }
        let withdrawal = try NoteWithdrawal(noteId: try UUID(path: input.path.noteId), body)
        let note = try await records { records in
            let familyId = try await records.familyOf(.notes, id: withdrawal.noteId)
            let access = try await records.access(familyId, for: .write)
            let views = try await records.save(withdrawal, access: access)
            var note = try await records.notes(of: [access], only: [withdrawal.noteId])[0]
            note.familyPageViews = views.isEmpty ? nil : views
            return note
        }
        return .ok(.init(body: .json(note)))
    }

    func refileNote(_ input: Operations.RefileNote.Input) async throws -> Operations.RefileNote.Output {
        let body = switch input.body { case .json(let body): body }
        let refiling = try NoteRefiling(noteId: try UUID(path: input.path.noteId), body)
        let note = try await records { records in
            let from = try await records.access(try await records.familyOf(.notes, id: refiling.noteId), for: .write)
            let to = try await records.access(refiling.familyId, for: .write)
            let (id, views) = try await records.save(refiling, from: from, to: to)
            var note = try await records.notes(of: [to], only: [id])[0]
            note.familyPageViews = views.isEmpty ? nil : views
            return note
        }
        return .created(.init(body: .json(note)))
    }

    func changeNoteAudience(_ input: Operations.ChangeNoteAudience.Input) async throws -> Operations.ChangeNoteAudience.Output {
        let body = switch input.body { case .json(let body): body }
        let change = try AudienceChange(noteId: try UUID(path: input.path.noteId), body)
        let note = try await records { records in
            let access = try await records.access(try await records.familyOf(.notes, id: change.noteId), for: .write)
            let views = try await records.save(change, access: access)
            var note = try await records.notes(of: [access], only: [change.noteId])[0]
            note.familyPageViews = views.isEmpty ? nil : views
            return note
        }
        return .ok(.init(body: .json(note)))
    }

    func getNote(_ input: Operations.GetNote.Input) async throws -> Operations.GetNote.Output {
        let noteId = try UUID(path: input.path.noteId)
        let note = try await records { records in
            let familyId = try await records.familyOf(.notes, id: noteId)
            let access = try await records.access(familyId, for: .read)
            guard let note = try await records.notes(of: [access], only: [noteId]).first
            else { throw KithError.notFound }
            try await records.audit(.read, "note", recordId: noteId, access: access, restricted: note.audience == .restricted)
            return note
        }
        return .ok(.init(body: .json(note)))
    }
}
