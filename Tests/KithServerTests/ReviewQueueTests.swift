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
            // As sync will write them: a late note for the new worker and the team, a conflict for Priya and her team, a rejected
            // mutation for the South team, and one already resolved.
            let items: [(String, UUID?, UUID?, String)] = [
                ("late", kith.fixture.id(.tom), kith.fixture.north, "open"),
                ("conflict", kith.fixture.id(.priya), kith.fixture.north, "open"),
                ("rejected", nil, kith.fixture.south, "open"),
                ("proposal", kith.fixture.id(.priya), kith.fixture.north, "resolved"),
            ]
            for (index, (kind, worker, team, status)) in items.enumerated() {
                try await kith.db.query(
                    """
                    INSERT INTO review_items (organisation_id, id, kind, family_id, team_id, worker_id, summary, status, created_at)
                    VALUES (\(org), \(UUID()), \(kind), \(UUID(uuidString: family.id)!), \(team), \(worker), \(kind + " item"),
                            \(status), now() - make_interval(mins => \(10 - index)::int))
                    """, logger: TestDatabase.logger)
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
            #expect(try await kinds(.omar) == [])
            #expect(try await kinds(.zed) == [])
        }
    }
}
