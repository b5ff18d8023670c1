import Foundation
import KithAPI
import Testing
@testable import KithServer

/// Every grant of case access is seen by the people it concerns, and a team's supervisors can list who reads its
/// families and why.
@Suite struct AccessReviewTests {
    func grants(_ kith: Kith, as who: Fixture.Who) async throws -> [Components.Schemas.ReviewItem] {
        let page: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: who)
        return page.items.filter { $0.kind == .accessGranted }
    }

    @Test func aGrantOfCaseAccessIsAReviewItemForTheTeamsSupervisors() async throws {
        try await Kith.run { kith in
            let north = kith.fixture.north.text
            let nia: Components.Schemas.Worker = try await kith.send(
                .post, "/v1/workers", as: .alex,
                json: Components.Schemas.CreateWorker(
                    name: "Nia Brown", email: "nia@test.kith", password: "a long enough password", roles: [.practitioner],
                    teamIds: [north]),
                expect: .created)
            var sams = try await grants(kith, as: .sam)
            #expect(sams.count == 1)
            #expect(sams.first?.summary.contains("Nia Brown") == true && sams.first?.summary.contains("Alex Morgan") == true)
            #expect(sams.first?.payload?.additionalProperties.value["workerId"] as? String == nia.id)
            #expect(try await grants(kith, as: .ruth).isEmpty)

            // Tom is made a supervisor: Sam hears of it; Tom, a supervisor of North now, does not receive the item about
            // himself. An administrator's own role reads no case content and brings no item.
            let _: Components.Schemas.Worker = try await kith.send(
                .patch, "/v1/workers/\(kith.fixture.id(.tom))", as: .alex, json: ["roles": ["practitioner", "supervisor"]])
            sams = try await grants(kith, as: .sam)
            #expect(sams.count == 2 && sams.contains { $0.summary.contains("Tom Walsh") && $0.summary.contains("supervisor") })
            #expect(try await grants(kith, as: .tom).filter { $0.summary.contains("Tom Walsh") }.isEmpty)
            let _: Components.Schemas.Worker = try await kith.send(
                .patch, "/v1/workers/\(nia.id)", as: .alex, json: ["roles": ["practitioner", "admin"]])
            #expect(try await grants(kith, as: .sam).count == 2)
            // Omar joins North too: North's supervisors hear of it, not South's.
            let _: Components.Schemas.Worker = try await kith.send(
                .patch, "/v1/workers/\(kith.fixture.id(.omar))", as: .alex, json: ["teamIds": [kith.fixture.south.text, north]])
            #expect(try await grants(kith, as: .sam).count == 3)
            #expect(try await grants(kith, as: .ruth).isEmpty)
            // Acknowledged, it leaves the queue; the grant stays.
            let item = try #require(sams.first)
            let _: Components.Schemas.ReviewItem = try await kith.send(
                .post, "/v1/review-items/\(item.id)/resolve", as: .sam, json: ["action": "accept"])
            #expect(try await grants(kith, as: .sam).count == 2)
            // Never on a device.
            let device = try await FieldDevice.register(kith, as: .sam)
            let (pages, _) = try await device.pullAll(from: nil)
            #expect(pages.allSatisfy { $0.reviewItems.allSatisfy { !$0.summary.contains("can now read") } })
        }
    }

    @Test func aTeamsAccessReviewListsWhoReadsItsFamiliesAndWhy() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let _: Components.Schemas.BreakGlassGrant = try await kith.send(
                .post, "/v1/families/\(family.id)/access", as: .omar, json: ["reason": "Duty call about the family"], expect: .created)
            let path = "/v1/teams/\(kith.fixture.north)/access-review"
            let review: ItemList<Components.Schemas.AccessReviewEntry> = try await kith.send(.get, path, as: .sam)
            let seen = Set(review.items.map { "\($0.workerName) \($0.reason.rawValue) \($0.familyId ?? "-")" })
            #expect(seen == ["Sam Okafor supervisor -", "Priya Shah allocation \(family.id)", "Omar Haddad breakGlass \(family.id)"])
            #expect(review.items.first { $0.reason == .breakGlass }?.until != nil)
            let byAdmin: ItemList<Components.Schemas.AccessReviewEntry> = try await kith.send(.get, path, as: .alex)
            #expect(byAdmin.items.count == 3)
            #expect(try await kith.request(.get, path, as: .priya).status == .forbidden)
            #expect(try await kith.request(.get, path, as: .ruth).status == .notFound)
            #expect(try await kith.request(.get, path, as: .zed).status == .notFound)
            #expect(try await kith.count("SELECT count(*) FROM audit_events WHERE entity = 'accessReview'") == 2)
        }
    }
}
