import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import KithCore
import NIOCore
import PostgresNIO
import Testing
@testable import KithServer

/// Anything written on a device is applied exactly once, or kept visibly for a person to decide.
@Suite struct SyncPushTests {
    @Test func aPushWhoseResponseWasLostIsResentAndAppliedOnce() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let note = Mutation.note(1, family: family.id)
            let first = try await device.push([note])
            #expect(first.results.map(\.status) == [.applied])
            #expect(first.lastAppliedSeq == 1 && first.expectedSeq == 2)
            let logged = try await kith.count("SELECT count(*) FROM sync_changes WHERE entity = 'note'")

            let again = try await device.push([note])
            #expect(again.results.map(\.status) == [.duplicate])
            #expect(again.lastAppliedSeq == 1)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 1)
            #expect(try await kith.count("SELECT count(*) FROM note_revisions") == 1)
            // A note and its first revision are one change each; the re-send added none.
            #expect(logged == 2)
            #expect(try await kith.count("SELECT count(*) FROM sync_changes WHERE entity = 'note'") == logged)

            // Another mutation under a used number is refused; the same mutation under the next number is a duplicate.
            let reused = try await device.push([Mutation.note(1, family: family.id)])
            #expect(reused.results.map(\.status) == [.seqConflict])
            var renumbered = note
            renumbered["seq"] = 2
            let moved = try await device.push([renumbered])
            #expect(moved.results.map(\.status) == [.duplicate] && moved.lastAppliedSeq == 2)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 1)
        }
    }

    @Test func theSamePushOnFiveConnectionsAppliesEachMutationOnce() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let mutations = (1...20).map { Mutation.note(Int64($0), family: family.id, body: "Visit \($0)") }
            let body = try JSONSerialization.data(
                withJSONObject: ["protocol": 1, "deviceId": device.id, "clientVersion": "1", "mutations": mutations])
            let responses = try await withThrowingTaskGroup(of: Components.Schemas.PushResponse.self) { group in
                for _ in 1...5 {
                    group.addTask {
                        let response = try await device.post("/v1/sync/push", raw: body)
                        #expect(response.status == .ok)
                        return try Kith.decoder.decode(Components.Schemas.PushResponse.self, from: response.body)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(responses.count == 5 && responses.allSatisfy { $0.lastAppliedSeq == 20 })
            let applied = responses.flatMap(\.results).filter { $0.status == .applied }
            #expect(applied.count == 20)
            #expect(Set(applied.map(\.id)).count == 20)
            #expect(responses.flatMap(\.results).allSatisfy { $0.status == .applied || $0.status == .duplicate })
            #expect(try await kith.count("SELECT count(*) FROM notes") == 20)
            #expect(try await kith.count("SELECT count(*) FROM sync_mutations") == 20)
        }
    }

    /// A run of notes written by one statement audits each note by itself: one write event naming that note and its
    /// family.
    @Test func eachNoteOfARunHasItsOwnAuditEvent() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let other = try await kith.openFamily("The Brennan family")
            let device = try await FieldDevice.register(kith, as: .priya)
            let run = (1...6).map { Mutation.note(Int64($0), family: $0 <= 3 ? family.id : other.id, body: "Visit \($0)") }
            let pushed = try await device.push(run)
            #expect(pushed.results.allSatisfy { $0.status == .applied })
            #expect(try await kith.count("SELECT count(*) FROM notes") == 6)
            #expect(try await kith.count(
                """
                SELECT count(*) FROM notes n
                WHERE (SELECT count(*) FROM audit_events e
                       WHERE e.entity = 'note' AND e.action = 'write' AND e.record_id = n.id AND e.family_id = n.family_id
                         AND e.worker_id = n.author_id AND NOT e.break_glass) = 1
                """) == 6)
            #expect(try await kith.count("SELECT count(*) FROM audit_events WHERE entity = 'note'") == 6)
        }
    }

    @Test func aWeekOfNotesGoesInOneStatementAndABadOneAmongThemIsStillRefusedAlone() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let other = try await kith.openFamily("The Brennan family")
            let device = try await FieldDevice.register(kith, as: .priya)
            let elsewhere = try await kith.json(
                .post, "/v1/families/\(other.id)/contacts", as: .priya, ["occurredAt": "2026-06-01T10:00:00Z", "kind": "phone"])
            let taken = UUID().text
            _ = try await device.push([Mutation.note(1, family: family.id, noteId: taken)])

            // Fifty notes in a run: the 15th reuses a note's id, the 30th names another family's contact, the 40th an
            // id earlier in the same push. Each of those three is refused alone and kept; the other 47 are written.
            var week = (2...51).map { Mutation.note(Int64($0), family: family.id, body: "Visit \($0)") }
            week[13] = Mutation.note(15, family: family.id, noteId: taken)
            var args = week[28]["args"] as! [String: Any]
            args["contactId"] = elsewhere["id"] as! String
            week[28]["args"] = args
            week[38] = Mutation.note(40, family: family.id, noteId: (week[0]["args"] as! [String: Any])["id"] as! String)
            let pushed = try await device.push(week)
            #expect(pushed.lastAppliedSeq == 51)
            let refused = pushed.results.filter { $0.status == .rejected }.map(\.seq)
            #expect(refused == [15, 30, 40])
            #expect(pushed.results.filter { $0.status == .applied }.count == 47)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 1 + 47)
            #expect(try await kith.count("SELECT count(*) FROM note_revisions") == 1 + 47)
            #expect(try await kith.count("SELECT count(*) FROM audit_events WHERE entity = 'note' AND action = 'write'") == 1 + 47)
            #expect(try await kith.count("SELECT count(*) FROM review_items WHERE kind = 'rejected'") == 3)
            // Review items reach devices whole on every pull, not through the change log (migration 0008).
            #expect(try await kith.count("SELECT count(*) FROM sync_changes WHERE entity = 'reviewItem'") == 0)
            #expect(try await kith.count("SELECT count(*) FROM sync_mutations") == 51)

            // A clean run of fifty, then the same run again: written once, then every one a duplicate.
            let before = try await kith.count("SELECT count(*) FROM notes")
            let clean = (52...101).map { Mutation.note(Int64($0), family: family.id) }
            let applied = try await device.push(clean)
            #expect(applied.results.allSatisfy { $0.status == .applied } && applied.lastAppliedSeq == 101)
            #expect(try await kith.count("SELECT count(*) FROM notes") == before + 50)
            let again = try await device.push(clean)
            #expect(again.results.allSatisfy { $0.status == .duplicate })
            #expect(try await kith.count("SELECT count(*) FROM notes") == before + 50)
        }
    }

    /// PostgreSQL cannot store U+0000, so a mutation carrying one is kept for its author with each NUL as U+FFFD, and
    /// the push goes on: a device whose outbox holds such a write is never stuck behind it. Found by the contract run.
    @Test func aMutationCarryingANULIsKeptWithoutItAndThePushGoesOn() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let result = try await device.push([
                Mutation.note(1, family: family.id, body: "Saw Amy\u{0} at school"),
                Mutation.mutation(2, "note.\u{0}create", args: ["familyId": family.id, "body\u{0}": "x"]),
                Mutation.note(3, family: family.id),
            ])
            #expect(result.results.map(\.status) == [.rejected, .rejected, .applied])
            #expect(try await kith.count(
                "SELECT count(*) FROM review_items WHERE kind = 'rejected' AND payload -> 'args' ->> 'body' = 'Saw Amy\u{FFFD} at school'") == 1)
            #expect(try await kith.count(
                "SELECT count(*) FROM review_items WHERE kind = 'rejected' AND payload ->> 'type' = 'note.\u{FFFD}create' AND payload -> 'args' ? 'body\u{FFFD}'") == 1)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 1)
        }
    }

    @Test func aGapStopsThePushUntilTheMissingNumberArrives() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let early = (1...3).map { Mutation.note(Int64($0), family: family.id) }
            _ = try await device.push(early)
            let later = (4...6).map { Mutation.note(Int64($0), family: family.id) }
            let gap = try await device.push(Array(later[1...]))
            #expect(gap.results.isEmpty)
            #expect(gap.expectedSeq == 4 && gap.lastAppliedSeq == 3)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 3)
            let filled = try await device.push(later)
            #expect(filled.results.map(\.status) == [.applied, .applied, .applied])
            #expect(filled.lastAppliedSeq == 6)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 6)
        }
    }

    @Test func aTooLargeNoteIsKeptWholeAndTheNextMutationStillApplies() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let huge = String(repeating: "a", count: 100 * 1024)
            let result = try await device.push([Mutation.note(1, family: family.id, body: huge), Mutation.note(2, family: family.id)])
            #expect(result.results.map(\.status) == [.rejected, .applied])
            #expect(result.results.first?.reason?.contains("body") == true)
            let reviewItemId = try #require(result.results.first?.reviewItemId)
            #expect(try await kith.count(
                "SELECT count(*) FROM review_items WHERE id = '\(reviewItemId)' AND kind = 'rejected' AND length(payload -> 'args' ->> 'body') = \(huge.count)") == 1)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 1)
            // The author sees it in their review queue; a re-send gets the stored result.
            let items: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: .priya)
            #expect(items.items.map(\.id) == [reviewItemId])
            let again = try await device.push([Mutation.note(1, family: family.id, body: huge)])
            #expect(again.results.first?.status == .seqConflict)
        }
    }

    @Test func moreThanFiveHundredMutationsAreRefusedWhole() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let mutations = (1...501).map { Mutation.note(Int64($0), family: family.id) }
            let response = try await device.post(
                "/v1/sync/push", ["protocol": 1, "deviceId": device.id, "clientVersion": "1", "mutations": mutations])
            #expect(response.status == .contentTooLarge)
            #expect(try kith.problem(response).code == "batch_too_large")
            #expect(try await kith.count("SELECT count(*) FROM notes") == 0)
            #expect(try await kith.count("SELECT last_applied_seq FROM devices") == 0)
            // More than 1 MiB is refused the same way.
            let big = try await device.post("/v1/sync/push", raw: Data(repeating: 0x20, count: 1_100_000))
            #expect(big.status == .contentTooLarge)
            #expect(try kith.problem(big).code == "batch_too_large")
        }
    }

    @Test func aMalformedMutationBetweenTwoGoodOnesIsRejectedAndKept() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let malformed = Mutation.mutation(2, "note.create", args: ["familyId": family.id, "audience": "everyone"])
            let unknown = Mutation.mutation(3, "note.delete", args: ["noteId": UUID().text])
            let result = try await device.push([
                Mutation.note(1, family: family.id), malformed, unknown, Mutation.note(4, family: family.id),
            ])
            #expect(result.results.map(\.status) == [.applied, .rejected, .rejected, .applied])
            #expect(result.lastAppliedSeq == 4)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 2)
            #expect(try await kith.count("SELECT count(*) FROM review_items WHERE kind = 'rejected' AND payload ? 'args'") == 2)
        }
    }

    @Test func aNoteWrittenAndAmendedOfflineArrivesWithEveryRevisionAndConcurrencyFlagged() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let note = UUID().text, first = UUID().text
            let result = try await device.push([
                Mutation.mutation(1, "note.create", args: [
                    "id": note, "revisionId": first, "familyId": family.id, "body": "Draft", "audience": "professional",
                ]),
                Mutation.mutation(2, "note.amend", args: ["noteId": note, "supersedes": first, "body": "Clearer", "reason": "typo"]),
                // Written on the same first revision, as a second device would have: kept, and flagged concurrent.
                Mutation.mutation(3, "note.amend", args: ["noteId": note, "supersedes": first, "body": "Other", "reason": "detail"]),
            ])
            #expect(result.results.map(\.status) == [.applied, .applied, .applied])
            let read: Components.Schemas.JudgmentNote = try await kith.send(.get, "/v1/notes/\(note)", as: .priya)
            #expect(read.revisions.map(\.body) == ["Draft", "Clearer", "Other"])
            #expect(read.revisions.first?.id == first)
            #expect(read.concurrent)
        }
    }

    @Test func theEnvelopeIsChecked() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let other = try await FieldDevice.register(kith, as: .priya, name: "phone")
            let mismatch = try await device.post(
                "/v1/sync/push", ["protocol": 1, "deviceId": other.id, "clientVersion": "1", "mutations": [Mutation.note(1, family: family.id)]])
            #expect(mismatch.status == .forbidden)
            #expect(try kith.problem(mismatch).code == "device_mismatch")
            let badId = try await device.post(
                "/v1/sync/push",
                ["protocol": 1, "deviceId": device.id, "clientVersion": "1", "mutations": [Mutation.note(1, family: family.id, id: "nope")]])
            #expect(badId.status == .badRequest)
            #expect(try kith.problem(badId).code == "malformed_request")
            let missing = try await device.post("/v1/sync/push", ["protocol": 1, "deviceId": device.id])
            #expect(missing.status == .badRequest)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 0)

            // An old client still gets its work off the device, but must update before it pulls again.
            let old = try await device.push([Mutation.note(1, family: family.id)], protocol: 0)
            #expect(old.results.map(\.status) == [.applied])
            let oldPull = try await device.post("/v1/sync/pull", ["protocol": 0, "deviceId": device.id])
            #expect(oldPull.status.code == 426)
            #expect(try kith.problem(oldPull).code == "protocol_too_old")
        }
    }

    @Test func aDeviceClockIsKeptAndAnImplausibleOneFlagged() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let written = Date().addingTimeInterval(-3 * 86_400)
            let plausible = UUID().text, ahead = UUID().text
            // Device clocks send fractional seconds, or not.
            var withFraction = Mutation.note(1, family: family.id, noteId: plausible)
            withFraction["recordedAt"] = written.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
            let pushed = try await device.push([
                withFraction, Mutation.note(2, family: family.id, noteId: ahead, recordedAt: Date().addingTimeInterval(7 * 86_400)),
            ])
            #expect(pushed.results.map(\.status) == [.applied, .applied])
            let first: Components.Schemas.JudgmentNote = try await kith.send(.get, "/v1/notes/\(plausible)", as: .priya)
            let second: Components.Schemas.JudgmentNote = try await kith.send(.get, "/v1/notes/\(ahead)", as: .priya)
            #expect(first.clockSuspect == false && second.clockSuspect == true)
            #expect(abs((first.deviceRecordedAt ?? .distantPast).timeIntervalSince(written)) < 1)
        }
    }

    @Test func aRevokedDevicesPushIsQuarantinedAndAcceptedOnce() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let _: Components.Schemas.Device = try await kith.send(.post, "/v1/devices/\(device.id)/revoke", as: .sam)
            let mutations = (1...5).map { Mutation.note(Int64($0), family: family.id, body: "Visit \($0)") }
            let refused = try await device.post(
                "/v1/sync/push", ["protocol": 1, "deviceId": device.id, "clientVersion": "1", "mutations": mutations])
            #expect(refused.status == .forbidden)
            let problem = try kith.problem(refused)
            #expect(problem.code == "device_revoked")
            #expect(!String(buffer: refused.body).contains("Visit"))
            #expect(try await kith.count("SELECT count(*) FROM notes") == 0)
            #expect(try await kith.count("SELECT count(*) FROM review_items WHERE kind = 'quarantined'") == 1)

            // The supervisor sees it; to the worker on another device it is not there to decide.
            let queue: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: .sam)
            let item = try #require(queue.items.first { $0.kind == .quarantined })
            let notHers = try await kith.request(.post, "/v1/review-items/\(item.id)/resolve", as: .priya, json: ["action": "accept"])
            #expect(notHers.status == .notFound)
            let southern = try await kith.request(.post, "/v1/review-items/\(item.id)/resolve", as: .ruth, json: ["action": "accept"])
            #expect(southern.status == .notFound)

            let accepted: Components.Schemas.ReviewItem = try await kith.send(
                .post, "/v1/review-items/\(item.id)/resolve", as: .sam, json: ["action": "accept"])
            #expect(accepted.status == .resolved)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 5)
            #expect(try await kith.count("SELECT count(*) FROM notes WHERE author_id = '\(kith.fixture.id(.priya))'") == 5)
            let twice = try await kith.request(.post, "/v1/review-items/\(item.id)/resolve", as: .sam, json: ["action": "accept"])
            #expect(twice.status == .conflict)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 5)
            #expect(try await kith.count(
                "SELECT count(*) FROM audit_events WHERE entity = 'reviewItem' AND worker_id = '\(kith.fixture.id(.sam))'") == 1)
        }
    }

    @Test func aDiscardedQuarantineIsAudited() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let _: Components.Schemas.Device = try await kith.send(.post, "/v1/devices/\(device.id)/revoke", as: .sam)
            _ = try await device.post("/v1/sync/push", raw: Data("not json at all".utf8))
            let queue: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: .sam)
            let item = try #require(queue.items.first)
            #expect(item.payload?.additionalProperties.value["unreadableBody"] as? String == "not json at all")
            let discarded: Components.Schemas.ReviewItem = try await kith.send(
                .post, "/v1/review-items/\(item.id)/resolve", as: .sam, json: ["action": "discard"])
            #expect(discarded.status == .resolved)
            #expect(try await kith.count(
                "SELECT count(*) FROM audit_events WHERE entity = 'reviewItem' AND reason = 'discard quarantined review item'") == 1)
            #expect(try await kith.count("SELECT count(*) FROM notes WHERE family_id = '\(family.id)'") == 0)
        }
    }
}
