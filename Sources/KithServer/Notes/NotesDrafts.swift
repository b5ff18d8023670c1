import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// A new note, checked: only sizes are limited and attribution comes from the writer, never from the body.
struct NewNote: Sendable {
    let id: UUID
    let revisionId: UUID
    let familyId: UUID
    let contactId: UUID?
    let body: Components.Schemas.CreateNote

    init(familyId: UUID, _ body: Components.Schemas.CreateNote) throws {
        var check = Validation()
        id = check.uuid("id", body.id) ?? UUID()
        revisionId = check.uuid("revisionId", body.revisionId) ?? UUID()
        contactId = check.uuid("contactId", body.contactId)
        check.text("body", body.body, max: 65_536)
        check.sections(body.sections)
        try check.orThrow()
        self.familyId = familyId
        self.body = body
    }

    /// The note as the API shows it once written: its one revision is current.
    func written(by author: UUID, at createdAt: Date, origin: WriteOrigin) -> Components.Schemas.JudgmentNote {
        let sections = body.sections
        let revision = Components.Schemas.NoteRevision(
            id: revisionId.text, number: 1, body: body.body,
            sections: .init(
                observed: sections?.observed.nilIfBlank, analysis: sections?.analysis.nilIfBlank, decision: sections?.decision.nilIfBlank,
                familyWords: sections?.familyWords.nilIfBlank, nextSteps: sections?.nextSteps.nilIfBlank),
            authorId: author.text, createdAt: createdAt, concurrent: false)
        return .init(
            id: id.text, familyId: familyId.text, contactId: contactId?.text, audience: body.audience ?? .professional,
            writtenWithFamily: body.writtenWithFamily ?? false, authorId: author.text, createdAt: createdAt,
            current: revision, revisions: [revision], concurrent: false, lateAfterReallocation: origin.lateAfterReallocation,
            deviceRecordedAt: origin.deviceRecordedAt, clockSuspect: origin.clockSuspect)
    }
}

/// An amendment, checked: it names the revision its author saw and says why.
struct NoteAmendment: Sendable {
    let id: UUID
    let noteId: UUID
    let supersedes: UUID
    let body: Components.Schemas.CreateAmendment

    init(noteId: UUID, _ body: Components.Schemas.CreateAmendment) throws {
        var check = Validation()
        id = check.uuid("id", body.id) ?? UUID()
        let supersedes = check.uuid("supersedes", body.supersedes)
        check.text("body", body.body, max: 65_536)
        check.sections(body.sections)
        check.requiredText("reason", body.reason, max: 500)
        try check.orThrow()
        self.noteId = noteId
        self.supersedes = supersedes!
        self.body = body
    }
}

/// A note withdrawn as filed in error, and why (`POST /v1/notes/{id}/withdraw`, or `note.withdraw` by sync).
struct NoteWithdrawal: Sendable {
    let noteId: UUID
    let reason: String

    init(noteId: UUID, _ body: Components.Schemas.WithdrawNote) throws {
        var check = Validation()
        check.requiredText("reason", body.reason, max: 2000)
        try check.orThrow()
        self.noteId = noteId
        self.reason = body.reason
    }
}

/// A note's audience changed, and why (`POST /v1/notes/{id}/audience`).
struct AudienceChange: Sendable {
    let noteId: UUID
    let audience: Components.Schemas.Audience
    let reason: String

    init(noteId: UUID, _ body: Components.Schemas.ChangeAudience) throws {
        var check = Validation()
        check.requiredText("reason", body.reason, max: 2000)
        try check.orThrow()
        self.noteId = noteId
        self.audience = body.audience
        self.reason = body.reason
    }
}

/// A note filed on the wrong family, to be refiled on `familyId` (`POST /v1/notes/{id}/refile`).
struct NoteRefiling: Sendable {
    /// The new note's.
    let id: UUID
    let noteId: UUID
    let familyId: UUID
    let reason: String

    init(noteId: UUID, _ body: Components.Schemas.RefileNote) throws {
        var check = Validation()
        id = check.uuid("id", body.id) ?? UUID()
        let familyId = check.uuid("familyId", body.familyId)
        check.requiredText("reason", body.reason, max: 2000)
        try check.orThrow()
        self.noteId = noteId
        self.familyId = familyId!
        self.reason = body.reason
    }
}

extension Validation {
    mutating func sections(_ sections: Components.Schemas.NoteSections?) {
        guard let sections else { return }
        text("sections.observed", sections.observed, max: 65_536)
        text("sections.analysis", sections.analysis, max: 65_536)
        text("sections.decision", sections.decision, max: 65_536)
        text("sections.familyWords", sections.familyWords, max: 65_536)
        text("sections.nextSteps", sections.nextSteps, max: 65_536)
    }
}
