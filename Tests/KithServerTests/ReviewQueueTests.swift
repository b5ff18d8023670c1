import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import PostgresNIO
import Testing
@testable import KithServer

/// The review queue: sync work a person must decide on, in one place, addressed to a worker or to a team's supervisors.
@Suite struct ReviewQueueTests {
    @Test func workersSeeWhatIsAddressedToThemAndSupervisorsTheirTeams() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let org = kith.fixture.organisation
            let _: Components.Schemas.Allocation = try await kith.send(
                .post, "/v1/families/\(family.id)/allocations", as: .sam,
                json: ["workerId": kith.fixture.id(.tom).text, "role": "familySupport", "startedOn": "2026-01-01"], expect: .created)
            // As sync writes them: a late note for the family's current workers (Tom among them) and its supervisors, a
            // conflict for Priya, a rejected mutation of Omar's naming no family (for the South team's supervisors), and
            // one already resolved. Who sees them is decided by the access policy when they are listed.
            let items: [(String, UUID?, UUID?, UUID?, String)] = [
                ("late", UUID(uuidString: family.id)!, kith.fixture.id(.chris), kith.fixture.id(.tom), "open"),
                ("conflict", UUID(uuidString: family.id)!, kith.fixture.id(.priya), kith.fixture.id(.priya), "open"),
                ("rejected", nil, kith.fixture.id(.omar), nil, "open"),
                ("proposal", UUID(uuidString: family.id)!, kith.fixture.id(.chris), kith.fixture.id(.priya), "resolved"),
            ]
            for (index, (kind, familyId, worker, recipient, status)) in items.enumerated() {
                let id = UUID()
                try await kith.db.query(
                    """
                    INSERT INTO review_items (organisation_id, id, kind, family_id, worker_id, summary, status, created_at)
                    VALUES (\(org), \(id), \(kind), \(familyId), \(worker), \(kind + " item"),
                            \(status), now() - make_interval(mins => \(10 - index)::int))
                    """, logger: TestDatabase.logger)
                if let recipient {
                    try await kith.db.query(
                        "INSERT INTO review_item_recipients VALUES (\(org), \(id), \(recipient))", logger: TestDatabase.logger)
                }
            }
            func kinds(_ who: Fixture.Who, limit: Int = 50) async throws -> [String] {
                var seen: [String] = []
                var after: String?
                repeat {
                    let page: Components.Schemas.ReviewItemPage = try await kith.send(
                        .get, "/v1/review-items?limit=\(limit)" + (after.map { "&after=\($0)" } ?? ""), as: who)
                    seen += page.items.map(\.kind.rawValue)
                    after = page.next
                } while after != nil
                return seen
            }
            #expect(try await kinds(.tom) == ["late"])
            #expect(try await kinds(.priya) == ["conflict"])
            #expect(try await kinds(.sam, limit: 1) == ["late", "conflict"])
            #expect(try await kinds(.ruth) == ["rejected"])
            // Omar's own rejected work is his to see, as well as his supervisor's.
            #expect(try await kinds(.omar) == ["rejected"])
            #expect(try await kinds(.zed) == [])
        }
    }
}
