import Foundation
import HTTPTypes
import KithAPI
import KithCore
import Testing
@testable import KithServer

/// Corrections as appended facts (issue #26): a note filed in error is withdrawn, or refiled on the right family, and
/// leaves every view of the wrong one but its own history.
@Suite struct CorrectionsTests {
    /// Priya's note for the family, read by Margaret on the family's page, is withdrawn: gone from the timeline, the
    /// page and the device's views; still whole in the note's own read, the export and the audit, marked withdrawn.
    @Test func aWithdrawnNoteLeavesTheTimelineThePageAndTheDevicesButKeepsItsHistory() async throws {
        try await Kith.run { kith in
            let story = try await FamilyPageTests.story(kith)
            var browser = Browser(kith: kith)
            try await browser.signIn(story)
            #expect(String(buffer: try await browser.get("/family").body).contains("Amy showed me her reading book."))
            let device = try await FieldDevice.register(kith, as: .priya)
            let (_, cursor) = try await device.pullAll(from: nil)

            let timeline: Components.Schemas.TimelinePage = try await kith.send(.get, "/v1/families/\(story.familyId)/timeline", as: .priya)
            let noteId = try #require(timeline.items.first { $0.kind == .note && $0.detail?.contains("reading book") == true }?.id)
            let note: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/notes/\(noteId)/withdraw", as: .priya, json: ["reason": "Written on the wrong family"])
            #expect(note.withdrawn?.by == kith.fixture.id(.priya).text && note.withdrawn?.reason == "Written on the wrong family")
            #expect(note.revisions.count == 1 && note.current.body == "Amy showed me her reading book.")
            // Margaret saw it on the page: the answer says so, and an incident is open for the family's supervisors.
            #expect(note.familyPageViews?.map(\.personId) == [story.margaretId])
            #expect(try await kith.count("SELECT count(*) FROM data_incidents WHERE note_id = '\(noteId)'") == 1)

            let after: Components.Schemas.TimelinePage = try await kith.send(.get, "/v1/families/\(story.familyId)/timeline", as: .priya)
            #expect(!after.items.contains { $0.id == noteId })
            #expect(after.items.filter { $0.kind == .note }.count == timeline.items.filter { $0.kind == .note }.count - 1)
            #expect(!String(buffer: try await browser.get("/family").body).contains("reading book"))
            let (pages, _) = try await device.pullUntil(from: cursor) { pages in pages.flatMap { $0.ids(.note) }.contains(noteId) }
            let delivered = try #require(pages.flatMap(\.changes).last { $0.entity == .note && $0.id == noteId })
            #expect((delivered.record as? Components.Schemas.JudgmentNote)?.withdrawn?.reason == "Written on the wrong family")

            let read: Components.Schemas.JudgmentNote = try await kith.send(.get, "/v1/notes/\(noteId)", as: .sam)
            #expect(read.withdrawn != nil)
            let export: Components.Schemas.FamilyExport = try await kith.send(.get, "/v1/families/\(story.familyId)/export", as: .priya)
            #expect(export.notes.first { $0.note.id == noteId }?.note.withdrawn?.reason == "Written on the wrong family")
            #expect(export.audit.contains { $0.entity == "noteWithdrawal" && $0.recordId == noteId && $0.action == .write })

            // Once; and a withdrawn note takes no amendment.
            let again = try await kith.request(.post, "/v1/notes/\(noteId)/withdraw", as: .priya, json: ["reason": "again"])
            #expect(again.status == .conflict)
            #expect(try kith.problem(again).code == "already_withdrawn")
            let amended = try await kith.request(
                .post, "/v1/notes/\(noteId)/amendments", as: .priya,
                json: ["supersedes": note.current.id, "body": "Changed", "reason": "typo"])
            #expect(amended.status == .conflict)
            #expect(try kith.problem(amended).code == "note_withdrawn")
        }
    }

    /// A family note written on the wrong family and read there on the family's page is refiled on the right one: gone
    /// from the wrong family's timeline, page and devices, in the right family's with every revision as it was written.
    @Test func aMisfiledNoteIsRefiledWithItsRevisionsAndLeavesTheWrongFamilyEntirely() async throws {
        try await Kith.run { kith in
            let story = try await FamilyPageTests.story(kith)
            let right = try await kith.openFamily("The Morgan family")
            let written: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(story.familyId)/notes", as: .priya,
                json: ["body": "Kai's hospital appointment is on Tuesday.", "audience": "family"], expect: .created)
            let amended: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/notes/\(written.id)/amendments", as: .priya,
                json: ["supersedes": written.current.id, "body": "Kai's hospital appointment is on Wednesday.", "reason": "Wrong day"],
                expect: .created)
            var browser = Browser(kith: kith)
            try await browser.signIn(story)
            #expect(String(buffer: try await browser.get("/family").body).contains("hospital appointment"))
            let device = try await FieldDevice.register(kith, as: .priya)
            let (_, cursor) = try await device.pullAll(from: nil)

            // Not into a family Priya cannot write to, and not onto the family it is on: nothing changes.
            let south = try await kith.openFamily("The Quinn family", by: .omar)
            let before = try await kith.fingerprint()
            let refused = try await kith.request(
                .post, "/v1/notes/\(written.id)/refile", as: .priya, json: ["familyId": south.id, "reason": "Wrong family"])
            #expect(refused.status == .notFound)
            let same = try await kith.request(
                .post, "/v1/notes/\(written.id)/refile", as: .priya, json: ["familyId": story.familyId, "reason": "Wrong family"])
            #expect(same.status == .conflict)
            #expect(try await kith.fingerprint() == before)

            let refiled: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/notes/\(written.id)/refile", as: .priya, json: ["familyId": right.id, "reason": "Meant for the Morgans"],
                expect: .created)
            #expect(refiled.familyId == right.id && refiled.id != written.id)
            #expect(refiled.refiledFrom?.noteId == written.id && refiled.refiledFrom?.familyId == story.familyId)
            #expect(refiled.revisions.map(\.body) == amended.revisions.map(\.body))
            #expect(refiled.revisions.map(\.createdAt) == amended.revisions.map(\.createdAt))
            #expect(refiled.revisions.map(\.authorId) == amended.revisions.map(\.authorId) && refiled.createdAt == written.createdAt)
            #expect(refiled.revisions[1].supersedes == refiled.revisions[0].id && refiled.audience == .family)

            let wrong: Components.Schemas.TimelinePage = try await kith.send(.get, "/v1/families/\(story.familyId)/timeline", as: .priya)
            #expect(!wrong.items.contains { $0.detail?.contains("hospital") == true })
            #expect(!String(buffer: try await browser.get("/family").body).contains("hospital"))
            let original: Components.Schemas.JudgmentNote = try await kith.send(.get, "/v1/notes/\(written.id)", as: .priya)
            #expect(original.withdrawn?.reason == "refiled")
            // Margaret read it before it was refiled: the answer lists her view, and Sam sees an incident with its
            // 72-hour clock, decides, and his decision is kept; the administrator sees the incident without its content.
            #expect(refiled.familyPageViews?.map(\.personId) == [story.margaretId])
            let seen: Components.Schemas.IncidentList = try await kith.send(.get, "/v1/incidents", as: .sam)
            let incident = try #require(seen.items.first)
            #expect(seen.items.count == 1 && incident.kind == .familyPageDisclosure && incident.noteId == written.id)
            #expect(incident.familyId == story.familyId && incident.viewedBy?.map(\.personId) == [story.margaretId] && incident.views == 1)
            #expect(incident.reportableBy.timeIntervalSince(incident.openedAt) == 72 * 3600 && incident.decisions.isEmpty)
            let items: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: .sam)
            #expect(items.items.contains { $0.kind == .incident && $0.familyId == story.familyId })
            #expect(try await kith.request(.get, "/v1/incidents", as: .priya).status == .forbidden)
            let decided = try await kith.json(
                .post, "/v1/incidents/\(incident.id)/decisions", as: .sam,
                ["reportedToRegulator": false, "reason": "Seen only by the nan, who has been told; low risk"], expect: .created)
            let decisions = try #require(decided["decisions"] as? [[String: Any]])
            #expect(decisions.count == 1 && decisions[0]["reportedToRegulator"] as? Bool == false)
            #expect(decisions[0]["by"] as? String == kith.fixture.id(.sam).text)
            let redacted: Components.Schemas.IncidentList = try await kith.send(.get, "/v1/incidents", as: .alex)
            #expect(redacted.items.map(\.id) == [incident.id] && redacted.items[0].viewedBy == nil && redacted.items[0].views == 1)
            #expect(redacted.items[0].decisions.count == 1 && redacted.items[0].decisions[0].reason == nil)
            for outsider in [Fixture.Who.alex, .ruth, .priya] {
                let refused = try await kith.request(
                    .post, "/v1/incidents/\(incident.id)/decisions", as: outsider, raw: #"{"reportedToRegulator": true, "reason": "x"}"#)
                #expect(refused.status == (outsider == .priya ? .forbidden : .notFound), "\(outsider)")
            }

            let rightTimeline: Components.Schemas.TimelinePage = try await kith.send(.get, "/v1/families/\(right.id)/timeline", as: .priya)
            #expect(rightTimeline.items.contains { $0.id == refiled.id })
            let (pages, _) = try await device.pullUntil(from: cursor) { pages in
                let notes = pages.flatMap { $0.ids(.note) }
                return notes.contains(written.id) && notes.contains(refiled.id)
            }
            let delivered = pages.flatMap(\.changes).filter { $0.entity == .note }.compactMap { $0.record as? Components.Schemas.JudgmentNote }
            #expect(delivered.last { $0.id == written.id }?.withdrawn != nil)
            #expect(delivered.last { $0.id == refiled.id }?.familyId == right.id)
        }
    }

    /// Narrowing takes effect at once: a family note leaves the page it was read on (an incident is opened), and a note
    /// made restricted leaves the device of a coordinator who may not read restricted notes, and their reads.
    @Test func aNarrowedAudienceTakesEffectEverywhereAtOnce() async throws {
        try await Kith.run { kith in
            let story = try await FamilyPageTests.story(kith)
            var browser = Browser(kith: kith)
            try await browser.signIn(story)
            let family: Components.Schemas.Family = try await kith.send(.get, "/v1/families/\(story.familyId)", as: .priya)
            try await kith.allocate(.chris, to: family, role: .coordinator)
            let export: Components.Schemas.FamilyExport = try await kith.send(.get, "/v1/families/\(story.familyId)/export", as: .priya)
            let notes = export.notes.map(\.note)
            let familyNote = try #require(notes.first { $0.audience == .family })
            let professional = try #require(notes.first { $0.audience == .professional })
            let device = try await FieldDevice.register(kith, as: .chris)
            let (first, cursor) = try await device.pullAll(from: nil)
            #expect(first.flatMap { $0.ids(.note) }.contains(professional.id))

            #expect(String(buffer: try await browser.get("/family").body).contains("reading book"))
            let narrowed: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/notes/\(familyNote.id)/audience", as: .priya, json: ["audience": "professional", "reason": "Not for the family"])
            #expect(narrowed.audience == .professional && narrowed.familyPageViews?.map(\.personId) == [story.margaretId])
            #expect(!String(buffer: try await browser.get("/family").body).contains("reading book"))
            #expect(try await kith.count("SELECT count(*) FROM data_incidents WHERE note_id = '\(familyNote.id)'") == 1)

            let restricted: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/notes/\(professional.id)/audience", as: .priya, json: ["audience": "restricted", "reason": "Sensitive"])
            #expect(restricted.audience == .restricted && restricted.familyPageViews == nil)
            #expect(try await kith.request(.get, "/v1/notes/\(professional.id)", as: .chris).status == .notFound)
            let (pages, _) = try await device.pullUntil(from: cursor) { pages in
                pages.flatMap(\.changes).contains { $0.entity == .note && $0.id == professional.id && $0.op == .delete }
            }
            #expect(!pages.flatMap { $0.ids(.note) }.contains(professional.id))
            let timeline: Components.Schemas.TimelinePage = try await kith.send(.get, "/v1/families/\(story.familyId)/timeline", as: .chris)
            #expect(!timeline.items.contains { $0.id == professional.id })

            // Again the same: refused; by someone else: refused; nothing changes.
            let before = try await kith.fingerprint()
            let same = try await kith.request(.post, "/v1/notes/\(professional.id)/audience", as: .priya, json: ["audience": "restricted", "reason": "again"])
            #expect(same.status == .conflict)
            let chris = try await kith.request(.post, "/v1/notes/\(familyNote.id)/audience", as: .chris, json: ["audience": "restricted", "reason": "mine now"])
            #expect(chris.status == .forbidden)
            #expect(try await kith.fingerprint() == before)
        }
    }

    /// `note.withdraw` by sync is checked as the REST call is: the author's device withdraws their note; another
    /// worker's device is refused, and its mutation kept for review.
    @Test func aDeviceWithdrawsItsWorkersNoteAndNoOneElses() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            try await kith.allocate(.tom, to: family, role: .familySupport)
            let note: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(family.id)/notes", as: .priya, json: ["body": "On the wrong family"], expect: .created)
            let toms = try await FieldDevice.register(kith, as: .tom)
            _ = try await toms.pullAll(from: nil)
            let refused = try await toms.push([Mutation.mutation(1, .withdrawNote(noteId: note.id, .init(reason: "not mine")))])
            #expect(refused.results.map(\.status) == [.rejected] && refused.results[0].reviewItemId != nil)
            #expect(try await kith.count("SELECT count(*) FROM note_withdrawals") == 0)

            let priyas = try await FieldDevice.register(kith, as: .priya)
            _ = try await priyas.pullAll(from: nil)
            let applied = try await priyas.push([Mutation.mutation(1, .withdrawNote(noteId: note.id, .init(reason: "Wrong family")))])
            #expect(applied.results.map(\.status) == [.applied])
            let read: Components.Schemas.JudgmentNote = try await kith.send(.get, "/v1/notes/\(note.id)", as: .priya)
            #expect(read.withdrawn?.reason == "Wrong family" && read.withdrawn?.by == kith.fixture.id(.priya).text)
        }
    }

    /// Its author while they may write to the family, or the family's supervisors; nobody else, and a refusal changes
    /// nothing.
    @Test func onlyTheAuthorOrTheFamilysSupervisorsWithdrawANote() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            try await kith.allocate(.tom, to: family, role: .familySupport)
            func note(by who: Fixture.Who) async throws -> String {
                let note: Components.Schemas.JudgmentNote = try await kith.send(
                    .post, "/v1/families/\(family.id)/notes", as: who, json: ["body": "Visit notes"], expect: .created)
                return note.id
            }
            let priyas = try await note(by: .priya)
            let before = try await kith.fingerprint()
            for (who, status) in [(Fixture.Who.tom, HTTPResponse.Status.forbidden), (.omar, .notFound), (.alex, .notFound), (.zed, .notFound)] {
                let response = try await kith.request(.post, "/v1/notes/\(priyas)/withdraw", as: who, json: ["reason": "not mine"])
                #expect(response.status == status, "\(who)")
            }
            let blank = try await kith.request(.post, "/v1/notes/\(priyas)/withdraw", as: .priya, json: ["reason": " "])
            #expect(blank.status == .badRequest)
            #expect(try await kith.fingerprint() == before)

            // A note the family's page never showed opens no incident.
            #expect(try await kith.count("SELECT count(*) FROM data_incidents") == 0)
            let toms = try await note(by: .tom)
            let _: Components.Schemas.JudgmentNote = try await kith.send(.post, "/v1/notes/\(toms)/withdraw", as: .tom, json: ["reason": "wrong family"])
            let _: Components.Schemas.JudgmentNote = try await kith.send(.post, "/v1/notes/\(priyas)/withdraw", as: .sam, json: ["reason": "wrong family"])
            #expect(try await kith.count("SELECT count(*) FROM data_incidents") == 0)
        }
    }

    /// A contact's time and "child seen" recorded wrongly are corrected: the measures follow the corrected values, per
    /// child in focus too; the values as recorded and every correction stay in the contact's history and the export.
    /// Only the worker who recorded it or the family's supervisors correct it, and a refusal changes nothing.
    @Test func aCorrectedContactChangesTheMeasuresAndKeepsItsHistory() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            try await kith.allocate(.tom, to: family, role: .familySupport)
            func person(_ name: String, child: Bool) async throws -> String {
                try await kith.json(.post, "/v1/families/\(family.id)/people", as: .priya, ["name": name, "isChildInFocus": child], expect: .created)["id"] as! String
            }
            let amy = try await person("Amy", child: true), jade = try await person("Jade", child: true)
            let nan = try await person("Margaret", child: false)
            let recorded: Components.Schemas.Contact = try await kith.send(
                .post, "/v1/families/\(family.id)/contacts", as: .priya,
                json: Components.Schemas.CreateContact(occurredAt: Self.daysAgo(3), kind: .homeVisit, presentPersonIds: [nan], childSeen: false),
                expect: .created)
            func measures() async throws -> Components.Schemas.FamilyContinuity {
                try await kith.send(.get, "/v1/continuity/families/\(family.id)", as: .priya)
            }
            let first = try await measures()
            #expect(first.daysSinceLastContact == 3 && first.daysSinceChildSeen == nil)
            #expect(Set(first.childrenInFocus?.map(\.personId) ?? []) == [amy, jade])
            #expect(first.childrenInFocus?.allSatisfy { $0.daysSinceSeen == nil } == true)

            let before = try await kith.fingerprint()
            for (who, status) in [(Fixture.Who.tom, HTTPResponse.Status.forbidden), (.omar, .notFound), (.alex, .notFound), (.zed, .notFound)] {
                let response = try await kith.request(
                    .post, "/v1/contacts/\(recorded.id)/corrections", as: who, json: Components.Schemas.CorrectContact(childSeen: true, reason: "not mine"))
                #expect(response.status == status, "\(who)")
            }
            let malformed: [[String: Any]] = [
                ["childSeen": false, "childSeenAlone": true, "reason": "alone but not seen"],
                ["childrenSeen": [["personId": nan, "seen": true, "seenAlone": false]], "reason": "the nan is no child in focus"],
                ["childrenSeen": [["personId": amy, "seen": false, "seenAlone": true]], "reason": "alone but not seen"],
                ["presentPersonIds": [UUID().text], "reason": "a stranger"],
                ["kind": "phone", "reason": " "],
            ]
            for body in malformed {
                _ = try await kith.json(.post, "/v1/contacts/\(recorded.id)/corrections", as: .priya, body, expect: .badRequest)
            }
            let unchanged = try await kith.request(
                .post, "/v1/contacts/\(recorded.id)/corrections", as: .priya,
                json: Components.Schemas.CorrectContact(kind: .homeVisit, childSeen: false, reason: "same"))
            #expect(unchanged.status == .conflict)
            #expect(try kith.problem(unchanged).code == "nothing_changed")
            #expect(try await kith.fingerprint() == before)

            let corrected: Components.Schemas.Contact = try await kith.send(
                .post, "/v1/contacts/\(recorded.id)/corrections", as: .priya,
                json: Components.Schemas.CorrectContact(
                    occurredAt: Self.daysAgo(5),
                    childrenSeen: [.init(personId: amy, seen: true, seenAlone: true), .init(personId: jade, seen: false, seenAlone: false)],
                    reason: "It was Tuesday, and Amy was there after all"))
            #expect(corrected.childSeen == true && corrected.recorded?.childSeen == false && corrected.corrections?.count == 1)
            let correction = try #require(corrected.corrections?.first)
            #expect(correction.by == kith.fixture.id(.priya).text && correction.reason.hasPrefix("It was Tuesday"))
            #expect(correction.changes.childSeen == true && correction.changes.kind == nil && correction.changes.childrenSeen?.count == 2)
            #expect(corrected.recorded?.occurredAt == recorded.occurredAt && corrected.presentPersonIds == [nan])
            let after = try await measures()
            #expect(after.daysSinceLastContact == 5 && after.daysSinceChildSeen == 5 && after.evidence?.lastChildSeenContactId == recorded.id)
            #expect(after.childrenInFocus?.first { $0.personId == amy }?.daysSinceSeen == 5)
            #expect(after.childrenInFocus?.first { $0.personId == amy }?.lastSeenContactId == recorded.id)
            #expect(after.childrenInFocus?.first { $0.personId == jade }?.daysSinceSeen == nil)

            // The family's supervisor corrects it too; the kind changes and nothing else does.
            let second: Components.Schemas.Contact = try await kith.send(
                .post, "/v1/contacts/\(recorded.id)/corrections", as: .sam, json: Components.Schemas.CorrectContact(kind: .phone, reason: "It was a call"))
            #expect(second.kind == .phone && second.recorded?.kind == .homeVisit && second.corrections?.map(\.by) == [
                kith.fixture.id(.priya).text, kith.fixture.id(.sam).text])
            #expect(second.childSeen == true && second.childrenSeen == corrected.childrenSeen)
            let timeline: Components.Schemas.TimelinePage = try await kith.send(.get, "/v1/families/\(family.id)/timeline", as: .priya)
            let entry = try #require(timeline.items.first { $0.id == recorded.id })
            #expect(entry.summary?.hasPrefix("phone, child seen") == true && entry.summary?.hasSuffix(", corrected") == true, "\(entry)")
            let export: Components.Schemas.FamilyExport = try await kith.send(.get, "/v1/families/\(family.id)/export", as: .priya)
            let exported = try #require(export.contacts.first { $0.id == recorded.id })
            #expect(exported.recorded?.childSeen == false && exported.recorded?.kind == .homeVisit && exported.corrections?.count == 2)
            #expect(export.audit.filter { $0.entity == "contactCorrection" && $0.recordId == recorded.id }.count == 2)
        }
    }

    /// A contact recorded on the wrong family, withdrawn by sync from the recorder's device: gone from the timeline,
    /// the measures and the devices' views; kept, marked, in the export. Another worker's device is refused.
    @Test func aContactOnTheWrongFamilyIsWithdrawnFromEveryViewButItsHistory() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            try await kith.allocate(.tom, to: family, role: .familySupport)
            let contact: Components.Schemas.Contact = try await kith.send(
                .post, "/v1/families/\(family.id)/contacts", as: .priya,
                json: Components.Schemas.CreateContact(occurredAt: Self.daysAgo(2), kind: .homeVisit, childSeen: true), expect: .created)
            let toms = try await FieldDevice.register(kith, as: .tom)
            _ = try await toms.pullAll(from: nil)
            let refused = try await toms.push([Mutation.mutation(1, .withdrawContact(contactId: contact.id, .init(reason: "not mine")))])
            #expect(refused.results.map(\.status) == [.rejected])
            #expect(try await kith.count("SELECT count(*) FROM contact_withdrawals") == 0)

            let priyas = try await FieldDevice.register(kith, as: .priya)
            let (_, cursor) = try await priyas.pullAll(from: nil)
            let applied = try await priyas.push([Mutation.mutation(1, .withdrawContact(contactId: contact.id, .init(reason: "Wrong family")))])
            #expect(applied.results.map(\.status) == [.applied])

            let timeline: Components.Schemas.TimelinePage = try await kith.send(.get, "/v1/families/\(family.id)/timeline", as: .priya)
            #expect(!timeline.items.contains { $0.id == contact.id })
            let measures: Components.Schemas.FamilyContinuity = try await kith.send(.get, "/v1/continuity/families/\(family.id)", as: .priya)
            #expect(measures.daysSinceLastContact == nil && measures.daysSinceChildSeen == nil && measures.evidence?.lastContactId == nil)
            let (pages, _) = try await priyas.pullUntil(from: cursor) { pages in pages.flatMap { $0.ids(.contact) }.contains(contact.id) }
            let delivered = try #require(pages.flatMap(\.changes).last { $0.entity == .contact && $0.id == contact.id })
            #expect((delivered.record as? Components.Schemas.Contact)?.withdrawn?.reason == "Wrong family")
            let export: Components.Schemas.FamilyExport = try await kith.send(.get, "/v1/families/\(family.id)/export", as: .priya)
            #expect(export.contacts.first { $0.id == contact.id }?.withdrawn?.by == kith.fixture.id(.priya).text)

            let again = try await kith.request(.post, "/v1/contacts/\(contact.id)/withdraw", as: .priya, json: ["reason": "again"])
            #expect(again.status == .conflict)
            #expect(try kith.problem(again).code == "already_withdrawn")
            let corrected = try await kith.request(
                .post, "/v1/contacts/\(contact.id)/corrections", as: .priya, json: ["kind": "phone", "reason": "too late"])
            #expect(corrected.status == .conflict)
            #expect(try kith.problem(corrected).code == "contact_withdrawn")
        }
    }

    /// "This isn't right" on the family's page: Margaret's words about a note written for the family, kept as hers
    /// beside the note (which does not change), in the timeline, the allocated worker's review queue and the export. A
    /// note her page does not show takes no words.
    @Test func theFamilySaysANoteIsNotRightInTheirOwnWords() async throws {
        try await Kith.run { kith in
            let story = try await FamilyPageTests.story(kith)
            var browser = Browser(kith: kith)
            try await browser.signIn(story)
            let page = try await browser.get("/family")
            let timeline: Components.Schemas.TimelinePage = try await kith.send(.get, "/v1/families/\(story.familyId)/timeline", as: .priya)
            let forFamily = try #require(timeline.items.first { $0.detail?.contains("reading book") == true }?.id)
            let professional = try #require(timeline.items.first { $0.detail?.contains("Professional judgment") == true }?.id)
            #expect(String(buffer: page.body).contains("action=\"/family/notes/\(forFamily)/not-right\""))
            let words = "It was her library book, not one from school."

            let before = try await kith.fingerprint()
            let hidden = try await browser.post("/family/notes/\(professional)/not-right", ["text": words, "csrf": Browser.csrf(page)])
            #expect(hidden.status == .notFound)
            let forged = try await browser.post("/family/notes/\(forFamily)/not-right", ["text": words, "csrf": "made-up"])
            #expect(forged.status == .forbidden)
            #expect(try await kith.fingerprint() == before)

            let said = try await browser.post("/family/notes/\(forFamily)/not-right", ["text": words, "csrf": Browser.csrf(page)])
            #expect(said.status == .seeOther)
            #expect(String(buffer: try await browser.get("/family").body).contains("You told your worker this is not right"))
            let note: Components.Schemas.JudgmentNote = try await kith.send(.get, "/v1/notes/\(forFamily)", as: .priya)
            #expect(note.revisions.count == 1 && note.current.body == "Amy showed me her reading book.")

            let after: Components.Schemas.TimelinePage = try await kith.send(.get, "/v1/families/\(story.familyId)/timeline", as: .priya)
            let entry = try #require(after.items.first { $0.kind == .familyMessage })
            #expect(entry.summary?.contains("not right") == true && entry.summary?.contains(forFamily) == true && entry.detail == words)
            #expect(entry.personId == story.margaretId)
            let queue: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: .priya)
            #expect(queue.items.contains { $0.kind == .familyWords && $0.summary.contains("not right") && $0.familyId == story.familyId })
            let export: Components.Schemas.FamilyExport = try await kith.send(.get, "/v1/families/\(story.familyId)/export", as: .priya)
            #expect(export.familyMessages.contains { $0.aboutNoteId == forFamily && $0.text == words && $0.personId == story.margaretId })
        }
    }

    /// `days` whole days before now, to the second (as a correction's history keeps times).
    static func daysAgo(_ days: Int) -> Date {
        Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - Double(days) * 86_400).rounded(.down))
    }
}

