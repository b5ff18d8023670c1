import Foundation
import KithAPI
import PostgresNIO
import Testing
@testable import KithServer

/// Kith behind PgBouncer in transaction mode, with two server connections for forty requests of two organisations in
/// flight: each transaction names its own role and organisation (transaction-local settings), so the wall holds on
/// shared server connections, and migrations, sync push and pull work through the pooler (with the hot statements
/// sent unnamed, `KITH_DB_PREPARED_STATEMENTS=off`, as PgBouncer before 1.21 needs).
@Suite struct PgBouncerTests {
    @Test func transactionsOfTwoOrganisationsSharingTwoServerConnectionsSeeOnlyTheirOwn() async throws {
        try await Kith.run { direct in
            let family = try await direct.openFamily()
            let zedsFamily: Components.Schemas.Family = try await direct.send(
                .post, "/v1/families", as: .zed, json: ["displayName": "Elsewhere family"], expect: .created)
            let upstream = URLComponents(string: TestDatabase.serverURL)!.port ?? 5432
            let (folder, port) = try await Ports.retrying { port in
                let folder = "/tmp/kith-pgbouncer-\(UUID().uuidString.prefix(8))"
                try await Script.run("pgbouncer.sh", ["start", folder, "\(port)", "\(upstream)", "2"])
                return (folder, port)
            }
            do {
                var bounced = URLComponents(string: direct.databaseURL)!
                bounced.port = port
                let url = bounced.string!
                // Migrations through it (transaction-level locks) find nothing to do.
                let applied = try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) {
                    try await Migrator(client: $0, logger: TestDatabase.logger).migrate()
                }
                #expect(applied.isEmpty)
                // PgBouncer 1.18 (Debian 12) keeps no named statements in transaction mode.
                var config = TestDatabase.servingConfig(url)
                config.databasePreparedStatements = false
                try await Kith.serve(url, fixture: direct.fixture, config: config) { kith in
                    let seen = try await withThrowingTaskGroup(of: (Fixture.Who, [String]).self) { group in
                        for index in 0..<40 {
                            let who: Fixture.Who = index.isMultiple(of: 2) ? .priya : .zed
                            group.addTask {
                                let page: Components.Schemas.FamilyPage = try await kith.send(.get, "/v1/families", as: who)
                                return (who, page.items.map(\.id))
                            }
                        }
                        return try await group.reduce(into: [(Fixture.Who, [String])]()) { $0.append($1) }
                    }
                    #expect(seen.count == 40)
                    #expect(seen.filter { $0.0 == .priya }.allSatisfy { $0.1 == [family.id] })
                    #expect(seen.filter { $0.0 == .zed }.allSatisfy { $0.1 == [zedsFamily.id] })
                    // Sync through it: a push applied once and a pull of the family.
                    let device = try await FieldDevice.register(kith, as: .priya)
                    let pushed = try await device.push([Mutation.note(1, family: family.id, body: "Through the pooler")])
                    #expect(pushed.results.map(\.status) == [.applied])
                    let (pages, _) = try await device.pullAll(from: nil)
                    #expect(pages.flatMap { $0.ids(.family) } == [family.id])
                }
            } catch {
                try? await Script.run("pgbouncer.sh", ["stop", folder])
                throw error
            }
            try await Script.run("pgbouncer.sh", ["stop", folder])
            try? FileManager.default.removeItem(atPath: folder)
        }
    }
}
