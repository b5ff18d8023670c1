import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import KithCore
import PostgresNIO
import Testing
@testable import KithServer

/// Access follows relationships; everyone else gets 404 unless they open break-glass access with a reason.
@Suite struct AccessTests {
    @Test func theAllocatedWorkerAndTheTeamSupervisorReadTheFamily() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            for who in [Fixture.Who.priya, .sam] {
                let read: Components.Schemas.Family = try await kith.send(.get, "/v1/families/\(family.id)", as: who)
                #expect(read.displayName == "The Adeyemi family")
            }
        }
    }

    @Test func everyoneOutsideTheRelationshipGets404AsIfTheFamilyDidNotExist() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let missing = try await kith.request(.get, "/v1/families/\(UUID().text)", as: .tom)
            for who in [Fixture.Who.tom, .omar, .ruth, .chris, .alex, .zed] {
                let response = try await kith.request(.get, "/v1/families/\(family.id)", as: who)
                #expect(response.status == .notFound, "\(who)")
                #expect(String(buffer: response.body) == String(buffer: missing.body), "\(who)")
                #expect(try await kith.request(.get, "/v1/families/\(family.id)/timeline", as: who).status == .notFound)
                #expect(try await kith.request(.post, "/v1/families/\(family.id)/people", as: who, json: ["name": "Amy"]).status == .notFound)
            }
            #expect(try await kith.count("SELECT count(*) FROM people") == 0)
        }
    }

    @Test func allocatingSomeoneGivesThemAccessAndEndingItTakesItAway() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let allocation: Components.Schemas.Allocation = try await kith.send(
                .post, "/v1/families/\(family.id)/allocations", as: .sam,
                json: ["workerId": kith.fixture.id(.tom).text, "role": "familySupport", "startedOn": "2026-01-01"], expect: .created)
            #expect(try await kith.request(.get, "/v1/families/\(family.id)", as: .tom).status == .ok)
            let twice = try await kith.request(
                .post, "/v1/families/\(family.id)/allocations", as: .sam,
                json: ["workerId": kith.fixture.id(.tom).text, "role": "familySupport", "startedOn": "2026-02-01"])
            #expect(twice.status == .conflict)
            // A practitioner cannot allocate; to an administrator the family does not exist.
            #expect(try await kith.request(
                .post, "/v1/families/\(family.id)/allocations", as: .priya,
                json: ["workerId": kith.fixture.id(.omar).text, "role": "familySupport", "startedOn": "2026-01-01"]).status == .forbidden)
            #expect(try await kith.request(
                .post, "/v1/families/\(family.id)/allocations", as: .alex,
                json: ["workerId": kith.fixture.id(.chris).text, "role": "coordinator", "startedOn": "2026-01-01"]).status == .notFound)

            let _: Components.Schemas.Allocation = try await kith.send(
                .post, "/v1/allocations/\(allocation.id)/end", as: .sam, json: ["endedOn": "2026-01-02", "reason": "plan completed"])
            #expect(try await kith.request(.get, "/v1/families/\(family.id)", as: .tom).status == .notFound)
        }
    }

    @Test func supervisorsSeeTheirTeamsBreakGlassInOnePlaceAndWhoElseViewedAFamily() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let reason = "Duty cover: police called about the children tonight"
            let _: Components.Schemas.BreakGlassGrant = try await kith.send(
                .post, "/v1/families/\(family.id)/access", as: .tom, json: ["reason": reason], expect: .created)
            let _: Components.Schemas.TimelinePage = try await kith.send(.get, "/v1/families/\(family.id)/timeline", as: .tom)
            let _: Components.Schemas.TimelinePage = try await kith.send(.get, "/v1/families/\(family.id)/timeline", as: .priya)

            struct Openings: Decodable { let items: [Components.Schemas.BreakGlassOpening] }
            let path = "/v1/teams/\(kith.fixture.north)/break-glass"
            let openings: Openings = try await kith.send(.get, path, as: .sam)
            #expect(openings.items.map(\.reason) == [reason])
            #expect(openings.items.first?.workerName == "Tom Walsh" && openings.items.first?.familyName == "The Adeyemi family")
            #expect(try await kith.request(.get, path, as: .priya).status == .forbidden)
            #expect(try await kith.request(.get, path, as: .ruth).status == .notFound)
            #expect(try await kith.request(.get, path + "?since=2026-13-01", as: .sam).status == .badRequest)
            let later: Openings = try await kith.send(.get, path + "?since=\(CalendarDay.today.adding(days: 1).text)", as: .sam)
            #expect(later.items.isEmpty)
            #expect(try await kith.count("SELECT count(*) FROM audit_events WHERE entity = 'breakGlass' AND action = 'read'") == 1)

            // Who else viewed the family: Priya's own reads left out, Tom's kept.
            let all: Components.Schemas.AuditPage = try await kith.send(.get, "/v1/families/\(family.id)/audit", as: .sam)
            let others: Components.Schemas.AuditPage = try await kith.send(
                .get, "/v1/families/\(family.id)/audit?leaveOutAllocatedReads=true", as: .sam)
            let priya = kith.fixture.id(.priya).text
            #expect(all.items.contains { $0.action == .read && $0.workerId == priya })
            #expect(!others.items.contains { $0.action == .read && $0.workerId == priya })
            #expect(others.items.contains { $0.action == .read && $0.workerId == kith.fixture.id(.tom).text })
            #expect(others.items.contains { $0.action == .write && $0.workerId == priya })
        }
    }

    @Test func breakGlassOpensTheRecordWithAReasonIsAuditedAndExpires() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let tooShort = try await kith.request(.post, "/v1/families/\(family.id)/access", as: .tom, json: ["reason": "because"])
            #expect(tooShort.status == .badRequest)
            #expect(try kith.problem(tooShort).errors?.map(\.field) == ["reason"])

            let reason = "Duty cover: police called about the children tonight"
            let grant: Components.Schemas.BreakGlassGrant = try await kith.send(
                .post, "/v1/families/\(family.id)/access", as: .tom, json: ["reason": reason], expect: .created)
            #expect(grant.expiresAt.timeIntervalSince(grant.openedAt) == 4 * 3600)
            #expect(try await kith.request(.get, "/v1/families/\(family.id)", as: .tom).status == .ok)

            let audit: Components.Schemas.AuditPage = try await kith.send(.get, "/v1/families/\(family.id)/audit", as: .priya)
            let opened = try #require(audit.items.first { $0.action == .breakGlass })
            #expect(opened.workerId == kith.fixture.id(.tom).text && opened.reason == reason && opened.breakGlass)
            let read = try #require(audit.items.first { $0.action == .read && $0.workerId == kith.fixture.id(.tom).text })
            #expect(read.breakGlass)
            #expect(audit.items.filter { $0.workerId == kith.fixture.id(.priya).text }.allSatisfy { !$0.breakGlass })
            // The supervisor sees it too; the break-glass worker does not read the audit trail.
            let supervisorView: Components.Schemas.AuditPage = try await kith.send(.get, "/v1/families/\(family.id)/audit", as: .sam)
            #expect(supervisorView.items.contains { $0.action == .breakGlass })
            #expect(try await kith.request(.get, "/v1/families/\(family.id)/audit", as: .tom).status == .forbidden)

            try await kith.db.query("UPDATE break_glass_grants SET expires_at = now() - interval '1 second'")
            #expect(try await kith.request(.get, "/v1/families/\(family.id)", as: .tom).status == .notFound)
        }
    }

    @Test func administratorsReadNoCaseContent() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            #expect(try await kith.request(.get, "/v1/families/\(family.id)", as: .alex).status == .notFound)
            #expect(try await kith.request(.post, "/v1/families/\(family.id)/access", as: .alex, json: ["reason": "I would like to look please"]).status == .notFound)
            #expect(try await kith.request(.get, "/v1/families/\(family.id)/audit", as: .alex).status == .notFound)
            #expect(try await kith.request(.get, "/v1/families/\(family.id)/export", as: .alex).status == .notFound)
            #expect(try await kith.request(.post, "/v1/families", as: .alex, json: ["displayName": "Admin family"]).status == .forbidden)
        }
    }

    @Test func caseloadsListMyFamiliesAndSupervisorsSeeTheirTeams() async throws {
        try await Kith.run { kith in
            for name in ["Carter", "Ahmed", "Baker"] { _ = try await kith.openFamily("The \(name) family") }
            _ = try await kith.openFamily("The South family", by: .omar)

            let first: Components.Schemas.FamilyPage = try await kith.send(.get, "/v1/families?limit=2", as: .priya)
            #expect(first.items.map(\.displayName) == ["The Ahmed family", "The Baker family"])
            let cursor = try #require(first.next)
            let second: Components.Schemas.FamilyPage = try await kith.send(.get, "/v1/families?limit=2&after=\(cursor)", as: .priya)
            #expect(second.items.map(\.displayName) == ["The Carter family"])
            #expect(second.next == nil)

            let team: Components.Schemas.FamilyPage = try await kith.send(.get, "/v1/families?scope=team", as: .sam)
            #expect(team.items.count == 3)
            let south: Components.Schemas.FamilyPage = try await kith.send(.get, "/v1/families?scope=team", as: .ruth)
            #expect(south.items.map(\.displayName) == ["The South family"])
            #expect(try await kith.request(.get, "/v1/families?scope=team", as: .priya).status == .forbidden)
            let none: Components.Schemas.FamilyPage = try await kith.send(.get, "/v1/families", as: .tom)
            #expect(none.items.isEmpty)
            #expect(try await kith.request(.get, "/v1/families?after=garbage", as: .priya).status == .badRequest)
        }
    }

    /// Every list's cursor is signed for its list and its caller. The attack it stops: a hand-made cursor naming a
    /// family the caller cannot see made the page start after that family's name, so renaming one's own family and
    /// watching where the page began spelled out the hidden name.
    @Test func listCursorsAreSignedForTheirListAndTheirCaller() async throws {
        try await Kith.run { kith in
            let hidden = try await kith.openFamily("The Adeyemi family", by: .omar)
            for name in ["Carter", "Ahmed", "Baker"] { _ = try await kith.openFamily("The \(name) family") }
            // The old way in, by hand: the hidden family's id as the cursor.
            let handMade = PageCursor([hidden.id]).encoded
            let forged = try await kith.request(.get, "/v1/families?after=\(handMade)", as: .priya)
            #expect(forged.status == .badRequest)
            #expect(!String(buffer: forged.body).contains("Adeyemi"))

            let first: Components.Schemas.FamilyPage = try await kith.send(.get, "/v1/families?limit=1", as: .priya)
            let cursor = try #require(first.next)
            // Altered: the same keys with the signature of another, or one character changed.
            let keys = try #require(PageCursor(encoded: cursor, count: 2)).keys
            let swapped = PageCursor([hidden.id, keys[1]]).encoded
            var flipped = Array(cursor)
            flipped[flipped.count / 2] = flipped[flipped.count / 2] == "A" ? "B" : "A"
            for bad in [swapped, String(flipped)] {
                #expect(try await kith.request(.get, "/v1/families?after=\(bad)", as: .priya).status == .badRequest)
            }
            // Another caller's, or another list's: refused too.
            #expect(try await kith.request(.get, "/v1/families?after=\(cursor)", as: .sam).status == .badRequest)
            let family = try #require(first.items.first)
            #expect(try await kith.request(.get, "/v1/families/\(family.id)/timeline?after=\(cursor)", as: .priya).status == .badRequest)
            #expect(try await kith.request(.get, "/v1/review-items?after=\(cursor)", as: .priya).status == .badRequest)
            #expect(try await kith.request(.get, "/v1/families/\(family.id)/audit?after=\(cursor)", as: .priya).status == .badRequest)
            #expect(try await kith.request(.get, "/v1/audit?after=\(cursor)", as: .alex).status == .badRequest)
            // Its own caller goes on with it.
            let second: Components.Schemas.FamilyPage = try await kith.send(.get, "/v1/families?limit=1&after=\(cursor)", as: .priya)
            #expect(second.items.map(\.displayName) == ["The Baker family"])
        }
    }
}
