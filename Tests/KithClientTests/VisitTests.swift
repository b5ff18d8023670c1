import Foundation
import GRDB
import KithAPI
import Testing
@testable import KithClient

/// A visit recorded with its note is one act on the device: both wait in the outbox, in order, or neither does.
@Suite struct VisitTests {
    static let family = Components.Schemas.Family(
        id: "f0c1d2e3-0000-4000-8000-000000000001", teamId: "7e000000-0000-4000-8000-000000000001", displayName: "Adeyemi family",
        status: .open, openedOn: "2026-01-05", createdAt: Date())

    static func practice() throws -> (Practice, LocalStore) {
        let store = try LocalStore()
        return (Practice(caseload: try Caseload(store: store, workerId: "me")), store)
    }

    @Test func aVisitAndItsNoteWaitTogetherTheNoteNamingTheVisit() throws {
        let (practice, store) = try Self.practice()
        let (contactId, noteId) = try practice.recordVisit(
            .init(at: Date(), kind: .homeVisit), in: Self.family, note: NoteDraft(text: "Jade was calm; the garden is tidier."))
        let waiting = try store.unconfirmed()
        #expect(waiting.map(\._type) == ["contact.record", "note.create"])
        #expect(waiting.map(\.seq) == [1, 2])
        #expect(waiting[1].args.additionalProperties.value["contactId"] as? String == contactId)
        #expect(try store.records(.note, familyId: Self.family.id, as: Components.Schemas.JudgmentNote.self).map(\.id) == [noteId])
    }

    @Test func aVisitWhoseNoteCannotBeKeptIsNotKeptEither() throws {
        let (practice, store) = try Self.practice()
        try store.db.write { db in
            try db.execute(sql: """
                CREATE TRIGGER refuse_notes BEFORE INSERT ON outbox WHEN NEW.type = 'note.create'
                BEGIN SELECT RAISE(ABORT, 'no room for the note'); END
                """)
        }
        #expect(throws: (any Error).self) {
            try practice.recordVisit(.init(at: Date(), kind: .homeVisit), in: Self.family, note: NoteDraft(text: "Seen at home."))
        }
        #expect(try store.unconfirmed().isEmpty)
        #expect(try store.records(.contact, familyId: Self.family.id, as: Components.Schemas.Contact.self).isEmpty)
        // Without a note the visit alone is kept.
        try practice.recordVisit(.init(at: Date(), kind: .homeVisit), in: Self.family, note: nil)
        #expect(try store.unconfirmed().map(\._type) == ["contact.record"])
    }

    @Test func seenAloneIsSeenAndSayingNeitherLeavesBothUnsaid() {
        var visit = Practice.Visit(at: Date(), kind: .homeVisit)
        visit.child(seen: false, alone: false)
        #expect(visit.childSeen == nil && visit.childSeenAlone == nil)
        visit.child(seen: false, alone: true)
        #expect(visit.childSeen == true && visit.childSeenAlone == true)
        var seen = Practice.Visit(at: Date(), kind: .school)
        seen.child(seen: true, alone: false)
        #expect(seen.childSeen == true && seen.childSeenAlone == nil)
    }
}
