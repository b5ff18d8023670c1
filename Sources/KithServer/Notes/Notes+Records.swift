import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension Records {
    /// A new note and its first revision, audited, in the caller's transaction (one statement), as the API shows it.
    func save(_ note: NewNote, access: FamilyAccess, origin: WriteOrigin) async throws -> Components.Schemas.JudgmentNote {
        guard let createdAt = try await save([(note, access, origin)]) else { throw try await refusal(of: note) }
        return note.written(by: principal.workerId, at: createdAt, origin: origin)
    }

    /// Many new notes at once, each with its first revision and its audit event, in one statement (`NotesWrite`): a
    /// device's week of notes costs one round trip instead of three a note. Nil when a note is not new or names a contact
    /// that is not its family's: nothing was written, and the caller writes them one by one, so that each refusal is
    /// the note's own. Otherwise: when they were written (the transaction's time, every note's `createdAt`).
    func save(_ notes: [NotesWrite.Entry]) async throws -> Date? {
        try await query(NotesWrite.self, try NotesWrite.statement(notes, as: principal.acting, device: principal.deviceId))
            .first?.decode(Date?.self) ?? nil
    }

    /// Why `note` was not written: the contact it names is not one of its family's, or it or its revision exists.
    func refusal(of note: NewNote) async throws -> KithError {
        if note.contactId != nil {
            let found = try await query(
                """
                SELECT count(*) FROM contacts
                WHERE organisation_id = \(principal.organisationId) AND family_id = \(note.familyId) AND id = \(note.contactId)
                """).decode(Int.self).first { _ in true }
            guard found == 1 else { return KithError.invalidField("contactId", "is not a contact with this family") }
        }
        return KithError.conflict("conflict", "A note or revision with this id already exists.")
    }

    /// Adds a revision. Amendments of one note are serialised so revision numbers stay dense; concurrency is still
    /// recorded, because both amendments name the revision they saw.
    func save(_ amendment: NoteAmendment, access: FamilyAccess) async throws {
        try await query("SELECT pg_advisory_xact_lock(hashtextextended(\(amendment.noteId.text), 0))")
        // A restricted note the amender may not read is, to them, no note at all.
        let revisions = try await query(
            """
            SELECT r.id FROM note_revisions r
            JOIN current_notes n ON n.organisation_id = r.organisation_id AND n.id = r.note_id
            WHERE r.organisation_id = \(principal.organisationId) AND r.note_id = \(amendment.noteId)
              AND kith_note_readable(n.audience, n.author_id, \(principal.workerId), \(access.seesRestricted))
            ORDER BY r.number
            """).collect().map { try $0.decode(UUID.self) }
        guard !revisions.isEmpty else { throw KithError.notFound }
        let withdrawn = try await query(
            "SELECT count(*) FROM note_withdrawals WHERE organisation_id = \(principal.organisationId) AND note_id = \(amendment.noteId)"
        ).decode(Int.self).first { _ in true } ?? 0
        guard withdrawn == 0 else { throw KithError.conflict("note_withdrawn", "This note was withdrawn: it takes no amendment.") }
        guard revisions.contains(amendment.supersedes) else {
            throw KithError.invalidField("supersedes", "is not a revision of this note")
        }
        try await insertRevision(
            id: amendment.id, noteId: amendment.noteId, familyId: access.familyId, number: revisions.count + 1,
            supersedes: amendment.supersedes, body: amendment.body.body, sections: amendment.body.sections,
            reason: amendment.body.reason)
        try await audit(.write, "note", recordId: amendment.noteId, access: access)
    }
}

extension Records {
    /// The note a correction is about, as the caller may correct it (`FamilyAccess.mayCorrect`): its audience now and
    /// whether it was withdrawn. Corrections of one note are serialised, as its amendments are. A restricted note the
    /// caller may not read is, to them, no note at all.
    private func correctable(_ noteId: UUID, access: FamilyAccess) async throws -> (audience: String, withdrawn: Bool) {
        try await query("SELECT pg_advisory_xact_lock(hashtextextended(\(noteId.text), 0))")
        let rows = try await query(
            """
            SELECT n.author_id, n.audience, nw.note_id IS NOT NULL FROM current_notes n
            LEFT JOIN note_withdrawals nw ON nw.organisation_id = n.organisation_id AND nw.note_id = n.id
            WHERE n.organisation_id = \(principal.organisationId) AND n.id = \(noteId)
              AND kith_note_readable(n.audience, n.author_id, \(principal.workerId), \(access.seesRestricted))
            """)
        guard let (author, audience, withdrawn) = try await rows.decode((UUID, String, Bool).self).first(where: { _ in true }) else {
            throw KithError.notFound
        }
        guard access.mayCorrect(recordBy: author, caller: principal.workerId) else {
            throw KithError.forbidden("Only the note's author or the family's supervisors correct a note.")
        }
        return (audience, withdrawn)
    }

    /// Withdraws a note filed in error, once, with its audit event, and opens a data incident when it was written for
    /// the family and shown on their page: those views.
    @discardableResult
    func save(_ withdrawal: NoteWithdrawal, access: FamilyAccess) async throws -> [Components.Schemas.FamilyPageView] {
        let noteId = withdrawal.noteId
        let (audience, withdrawn) = try await correctable(noteId, access: access)
        guard !withdrawn else { throw KithError.conflict("already_withdrawn", "This note was withdrawn already.") }
        try await query(
            """
            INSERT INTO note_withdrawals (organisation_id, note_id, family_id, reason, withdrawn_by)
            VALUES (\(principal.organisationId), \(noteId), \(access.familyId), \(withdrawal.reason), \(principal.workerId))
            """)
        try await audit(
            .write, "noteWithdrawal", recordId: noteId, access: access, restricted: audience == "restricted", reason: withdrawal.reason)
        return audience == FamilyMember.noteAudience ? try await openIncident(about: noteId, access: access) : []
    }

    /// A note's audience changed, with its audit event; taken off the family's page after someone there saw it, a data
    /// incident is opened: those views.
    func save(_ change: AudienceChange, access: FamilyAccess) async throws -> [Components.Schemas.FamilyPageView] {
        let (audience, withdrawn) = try await correctable(change.noteId, access: access)
        guard !withdrawn else { throw KithError.conflict("note_withdrawn", "This note was withdrawn: its audience stays as it was.") }
        guard audience != change.audience.rawValue else {
            throw KithError.conflict("audience_unchanged", "The note's audience is \(audience) already.")
        }
        try await query(
            """
            INSERT INTO note_audience_changes (organisation_id, id, note_id, family_id, audience, reason, changed_by)
            VALUES (\(principal.organisationId), \(UUID()), \(change.noteId), \(access.familyId), \(change.audience.rawValue),
                    \(change.reason), \(principal.workerId))
            """)
        try await audit(
            .write, "noteAudience", recordId: change.noteId, access: access,
            restricted: audience == "restricted" || change.audience == .restricted, reason: "\(audience) → \(change.audience.rawValue): \(change.reason)")
        let leftThePage = audience == FamilyMember.noteAudience && change.audience.rawValue != FamilyMember.noteAudience
        return leftThePage ? try await openIncident(about: change.noteId, access: access) : []
    }

    /// Refiles a note on the family it belongs to: the original withdrawn (`refiled`) with the same checks as any
    /// withdrawal, and a new note in `to` with every revision copied, each keeping its author and time. The new note's
    /// id, and the views of the wrong family's page that showed the original (a data incident is open for them).
    func save(
        _ refiling: NoteRefiling, from: FamilyAccess, to: FamilyAccess
    ) async throws -> (id: UUID, views: [Components.Schemas.FamilyPageView]) {
        guard to.familyId != from.familyId else {
            throw KithError.conflict("already_filed_there", "The note is filed on that family already.")
        }
        let views = try await save(try NoteWithdrawal(noteId: refiling.noteId, .init(reason: "refiled")), access: from)
        let id = refiling.id
        let org = principal.organisationId
        try await connection.insertNew(
            """
            INSERT INTO notes (organisation_id, id, family_id, contact_id, audience, written_with_family, author_id, created_at,
                               device_recorded_at, source_device_id, late_after_reallocation, clock_suspect, refiled_from)
            SELECT organisation_id, \(id), \(to.familyId), NULL, audience, written_with_family, author_id, created_at,
                   device_recorded_at, source_device_id, late_after_reallocation, clock_suspect, id
            FROM current_notes WHERE organisation_id = \(org) AND id = \(refiling.noteId)
            """, record: "note", logger: logger)
        // Each revision gets an id of its own, and names the copy of the revision it superseded.
        try await query(
            """
            WITH copied AS (
                SELECT r.id AS original, gen_random_uuid() AS copy FROM note_revisions r
                WHERE r.organisation_id = \(org) AND r.note_id = \(refiling.noteId)
            )
            INSERT INTO note_revisions (organisation_id, id, note_id, family_id, number, supersedes, body, observed, analysis,
                                        decision, family_words, next_steps, reason, author_id, created_at)
            SELECT r.organisation_id, c.copy, \(id), \(to.familyId), r.number, s.copy, r.body, r.observed, r.analysis,
                   r.decision, r.family_words, r.next_steps, r.reason, r.author_id, r.created_at
            FROM note_revisions r JOIN copied c ON c.original = r.id LEFT JOIN copied s ON s.original = r.supersedes
            ORDER BY r.number
            """)
        let restricted = try await query(
            "SELECT audience = 'restricted' FROM current_notes WHERE organisation_id = \(org) AND id = \(id)"
        ).decode(Bool.self).first { _ in true } ?? false
        try await audit(.write, "noteRefiled", recordId: id, access: to, restricted: restricted, reason: refiling.reason)
        return (id, views)
    }

    func insertRevision(
        id: UUID, noteId: UUID, familyId: UUID, number: Int, supersedes: UUID?, body: String,
        sections: Components.Schemas.NoteSections?, reason: String?
    ) async throws {
        try await connection.insertNew(
            """
            INSERT INTO note_revisions (organisation_id, id, note_id, family_id, number, supersedes, body, observed,
                                        analysis, decision, family_words, next_steps, reason, author_id)
            VALUES (\(principal.organisationId), \(id), \(noteId), \(familyId), \(number), \(supersedes), \(body),
                    \(sections?.observed.nilIfBlank), \(sections?.analysis.nilIfBlank), \(sections?.decision.nilIfBlank),
                    \(sections?.familyWords.nilIfBlank), \(sections?.nextSteps.nilIfBlank), \(reason), \(principal.workerId))
            """, record: "revision", logger: logger)
    }

    /// A family's notes with every revision, withdrawn ones marked; restricted notes only for those who may see them
    /// and their author (the same rule as the timeline's).
    func notes(
        of families: [FamilyAccess], only noteIds: [UUID]? = nil
    ) async throws -> [Components.Schemas.JudgmentNote] {
        var revisions: [UUID: [Components.Schemas.NoteRevision]] = [:]
        let revisionRows = try await query(
            NoteRevisionsRead.self,
            """
            SELECT \(unescaped: NoteRevisionRow.columns)
            FROM note_revisions r
            WHERE r.organisation_id = \(principal.organisationId) AND r.family_id = ANY(\(families.map(\.familyId)))
              AND (\(noteIds)::uuid[] IS NULL OR r.note_id = ANY(\(noteIds)::uuid[]))
            ORDER BY r.note_id, r.number
            """)
        for row in revisionRows {
            let (note, revision) = try NoteRevisionRow.decode(row)
            revisions[note, default: []].append(revision)
        }

        let rows = try await query(
            NotesRead.self,
            """
            SELECT \(unescaped: NoteRow.columns)
            FROM current_notes n
            LEFT JOIN note_withdrawals nw ON nw.organisation_id = n.organisation_id AND nw.note_id = n.id
            LEFT JOIN notes rf ON rf.organisation_id = n.organisation_id AND rf.id = n.refiled_from
            WHERE n.organisation_id = \(principal.organisationId) AND n.family_id = ANY(\(families.map(\.familyId)))
              AND (\(noteIds)::uuid[] IS NULL OR n.id = ANY(\(noteIds)::uuid[]))
              AND kith_note_readable(n.audience, n.author_id, \(principal.workerId),
                                     n.family_id = ANY(\(families.filter(\.seesRestricted).map(\.familyId))))
            ORDER BY n.created_at, n.id
            """)
        var notes: [Components.Schemas.JudgmentNote] = []
        for row in rows {
            if let note = try NoteRow.decode(row, revisions: revisions) { notes.append(note) }
        }
        return notes
    }
}

/// A revision of a note as `notes(of:)` reads it, with whether another revision superseded the same one (two amendments
/// made apart).
enum NoteRevisionRow {
    static let columns = """
        r.note_id, r.id, r.number, r.supersedes, r.body, r.observed, r.analysis, r.decision, r.family_words,
        r.next_steps, r.reason, r.author_id, r.created_at,
        r.supersedes IS NOT NULL AND EXISTS (
            SELECT 1 FROM note_revisions o
            WHERE o.organisation_id = r.organisation_id AND o.note_id = r.note_id
              AND o.supersedes = r.supersedes AND o.id <> r.id) AS concurrent
        """

    static func decode(_ row: PostgresRow) throws -> (note: UUID, revision: Components.Schemas.NoteRevision) {
        let row = row.makeRandomAccess()
        let revision = Components.Schemas.NoteRevision(
            id: try row.decode("id", as: UUID.self).text, number: try row.decode("number"),
            supersedes: try row.decode("supersedes", as: UUID?.self)?.text, body: try row.decode("body"),
            sections: .init(
                observed: try row.decode("observed"), analysis: try row.decode("analysis"), decision: try row.decode("decision"),
                familyWords: try row.decode("family_words"), nextSteps: try row.decode("next_steps")),
            reason: try row.decode("reason"), authorId: try row.decode("author_id", as: UUID.self).text,
            createdAt: try row.decode("created_at"), concurrent: try row.decode("concurrent"))
        return (try row.decode("note_id"), revision)
    }
}

/// A note as `notes(of:)` reads it; nil when none of its revisions was read.
enum NoteRow {
    static let columns = """
        n.id, n.family_id, n.contact_id, n.audience, n.written_with_family, n.author_id, n.created_at,
        n.late_after_reallocation, n.device_recorded_at, n.clock_suspect, nw.withdrawn_at, nw.withdrawn_by, nw.reason AS withdrawn_reason,
        n.refiled_from, rf.family_id AS refiled_from_family
        """

    static func decode(
        _ row: PostgresRow, revisions: [UUID: [Components.Schemas.NoteRevision]]
    ) throws -> Components.Schemas.JudgmentNote? {
        let row = row.makeRandomAccess()
        let id: UUID = try row.decode("id")
        guard let history = revisions[id], let current = history.last else { return nil }
        return .init(
            id: id.text, familyId: try row.decode("family_id", as: UUID.self).text,
            contactId: try row.decode("contact_id", as: UUID?.self)?.text,
            audience: .init(rawValue: try row.decode("audience")) ?? .professional,
            writtenWithFamily: try row.decode("written_with_family"), authorId: try row.decode("author_id", as: UUID.self).text,
            createdAt: try row.decode("created_at"), current: current, revisions: history,
            concurrent: history.contains(where: \.concurrent), lateAfterReallocation: try row.decode("late_after_reallocation"),
            deviceRecordedAt: try row.decode("device_recorded_at"), clockSuspect: try row.decode("clock_suspect"),
            withdrawn: try row.decode("withdrawn_at", as: Date?.self).map { at in
                .init(at: at, by: try row.decode("withdrawn_by", as: UUID.self).text, reason: try row.decode("withdrawn_reason"))
            },
            refiledFrom: try row.decode("refiled_from", as: UUID?.self).map { note in
                .init(noteId: note.text, familyId: try row.decode("refiled_from_family", as: UUID.self).text)
            })
    }
}

/// New notes, their first revisions and audit events, from a REST write (the request's one statement,
/// `KithService.inOneStatement`) or a run of pushed ones (in the push's transaction): `kith_write_notes`, behind the
/// wall `kith_acting_worker` enters or finds (`db/functions/`).
enum NotesWrite: HotStatement {
    typealias Entry = (note: NewNote, access: FamilyAccess, origin: WriteOrigin)

    static func statement(_ notes: [Entry], as acting: ActingWorker, device: UUID?) throws -> PostgresQuery {
        let entries = String(decoding: try encoder.encode(notes.map(Given.init)), as: UTF8.self)
        return """
            SELECT kith_write_notes(w.worker, \(device)::uuid, \(entries)::jsonb)
            FROM kith_acting_worker(\(acting.tokenHash)::bytea, \(Database.preparesStatements), \(acting.worker)::uuid) AS w(worker)
            """
    }

    private static let encoder = JSONStreamEncoder()

    /// A note as `kith_write_notes` reads it, its keys the columns the function names.
    private struct Given: Encodable {
        let id, revision_id, family_id: UUID
        let contact_id: UUID?
        let audience: String
        let with_family: Bool
        let recorded_at: Double?
        let clock_suspect, late: Bool
        let body: String
        let observed, analysis, decision, family_words, next_steps: String?
        let break_glass: Bool

        init(_ entry: Entry) {
            let (note, sections) = (entry.note, entry.note.body.sections)
            (id, revision_id, family_id, contact_id) = (note.id, note.revisionId, note.familyId, note.contactId)
            audience = (note.body.audience ?? .professional).rawValue
            with_family = note.body.writtenWithFamily ?? false
            recorded_at = entry.origin.deviceRecordedAt?.timeIntervalSince1970
            (clock_suspect, late) = (entry.origin.clockSuspect, entry.origin.lateAfterReallocation)
            body = note.body.body
            // Blank text is absent.
            (observed, analysis, decision) = (sections?.observed.nilIfBlank, sections?.analysis.nilIfBlank, sections?.decision.nilIfBlank)
            (family_words, next_steps) = (sections?.familyWords.nilIfBlank, sections?.nextSteps.nilIfBlank)
            break_glass = entry.access.needsBreakGlass(.write, restricted: note.body.audience == .restricted)
        }
    }
}

/// The notes of a set of families, and their revisions.
enum NotesRead: HotStatement {}
enum NoteRevisionsRead: HotStatement {}
