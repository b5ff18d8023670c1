import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import KithCore
import PostgresNIO
import Testing
@testable import KithServer

/// Sync under the access policy: late work after a reallocation, review items that carry restricted notes, and a
/// revoked device's quarantine.
@Suite struct SyncTrustTests {
    /// Priya's device holds the family; the family then moves to Tom (allocated worker) with Chris as coordinator.
    static func reallocated(_ kith: Kith) async throws -> (family: Components.Schemas.Family, device: FieldDevice, grant: String) {
        let family = try await kith.openFamily()
        let device = try await FieldDevice.register(kith, as: .priya)
        let (pages, _) = try await device.pullAll(from: nil)
        let grant = try #require(pages.last?.scope.grants.first { $0.familyId == family.id }).grantId
        let allocations: ItemList<Components.Schemas.Allocation> = try await kith.send(.get, "/v1/families/\(family.id)/allocations", as: .sam)
        let _: Components.Schemas.Allocation = try await kith.send(
            .post, "/v1/allocations/\(allocations.items[0].id)/end", as: .sam,
            json: ["endedOn": CalendarDay.today.text, "reason": "caseload rebalanced"])
        for (who, role) in [(Fixture.Who.tom, "allocatedWorker"), (.chris, "coordinator")] {
            let _: Components.Schemas.Allocation = try await kith.send(
                .post, "/v1/families/\(family.id)/allocations", as: .sam,
                json: ["workerId": kith.fixture.id(who).text, "role": role, "startedOn": CalendarDay.today.text], expect: .created)
        }
        return (family, device, grant)
    }

    @Test func aLateRestrictedNoteIsForTheAllocatedWorkerAndSupervisorsOnlyAndReadingItIsAudited() async throws {
        try await Kith.run { kith in
            let (family, device, grant) = try await Self.reallocated(kith)
            var restricted = Mutation.note(1, family: family.id, body: "Disclosure by a neighbour", grant: grant)
            var args = restricted["args"] as! [String: Any]
            args["audience"] = "restricted"
            restricted["args"] = args
            let pushed = try await device.push([restricted, Mutation.note(2, family: family.id, body: "Ordinary visit", grant: grant)])
            #expect(pushed.results.map(\.status) == [.applied, .applied])

            func kinds(_ who: Fixture.Who) async throws -> [String] {
                let page: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: who)
                return page.items.map { ($0.payload?.additionalProperties.value["args"] as? [String: Any])?["body"] as? String ?? "?" }.sorted()
            }
            #expect(try await kinds(.tom) == ["Disclosure by a neighbour", "Ordinary visit"])
            #expect(try await kinds(.sam) == ["Disclosure by a neighbour", "Ordinary visit"])
            // The coordinator was addressed too, but may not read restricted notes.
            #expect(try await kinds(.chris) == ["Ordinary visit"])
            #expect(try await kinds(.ruth) == [])
            // The previous worker no longer has the family: the items are not hers.
            #expect(try await kinds(.priya) == [])
            let chris = kith.fixture.id(.chris).text
            #expect(try await kith.count(
                "SELECT count(*) FROM audit_events WHERE worker_id = '\(chris)' AND entity = 'reviewItem' AND family_id = '\(family.id)'") == 1)
            #expect(try await kith.count(
                "SELECT count(*) FROM audit_events WHERE worker_id = '\(kith.fixture.id(.priya).text)' AND entity = 'reviewItem'") == 0)

            // A device of Chris's pulls the same policy: the restricted item is not in its list.
            let chrisDevice = try await FieldDevice.register(kith, as: .chris)
            let (chrisPages, _) = try await chrisDevice.pullAll(from: nil)
            #expect(chrisPages.last?.reviewItems.count == 1)
        }
    }

    /// A coordinator's tablet holds the families they coordinate, without a word of their restricted notes, and nothing
    /// of a family of their team they are not allocated to.
    @Test func aCoordinatorsDevicePullsNoRestrictedNoteAndNoFamilyTheyAreNotAllocatedTo() async throws {
        try await Kith.run { kith in
            let coordinated = try await kith.openFamily("The Adeyemi family")
            try await kith.allocate(.chris, to: coordinated, role: .coordinator)
            let professional: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(coordinated.id)/notes", as: .priya, json: ["body": "Met the family at home."], expect: .created)
            let restricted: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(coordinated.id)/notes", as: .priya,
                json: ["body": "Disclosure by a neighbour", "audience": "restricted"], expect: .created)
            // Of Chris's team, not allocated to Chris.
            let other = try await kith.openFamily("The Brennan family", by: .tom)
            let othersNote: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(other.id)/notes", as: .tom, json: ["body": "Brennan visit"], expect: .created)

            let device = try await FieldDevice.register(kith, as: .chris)
            let (pages, _) = try await device.pullAll(from: nil)
            let changes = pages.flatMap(\.changes)
            #expect(pages.last?.scope.grants.map(\.familyId) == [coordinated.id])
            #expect(changes.contains { $0.id == professional.id })
            #expect(!changes.contains { $0.id == restricted.id })
            #expect(!changes.contains { $0.familyId == other.id || $0.id == other.id || $0.id == othersNote.id })
            let delivered = String(decoding: try Kith.encoder.encode(pages), as: UTF8.self)
            for unseen in ["Disclosure by a neighbour", "Brennan", restricted.current.id] {
                #expect(!delivered.contains(unseen), "the coordinator's device received \(unseen)")
            }

            // Later changes follow the same policy: a new restricted note comes nowhere near the device.
            let (_, cursor) = try await device.pullAll(from: nil)
            let later: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(coordinated.id)/notes", as: .priya,
                json: ["body": "A second disclosure", "audience": "restricted"], expect: .created)
            let marker: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(coordinated.id)/notes", as: .priya, json: ["body": "Written after it"], expect: .created)
            let (next, _) = try await device.pullUntil("the note written after the restricted one", from: cursor) {
                $0.flatMap { $0.ids(.note) }.contains(marker.id)
            }
            #expect(!next.flatMap(\.changes).contains { $0.id == later.id })
        }
    }

    @Test func lateWorkIsTakenForThirtyDaysAndAnAmendmentOfTheNewWorkersNoteIsOnlyProposed() async throws {
        try await Kith.run { kith in
            let (family, device, grant) = try await Self.reallocated(kith)
            let toms: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(family.id)/notes", as: .tom, json: ["body": "Tom's first visit"], expect: .created)
            let amend = Mutation.mutation(1, "note.amend", grant: grant, args: [
                "noteId": toms.id, "supersedes": toms.current.id, "body": "Priya's version", "reason": "from the old tablet"])
            let pushed = try await device.push([amend, Mutation.note(2, family: family.id, body: "Late but in time", grant: grant)])
            #expect(pushed.results.map(\.status) == [.rejected, .applied])
            #expect(pushed.results[0].reason == "proposal: the family was reallocated")
            let note: Components.Schemas.JudgmentNote = try await kith.send(.get, "/v1/notes/\(toms.id)", as: .tom)
            #expect(note.current.body == "Tom's first visit" && note.revisions.count == 1)

            // Thirty-one days after Priya's allocation ended, late notes are refused and kept whole for review.
            try await kith.db.query(
                """
                UPDATE allocations SET started_on = current_date - 40, ended_on = current_date - 31
                WHERE worker_id = \(kith.fixture.id(.priya)) AND ended_on IS NOT NULL
                """, logger: TestDatabase.logger)
            let tooLate = try await device.push([Mutation.note(3, family: family.id, body: "From the drawer", grant: grant)])
            #expect(tooLate.results.map(\.status) == [.rejected])
            #expect(tooLate.results[0].reason?.contains("30 days") == true)
            #expect(try await kith.count("SELECT count(*) FROM note_revisions WHERE body = 'From the drawer'") == 0)
            #expect(try await kith.count(
                "SELECT count(*) FROM review_items WHERE kind = 'rejected' AND payload -> 'args' ->> 'body' = 'From the drawer'") == 1)
        }
    }

    @Test func aRevokedDeviceQuarantinesTwentyPushesAndASupervisorCannotAcceptTheirOwn() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily(by: .sam)
            let device = try await FieldDevice.register(kith, as: .sam)
            let _: Components.Schemas.Device = try await kith.send(.post, "/v1/devices/\(device.id)/revoke", as: .sam)
            var details: [String] = []
            for attempt in 1...22 {
                let refused = try await device.post(
                    "/v1/sync/push",
                    ["protocol": 1, "deviceId": device.id, "clientVersion": "1", "mutations": [Mutation.note(Int64(attempt), family: family.id)]])
                #expect(refused.status == .forbidden)
                details.append(try kith.problem(refused).detail ?? "")
            }
            #expect(try await kith.count("SELECT count(*) FROM review_items WHERE kind = 'quarantined'") == 20)
            #expect(details[19].contains("kept in quarantine"))
            #expect(details[20].contains("already holds 20") && details[21].contains("keep the work on the device"))

            // Sam supervises North, but this is Sam's own device: another supervisor of the team decides.
            let queue: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items?limit=1", as: .sam)
            let item = try #require(queue.items.first { $0.kind == .quarantined })
            let own = try await kith.request(.post, "/v1/review-items/\(item.id)/resolve", as: .sam, json: ["action": "accept"])
            #expect(own.status == .forbidden)
            let other = try await kith.addWorker("Second North Supervisor", roles: ["supervisor"], team: kith.fixture.north)
            let accepted = try await kith.request(
                .post, "/v1/review-items/\(item.id)/resolve", token: other.token, body: Data(#"{"action": "accept"}"#.utf8))
            #expect(accepted.status == .ok, "\(String(buffer: accepted.body))")
            #expect(try await kith.count("SELECT count(*) FROM notes") == 1)
            // The decision is in the organisation's feed for the team.
            let feed: Components.Schemas.AuditPage = try await kith.send(.get, "/v1/audit", as: .alex)
            #expect(feed.items.contains { $0.entity == "reviewItem" && $0.recordId == item.id && $0.teamId == kith.fixture.north.text })
        }
    }
}
