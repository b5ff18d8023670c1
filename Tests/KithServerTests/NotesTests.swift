import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import PostgresNIO
import Testing
@testable import KithServer

/// Notes are append-only: every amendment is a new revision, every revision stays readable.
@Suite struct NotesTests {
    struct Amend: Encodable { var supersedes: String; var body: String; var reason: String }

    func writeNote(_ kith: Kith, family: String, audience: String = "professional", as who: Fixture.Who = .priya) async throws -> Components.Schemas.JudgmentNote {
        try await kith.send(.post, "/v1/families/\(family)/notes", as: who, json: ["body": "Amy was at nan's.", "audience": audience], expect: .created)
    }

    @Test func aNoteAmendedTwiceKeepsThreeReadableRevisions() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let note = try await writeNote(kith, family: family.id)
            let second: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/notes/\(note.id)/amendments", as: .priya,
                json: Amend(supersedes: note.current.id, body: "Amy was at nan's with her brother.", reason: "Forgot her brother"), expect: .created)
            let _: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/notes/\(note.id)/amendments", as: .sam,
                json: Amend(supersedes: second.current.id, body: "Retracted: wrong family.", reason: "Written on the wrong family"), expect: .created)

            let read: Components.Schemas.JudgmentNote = try await kith.send(.get, "/v1/notes/\(note.id)", as: .priya)
            #expect(read.revisions.map(\.number) == [1, 2, 3])
            #expect(read.revisions.map(\.body) == ["Amy was at nan's.", "Amy was at nan's with her brother.", "Retracted: wrong family."])
            #expect(read.revisions.map(\.reason) == [nil, "Forgot her brother", "Written on the wrong family"])
            #expect(read.revisions.map(\.authorId) == [kith.fixture.id(.priya).text, kith.fixture.id(.priya).text, kith.fixture.id(.sam).text])
            #expect(read.current.body == "Retracted: wrong family.")
            #expect(!read.concurrent)
        }
    }

    @Test func theDatabaseItselfRefusesToChangeOrDeleteARevision() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let note = try await writeNote(kith, family: family.id)
            // Refused by the append-only trigger itself (the tests' connection owns the tables), not by any error.
            let noteId = UUID(uuidString: note.id)!
            for statement: PostgresQuery in [
                "UPDATE note_revisions SET body = 'rewritten' WHERE note_id = \(noteId)",
                "DELETE FROM note_revisions WHERE note_id = \(noteId)",
                "DELETE FROM notes",
                "UPDATE audit_events SET reason = 'x'",
                "TRUNCATE note_revisions CASCADE",
            ] {
                let refused = await #expect(throws: PSQLError.self) { try await kith.db.query(statement, logger: TestDatabase.logger) }
                #expect(refused?.serverInfo?[.sqlState] == "42501", "\(statement.sql)")
                #expect(refused?.serverInfo?[.message]?.contains("is append-only") == true, "\(statement.sql)")
            }
            let read: Components.Schemas.JudgmentNote = try await kith.send(.get, "/v1/notes/\(note.id)", as: .priya)
            #expect(read.current.body == "Amy was at nan's.")
        }
    }

    @Test func twoAmendmentsOfTheSameRevisionAreBothKeptAndFlaggedConcurrent() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let note = try await writeNote(kith, family: family.id)
            async let first = kith.request(
                .post, "/v1/notes/\(note.id)/amendments", as: .priya, json: Amend(supersedes: note.current.id, body: "Version A", reason: "a"))
            async let second = kith.request(
                .post, "/v1/notes/\(note.id)/amendments", as: .sam, json: Amend(supersedes: note.current.id, body: "Version B", reason: "b"))
            #expect(try await [first.status, second.status] == [.created, .created])

            let read: Components.Schemas.JudgmentNote = try await kith.send(.get, "/v1/notes/\(note.id)", as: .priya)
            #expect(read.revisions.count == 3)
            #expect(read.concurrent)
            #expect(read.revisions.map(\.concurrent) == [false, true, true])
            #expect(Set(read.revisions.dropFirst().map(\.body)) == ["Version A", "Version B"])
            #expect(read.revisions.dropFirst().allSatisfy { $0.supersedes == note.current.id })
        }
    }

    @Test func anAmendmentMustSupersedeARevisionOfThatNote() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let note = try await writeNote(kith, family: family.id)
            let other = try await writeNote(kith, family: family.id)
            let response = try await kith.request(
                .post, "/v1/notes/\(note.id)/amendments", as: .priya, json: Amend(supersedes: other.current.id, body: "x", reason: "y"))
            #expect(response.status == .badRequest)
            #expect(try kith.problem(response).errors?.map(\.field) == ["supersedes"])
            let noReason = try await kith.request(
                .post, "/v1/notes/\(note.id)/amendments", as: .priya, json: Amend(supersedes: note.current.id, body: "x", reason: "  "))
            #expect(noReason.status == .badRequest)
            #expect(try await kith.count("SELECT count(*) FROM note_revisions") == 2)
        }
    }

    /// A practitioner's note is written in one statement with its revision and its audit event, or not at all: the same
    /// note again, a revision id already used, a contact of another family and a family the writer has no relationship
    /// with are each refused, with their own reason, and change nothing.
    @Test func aNoteIsWrittenWholeOrNotAtAll() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let other = try await kith.openFamily("The Brown family")
            let contact = try await kith.json(
                .post, "/v1/families/\(family.id)/contacts", as: .priya,
                ["occurredAt": "2026-06-01T10:00:00Z", "kind": "homeVisit", "childSeen": true])
            let elsewhere = try await kith.json(
                .post, "/v1/families/\(other.id)/contacts", as: .priya,
                ["occurredAt": "2026-06-01T12:00:00Z", "kind": "homeVisit", "childSeen": true])
            let noteId = UUID().text, revisionId = UUID().text
            let note: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(family.id)/notes", as: .priya,
                json: ["id": noteId, "revisionId": revisionId, "body": "Amy was at nan's.", "contactId": contact["id"] as! String],
                expect: .created)
            #expect(note.id == noteId && note.current.id == revisionId && note.contactId == contact["id"] as? String)
            #expect(note.authorId == kith.fixture.id(.priya).text && note.revisions.count == 1)
            let read: Components.Schemas.JudgmentNote = try await kith.send(.get, "/v1/notes/\(noteId)", as: .priya)
            #expect(read.createdAt == note.createdAt && read.current.body == "Amy was at nan's.")
            #expect(try await kith.count(
                "SELECT count(*) FROM audit_events WHERE action = 'write' AND entity = 'note' AND record_id = '\(noteId)'") == 1)

            let before = try await kith.fingerprint()
            let again = try await kith.request(
                .post, "/v1/families/\(family.id)/notes", as: .priya, json: ["id": noteId, "body": "Written twice."])
            #expect(again.status == .conflict)
            #expect(try kith.problem(again).code == "conflict")
            let usedRevision = try await kith.request(
                .post, "/v1/families/\(family.id)/notes", as: .priya, json: ["revisionId": revisionId, "body": "Its revision again."])
            #expect(usedRevision.status == .conflict)
            let wrongContact = try await kith.request(
                .post, "/v1/families/\(family.id)/notes", as: .priya,
                json: ["body": "At the other house.", "contactId": elsewhere["id"] as! String])
            #expect(wrongContact.status == .badRequest)
            #expect(try kith.problem(wrongContact).errors?.map(\.field) == ["contactId"])
            let stranger = try await kith.request(.post, "/v1/families/\(family.id)/notes", as: .tom, json: ["body": "Not mine to write."])
            #expect(stranger.status == .notFound)
            let otherOrganisation = try await kith.request(.post, "/v1/families/\(family.id)/notes", as: .zed, json: ["body": "Not ours."])
            #expect(otherOrganisation.status == .notFound)
            #expect(try await kith.fingerprint() == before)
        }
    }

    @Test func restrictedNotesAreForTheAllocatedWorkerSupervisorsAndBreakGlassOnly() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let restricted = try await writeNote(kith, family: family.id, audience: "restricted")
            _ = try await writeNote(kith, family: family.id)
            let _: Components.Schemas.Allocation = try await kith.send(
                .post, "/v1/families/\(family.id)/allocations", as: .sam,
                json: ["workerId": kith.fixture.id(.tom).text, "role": "familySupport", "startedOn": "2026-01-01"], expect: .created)

            #expect(try await kith.request(.get, "/v1/notes/\(restricted.id)", as: .priya).status == .ok)
            #expect(try await kith.request(.get, "/v1/notes/\(restricted.id)", as: .sam).status == .ok)
            #expect(try await kith.request(.get, "/v1/notes/\(restricted.id)", as: .tom).status == .notFound)
            let timeline: Components.Schemas.TimelinePage = try await kith.send(.get, "/v1/families/\(family.id)/timeline", as: .tom)
            #expect(timeline.items.filter { $0.kind == .note }.count == 1)
            #expect(!timeline.items.contains { $0.id == restricted.id })

            let _: Components.Schemas.BreakGlassGrant = try await kith.send(
                .post, "/v1/families/\(family.id)/access", as: .omar, json: ["reason": "Covering the duty desk tonight"], expect: .created)
            #expect(try await kith.request(.get, "/v1/notes/\(restricted.id)", as: .omar).status == .ok)

            // Whoever writes a restricted note can always read it back.
            let own = try await writeNote(kith, family: family.id, audience: "restricted", as: .tom)
            #expect(try await kith.request(.get, "/v1/notes/\(own.id)", as: .tom).status == .ok)
            #expect(try await kith.request(.get, "/v1/notes/\(restricted.id)", as: .tom).status == .notFound)
        }
    }
}
