import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import KithCore
import NIOCore
import PostgresNIO
import Testing
@testable import KithServer

@Suite struct SyncPullTests {
    @Test func aFirstPullDeliversTheCaseloadWholeAndThenOnlyChanges() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let person: Components.Schemas.Person = try await kith.send(
                .post, "/v1/families/\(family.id)/people", as: .priya, json: ["name": "Amy"], expect: .created)
            let _: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(family.id)/notes", as: .priya, json: ["body": "First visit", "audience": "professional"], expect: .created)
            _ = try await kith.openFamily("Tom's family", by: .tom)
            let device = try await FieldDevice.register(kith, as: .priya)

            let (pages, cursor) = try await device.pullAll(from: nil)
            let all = pages.flatMap(\.changes)
            #expect(Set(all.compactMap(\.familyId)) == [family.id])
            #expect(Set(all.map(\.entity)) == [.family, .person, .allocation, .note])
            #expect(pages.last?.scope.grants.map(\.familyId) == [family.id])
            let person2 = try #require(all.first { $0.entity == .person })
            #expect(person2.id == person.id && (person2.record as? Components.Schemas.Person)?.name == "Amy")

            let quiet = try await device.pull(cursor: cursor)
            #expect(quiet.changes.allSatisfy { Set(all.map(\.id)).contains($0.id) } && !quiet.hasMore)
            let note: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(family.id)/notes", as: .priya, json: ["body": "Second visit", "audience": "professional"], expect: .created)
            let (next, _) = try await device.pullUntil(from: quiet.cursor) { $0.flatMap { $0.ids(.note) }.contains(note.id) }
            // Besides the new note, at most records already delivered come again (as they are now): never a new one.
            let known = Set(all.map(\.id))
            #expect(next.flatMap(\.changes).allSatisfy { $0.id == note.id || known.contains($0.id) })
            #expect(try await kith.count("SELECT count(*) FROM audit_events WHERE entity = 'sync' AND action = 'read'") >= 2)
            let metrics = try await kith.request(.get, "/metrics", as: nil)
            #expect(String(buffer: metrics.body).contains("sync_horizon_lag_seconds"))
        }
    }

    @Test func aPageKeepsItsLimitEvenInsideAFamilyAndTheFamilyIsWholeBeforeTheFeedGoesOn() async throws {
        try await Kith.run { kith in
            var families: [String] = []
            for number in 1...(Records.familiesReadTogether + 2) {
                families.append(try await kith.openFamily("Family \(number)").id)
            }
            let big = try await kith.openFamily("The Okafor family")
            var notes: [String] = []
            for number in 1...30 {
                let note: Components.Schemas.JudgmentNote = try await kith.send(
                    .post, "/v1/families/\(big.id)/notes", as: .priya, json: ["body": "Visit \(number)"], expect: .created)
                notes.append(note.id)
            }
            let device = try await FieldDevice.register(kith, as: .priya)
            var pages: [Components.Schemas.PullResponse] = []
            var cursor: String?
            repeat {
                let page = try await device.pull(cursor: cursor, limit: 7)
                pages.append(page)
                cursor = page.cursor
                if pages.count == 3 {
                    // Written while the family is part-way delivered: it arrives by the feed once the family is whole.
                    let late: Components.Schemas.JudgmentNote = try await kith.send(
                        .post, "/v1/families/\(big.id)/notes", as: .priya, json: ["body": "Written between pages"], expect: .created)
                    notes.append(late.id)
                }
            } while pages.last!.hasMore && pages.count < 50
            // The feed reaches only below the oldest transaction running anywhere in the cluster (another test's backup
            // or disposal too): the note written between pages may take a moment more.
            let deadline = Date().addingTimeInterval(30)
            while !pages.flatMap(\.changes).contains(where: { $0.id == notes.last! }), Date() < deadline {
                try await Task.sleep(for: .milliseconds(200))
                let page = try await device.pull(cursor: cursor, limit: 7)
                pages.append(page)
                cursor = page.cursor
            }
            let changes = pages.flatMap(\.changes)
            #expect(pages.allSatisfy { $0.changes.count <= 7 }, "\(pages.map(\.changes.count))")
            #expect(pages.count >= 8)
            #expect(Set(changes.filter { $0.entity == .family }.map(\.id)) == Set(families + [big.id]))
            #expect(Set(changes.filter { $0.entity == .note }.map(\.id)) == Set(notes))
            // The family's own record comes first, before any of its notes.
            let firstNote = changes.firstIndex { $0.entity == .note }!
            #expect(changes.prefix(firstNote).contains { $0.entity == .family && $0.id == big.id })
            // What a device pulling in one page has, this one has: nothing missing, nothing more.
            let other = try await FieldDevice.register(kith, as: .priya, name: "phone")
            let (whole, _) = try await other.pullAll(from: nil)
            let wholeIds = Set(whole.flatMap(\.changes).map { "\($0.entity)/\($0.id)" })
            #expect(Set(changes.map { "\($0.entity)/\($0.id)" }) == wholeIds)
        }
    }

    @Test func aChangeBringsOnlyTheChangedRecordAndProgressComesInsideItsPlan() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let amy = try await kith.json(.post, "/v1/families/\(family.id)/people", as: .priya, ["name": "Amy"])
            let nan = try await kith.json(.post, "/v1/families/\(family.id)/people", as: .priya, ["name": "Margaret"])
            for visit in 1...3 {
                let _: Components.Schemas.JudgmentNote = try await kith.send(
                    .post, "/v1/families/\(family.id)/notes", as: .priya, json: ["body": "Visit \(visit)"], expect: .created)
            }
            let referral: [String: Any] = ["referrerId": kith.fixture.id(.priya).text, "reason": "School", "familyAgreed": true, "bottomLines": []]
            let conference = try await kith.json(.post, "/v1/families/\(family.id)/conferences", as: .priya, ["referral": referral])
            let plan = try await kith.json(
                .post, "/v1/conferences/\(conference["id"] as! String)/plans", as: .priya,
                ["items": [["who": nan["id"] as! String, "what": "School run"]], "agreedByReferrer": true])
            let device = try await FieldDevice.register(kith, as: .priya)
            let (first, cursor) = try await device.pullAll(from: nil)

            let item = (plan["items"] as! [[String: Any]])[0]["id"] as! String
            _ = try await kith.json(.post, "/v1/plan-items/\(item)/updates", as: .priya, ["text": "Every day this week"], expect: .created)
            _ = try await kith.json(
                .patch, "/v1/people/\(amy["id"] as! String)", as: .priya,
                ["fields": ["language": ["value": "Polish", "baseVersion": 0]]], expect: .ok)
            #expect(try await kith.count(
                "SELECT count(*) FROM sync_changes WHERE entity IN ('planItem', 'planItemUpdate')") == 0)

            let (pages, _) = try await device.pullUntil(from: cursor) { pages in
                let changes = pages.flatMap(\.changes)
                return changes.contains { $0.entity == .plan } && changes.contains { ($0.record as? Components.Schemas.Person)?.language == "Polish" }
            }
            // Besides the two changed records, only records already delivered may come again (a transaction open
            // elsewhere in the cluster holds the feed's horizon back): never one that did not change.
            let changes = pages.flatMap(\.changes)
            let known = Set(first.flatMap(\.changes).map(\.id))
            #expect(changes.allSatisfy { known.contains($0.id) })
            let person = try #require(changes.last { $0.id == amy["id"] as? String }?.record as? Components.Schemas.Person)
            #expect(person.language == "Polish")
            let pulled = try #require(changes.last { $0.entity == .plan }?.record as? Components.Schemas.FamilyPlan)
            #expect(pulled.id == plan["id"] as? String && pulled.items.first?.updates.map(\.text) == ["Every day this week"])
        }
    }

    @Test func aTransactionThatCommitsLateIsDeliveredNeverSkippedNeverTwice() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let (_, start) = try await device.pullAll(from: nil)

            let noteA = UUID()
            let (inserted, insertedSignal) = AsyncStream<Void>.makeStream()
            let (release, releaseSignal) = AsyncStream<Void>.makeStream()
            let t1 = Task {
                try await kith.db.withTransaction(logger: TestDatabase.logger) { connection in
                    let org = kith.fixture.organisation, priya = kith.fixture.id(.priya), familyId = UUID(uuidString: family.id)!
                    try await connection.query(
                        """
                        INSERT INTO notes (organisation_id, id, family_id, audience, author_id)
                        VALUES (\(org), \(noteA), \(familyId), 'professional', \(priya))
                        """, logger: TestDatabase.logger)
                    try await connection.query(
                        """
                        INSERT INTO note_revisions (organisation_id, id, note_id, family_id, number, body, author_id)
                        VALUES (\(org), \(UUID()), \(noteA), \(familyId), 1, 'A, written in a slow transaction', \(priya))
                        """, logger: TestDatabase.logger)
                    insertedSignal.yield()
                    for await _ in release { break }
                }
            }
            for await _ in inserted { break }
            let noteB: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(family.id)/notes", as: .priya, json: ["body": "B", "audience": "professional"], expect: .created)

            let (during, duringCursor) = try await device.pullAll(from: start)
            releaseSignal.yield()
            try await t1.value
            let (after, afterCursor) = try await device.pullUntil(from: duringCursor) { pages in
                let ids = pages.flatMap { $0.ids(.note) }
                return ids.contains(noteA.text) && ids.contains(noteB.id)
            }
            let (settled, _) = try await device.pullAll(from: afterCursor)

            let delivered = (during + after + settled).flatMap { $0.ids(.note) }
            #expect(delivered.filter { $0 == noteA.text }.count == 1)
            #expect(delivered.filter { $0 == noteB.id }.count == 1)
            // While A's transaction was open, nothing after it was visible to the feed.
            #expect(during.flatMap { $0.ids(.note) }.isEmpty)
        }
    }

    @Test func pagesOfOneWindowNeitherRepeatNorSkip() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let (_, start) = try await device.pullAll(from: nil)
            let pushed = try await device.push((1...7).map { Mutation.note(Int64($0), family: family.id, body: "Note \($0)") })
            #expect(pushed.lastAppliedSeq == 7)
            // Each note is two rows of the log (the note, its first revision): 14 rows in pages of at most 3.
            var cursor = start
            var rows: [String] = []
            var windows = 0
            while Set(rows).count < 7, windows < 200 {
                let page = try await device.pull(cursor: cursor, limit: 3)
                #expect(page.changes.count <= 3)
                rows += page.ids(.note)
                cursor = page.cursor
                if !page.hasMore {
                    windows += 1
                    try await Task.sleep(for: .milliseconds(25))
                }
            }
            #expect(Set(rows).count == 7)
            // A note whose two rows fell on two pages (or windows) comes twice, current both times; never more. (Records
            // written before the first pull may come again too, when other tests' transactions held the horizon back.)
            let (rest, _) = try await device.pullAll(from: cursor)
            let all = rows + rest.flatMap { $0.ids(.note) }
            #expect(Set(all).count == 7)
            #expect(Dictionary(grouping: all, by: { $0 }).values.allSatisfy { $0.count <= 2 })
        }
    }

    @Test func twoDevicesEditingOnePhoneNumberKeepBothValuesUntilResolved() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let _: Components.Schemas.Allocation = try await kith.send(
                .post, "/v1/families/\(family.id)/allocations", as: .sam,
                json: ["workerId": kith.fixture.id(.tom).text, "role": "familySupport", "startedOn": CalendarDay.today.text], expect: .created)
            let person: Components.Schemas.Person = try await kith.send(
                .post, "/v1/families/\(family.id)/people", as: .priya, json: ["name": "Grandma Joy"], expect: .created)
            let priyas = try await FieldDevice.register(kith, as: .priya)
            let toms = try await FieldDevice.register(kith, as: .tom)

            let first = try await priyas.push([Mutation.setPhone(1, person: person.id, phone: "01632 960001", baseVersion: 0)])
            #expect(first.results.map(\.status) == [.applied])
            let second = try await toms.push([Mutation.setPhone(1, person: person.id, phone: "01632 960002", baseVersion: 0)])
            #expect(second.results.map(\.status) == [.appliedWithConflict])
            let conflictId = try #require(second.results.first?.conflictId)

            let people: ItemList<Components.Schemas.Person> = try await kith.send(.get, "/v1/families/\(family.id)/people", as: .priya)
            let current = try #require(people.items.first)
            #expect(current.contact.phone == "01632 960002")
            #expect(current.fieldVersions.additionalProperties["phone"] == 2)

            for device in [priyas, toms] {
                let page = try await device.pull(cursor: nil)
                let conflict = try #require(page.reviewItems.first { $0.id == conflictId })
                #expect(conflict.kind == .conflict)
                let values = conflict.payload?.additionalProperties.value["values"] as? [[String: Any]]
                #expect(Set(values?.compactMap { $0["value"] as? String } ?? []) == ["01632 960001", "01632 960002"])
            }
            let supervisors: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: .sam)
            #expect(supervisors.items.map(\.id).contains(conflictId))

            let resolved = try await priyas.push([Mutation.mutation(2, "conflict.resolve", args: ["conflictId": conflictId, "value": "01632 960001"])])
            #expect(resolved.results.map(\.status) == [.applied])
            let after: ItemList<Components.Schemas.Person> = try await kith.send(.get, "/v1/families/\(family.id)/people", as: .tom)
            #expect(after.items[0].contact.phone == "01632 960001")
            for device in [priyas, toms] {
                #expect(try await device.pull(cursor: nil).reviewItems.isEmpty)
            }
            // Edits of different fields never conflict.
            let email = try await toms.push([Mutation.mutation(
                2, "person.setFields", args: ["personId": person.id, "fields": ["email": ["value": "joy@example.test", "baseVersion": 0]]])])
            #expect(email.results.map(\.status) == [.applied])
        }
    }

    @Test func reallocationWhileOfflineKeepsTheWorkAndPurgesTheFamilyAfterwards() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let person: Components.Schemas.Person = try await kith.send(
                .post, "/v1/families/\(family.id)/people", as: .priya, json: ["name": "Amy"], expect: .created)
            let device = try await FieldDevice.register(kith, as: .priya)
            let (pages, cursor) = try await device.pullAll(from: nil)
            let grant = try #require(pages.last?.scope.grants.first { $0.familyId == family.id }).grantId

            // Offline, Priya writes two notes and corrects a phone number; meanwhile the family moves to Tom.
            let allocations: ItemList<Components.Schemas.Allocation> = try await kith.send(.get, "/v1/families/\(family.id)/allocations", as: .sam)
            let _: Components.Schemas.Allocation = try await kith.send(
                .post, "/v1/allocations/\(allocations.items[0].id)/end", as: .sam,
                json: ["endedOn": CalendarDay.today.text, "reason": "caseload rebalanced"])
            let _: Components.Schemas.Allocation = try await kith.send(
                .post, "/v1/families/\(family.id)/allocations", as: .sam,
                json: ["workerId": kith.fixture.id(.tom).text, "role": "allocatedWorker", "startedOn": CalendarDay.today.text], expect: .created)

            let pushed = try await device.push([
                Mutation.note(1, family: family.id, body: "Monday visit", grant: grant),
                Mutation.note(2, family: family.id, body: "Thursday visit", grant: grant),
                Mutation.setPhone(3, person: person.id, phone: "01632 960003", baseVersion: 0, grant: grant),
            ])
            #expect(pushed.results.map(\.status) == [.applied, .applied, .rejected])
            #expect(pushed.results.map(\.reason) == ["late_after_reallocation", "late_after_reallocation", "proposal: the family was reallocated"])
            #expect(try await kith.count("SELECT count(*) FROM notes WHERE late_after_reallocation") == 2)
            #expect(try await kith.count("SELECT count(*) FROM people WHERE phone IS NOT NULL") == 0)
            let toms: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: .tom)
            #expect(toms.items.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.late, .late, .proposal])
            let sams: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: .sam)
            #expect(sams.items.count == 3)

            // Tom accepts the proposal: the number is set, as of now.
            let proposal = try #require(toms.items.first { $0.kind == .proposal })
            let _: Components.Schemas.ReviewItem = try await kith.send(
                .post, "/v1/review-items/\(proposal.id)/resolve", as: .tom, json: ["action": "accept"])
            #expect(try await kith.count("SELECT count(*) FROM people WHERE phone = '01632 960003'") == 1)

            let first = try await device.pull(cursor: cursor)
            #expect(first.instructions.map(\.familyId) == [family.id])
            #expect(first.instructions.map(\._type) == [.purgeFamily])
            #expect(first.scope.removals.map(\.grantId) == [grant])
            #expect(first.changes.isEmpty)
            let again = try await device.pull(cursor: first.cursor)
            #expect(again.instructions.map(\.grantId) == [grant])
            try await device.ack([(family.id, grant)])
            #expect(try await kith.count(
                "SELECT count(*) FROM audit_events WHERE entity = 'devicePurge' AND family_id = '\(family.id)'") == 1)

            let _: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(family.id)/notes", as: .tom, json: ["body": "Tom's first visit", "audience": "professional"], expect: .created)
            let (later, _) = try await device.pullAll(from: again.cursor)
            #expect(later.flatMap(\.instructions).isEmpty)
            #expect(later.flatMap(\.changes).isEmpty)
        }
    }

    @Test func aFamilyAllocatedTodayArrivesWholeHoweverOld() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily("The Okonjo family", by: .tom)
            let person: Components.Schemas.Person = try await kith.send(
                .post, "/v1/families/\(family.id)/people", as: .tom, json: ["name": "Femi"], expect: .created)
            let note: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(family.id)/notes", as: .tom, json: ["body": "An old note", "audience": "professional"], expect: .created)
            _ = try await kith.db.query(
                "UPDATE families SET opened_on = current_date - 200 WHERE id = \(UUID(uuidString: family.id)!)", logger: TestDatabase.logger)

            let device = try await FieldDevice.register(kith, as: .priya)
            let (empty, cursor) = try await device.pullAll(from: nil)
            #expect(empty.flatMap(\.changes).isEmpty)

            let _: Components.Schemas.Allocation = try await kith.send(
                .post, "/v1/families/\(family.id)/allocations", as: .sam,
                json: ["workerId": kith.fixture.id(.priya).text, "role": "allocatedWorker", "startedOn": CalendarDay.today.text], expect: .created)
            let (pages, _) = try await device.pullAll(from: cursor)
            let changes = pages.flatMap(\.changes)
            #expect(pages.first?.scope.grants.map(\.familyId) == [family.id])
            #expect(changes.contains { $0.entity == .family && $0.id == family.id })
            #expect(changes.contains { $0.entity == .person && $0.id == person.id })
            #expect(changes.contains { $0.entity == .note && $0.id == note.id })
            // Tom's allocation and Priya's; the feed may bring them again after the whole family (harmless re-delivery,
            // depending on when other tests' transactions let the horizon pass).
            #expect(Set(changes.filter { $0.entity == .allocation }.map(\.id)).count == 2)
        }
    }

    @Test func theChangeLogIsPrunedOfWhatNoCursorStillNeeds() async throws {
        try await Kith.run { kith in
            let logger = TestDatabase.logger
            // Priya's phone last pulled before the family existed.
            let phone = try await FieldDevice.register(kith, as: .priya, name: "phone")
            let (_, phoneCursor) = try await phone.pullAll(from: nil)
            let family = try await kith.openFamily()
            let _: Components.Schemas.Person = try await kith.send(
                .post, "/v1/families/\(family.id)/people", as: .priya, json: ["name": "Amy"], expect: .created)
            let written = try #require(
                try await kith.db.query("SELECT max(xid)::text FROM sync_changes", logger: logger).decode(String.self).first { _ in true }
                    .flatMap(UInt64.init))

            // Her tablet's feed has passed all of that (other tests' transactions may hold the horizon back a while).
            let tablet = try await FieldDevice.register(kith, as: .priya)
            let epoch = try await kith.db.withConnection { try await $0.syncEpoch(kith.fixture.organisation, logger: logger) }
            var (_, cursor) = try await tablet.pullAll(from: nil)
            for _ in 0..<1200 where try PullCursor.open(cursor, epoch: epoch, deviceId: UUID(uuidString: tablet.id)!).afterXid <= written {
                try await Task.sleep(for: .milliseconds(25))
                cursor = try await tablet.pullAll(from: cursor).cursor
            }

            // Half a year later only the note written since is recent.
            let note: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(family.id)/notes", as: .priya, json: ["body": "Still visiting", "audience": "professional"],
                expect: .created)
            try await kith.db.query(
                "UPDATE sync_changes SET changed_at = now() - interval '200 days' WHERE xid <= \(String(written))::xid8", logger: logger)
            let old = try await kith.count("SELECT count(*) FROM sync_changes WHERE changed_at < now() - interval '180 days'")
            let all = try await kith.count("SELECT count(*) FROM sync_changes")
            #expect(old >= 3 && all > old)
            let pruned = try await kith.db.withConnection { try await $0.pruneChangeLog(olderThan: PullCursor.retention, logger: logger) }
            #expect(pruned == old)
            #expect(try await kith.count("SELECT count(*) FROM sync_changes") == all - old)
            #expect(try await kith.db.withConnection { try await $0.pruneChangeLog(olderThan: PullCursor.retention, logger: logger) } == 0)

            // The tablet goes on from where it was and gets the note.
            let (later, _) = try await tablet.pullUntil(from: cursor) { $0.flatMap { $0.ids(.note) }.contains(note.id) }
            #expect(later.flatMap { $0.ids(.note) }.contains(note.id))
            // The phone may have missed rows that are gone: it is told to start again, and gets the family whole.
            let stale = try await phone.post("/v1/sync/pull", ["protocol": 1, "deviceId": phone.id, "cursor": phoneCursor])
            #expect(stale.status == .gone)
            #expect(try kith.problem(stale).code == "cursor_expired")
            #expect(try await phone.pullAll(from: nil).pages.flatMap { $0.ids(.note) }.contains(note.id))
        }
    }

    @Test func cursorsAreTamperEvidentAndCarryTheirEpoch() async throws {
        try await Kith.run { kith in
            _ = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let (_, cursor) = try await device.pullAll(from: nil)
            let parts = cursor.split(separator: ".")
            let payload = try #require(Data(base64URL: parts[0]))
            var fields = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
            func pull(_ text: String) async throws -> TestResponse {
                try await device.post("/v1/sync/pull", ["protocol": 1, "deviceId": device.id, "cursor": text])
            }

            // A position moved back under the original signature, and a signature not made with the key.
            fields["afterXid"] = 0
            let moved = try JSONSerialization.data(withJSONObject: fields).base64URL + "." + parts[1]
            #expect(try await pull(moved).status == .badRequest)
            var mac = try #require(Data(base64URL: parts[1]))
            mac[0] ^= 0x01
            let forged = try await pull(parts[0] + "." + mac.base64URL)
            #expect(forged.status == .badRequest)
            #expect(try kith.problem(forged).code == "malformed_request")
            // A cursor naming another generation cannot be checked against that generation's retired key, so it gets
            // the answer a pre-restore cursor gets; all that does is start this device's own feed again.
            fields["generation"] = UUID().uuidString
            let otherGeneration = try JSONSerialization.data(withJSONObject: fields).base64URL + "." + parts[1]
            #expect(try kith.problem(try await pull(otherGeneration)).code == "reset_required")

            let other = try await FieldDevice.register(kith, as: .priya, name: "phone")
            let borrowed = try await other.post("/v1/sync/pull", ["protocol": 1, "deviceId": other.id, "cursor": cursor])
            #expect(borrowed.status == .badRequest)

            // An expired cursor: sealed with the real key, issued 181 days ago.
            let epoch = try await kith.db.withConnection { try await $0.syncEpoch(kith.fixture.organisation, logger: TestDatabase.logger) }
            var old = try PullCursor.open(cursor, epoch: epoch, deviceId: UUID(uuidString: device.id)!)
            old.issuedAt = Date().addingTimeInterval(-181 * 86_400)
            let expired = try await device.post("/v1/sync/pull", ["protocol": 1, "deviceId": device.id, "cursor": try old.sealed(with: epoch.cursorKey)])
            #expect(expired.status == .gone)
            #expect(try kith.problem(expired).code == "cursor_expired")

            // After a restore the operator starts a new generation: old cursors must start again.
            try await Administration(db: kith.db, logger: TestDatabase.logger).startNewSyncGeneration()
            let restored = try await device.post("/v1/sync/pull", ["protocol": 1, "deviceId": device.id, "cursor": cursor])
            #expect(restored.status == .conflict)
            #expect(try kith.problem(restored).code == "reset_required")
            #expect(try await device.pullAll(from: nil).pages.flatMap(\.changes).isEmpty == false)
        }
    }
}
