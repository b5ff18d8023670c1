import Foundation
import HTTPTypes
import HummingbirdTesting
import Hummingbird
import KithAPI
import Logging
import PostgresNIO
import Testing
@testable import KithServer

@Suite struct OperationsTests {
    @Test func healthReadinessMetricsAndTheContractAreServed() async throws {
        try await Kith.run { kith in
            #expect(try await kith.request(.get, "/healthz", as: nil).status == .ok)
            // Readiness answers within 2 s whatever the database does, so on a machine busy with the whole suite it may
            // say "not yet" first; a migrated database is ready once it can say.
            try await waitUntil("/readyz to answer 200 on a migrated database", within: .seconds(60)) {
                try await kith.request(.get, "/readyz", as: nil).status == .ok
            }
            let document = try await kith.request(.get, "/openapi.yaml", as: nil)
            #expect(document.status == .ok)
            #expect(String(buffer: document.body).hasPrefix("openapi: \"3.1.0\""))
            #expect(String(buffer: document.body).contains("/v1/sync/push"))
            _ = try await kith.request(.get, "/v1/me", as: .priya)
            let metrics = try await kith.request(.get, "/metrics", as: nil)
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = String(buffer: metrics.body)
            #expect(text.contains(#"hb_requests{http_route="/v1/me",http_request_method="GET",http_response_status_code="200"}"#))
            #expect(text.contains("kith_db_connection_wait_count"))
            #expect(text.contains("kith_db_connections_in_use"))
        }
    }

    @Test func hotStatementsArePreparedOncePerConnectionUnlessTurnedOff() async throws {
        enum Probe: HotStatement {}
        try await Kith.run { kith in
            let logger = TestDatabase.logger
            let (probes, statements) = try await kith.db.withConnection { connection in
                func ask(_ value: Int, prepared: Bool) async throws -> Int {
                    try await Database.$preparesStatements.withValue(prepared) {
                        try await connection.query(Probe.self, "SELECT \(value)::int + 1", logger: logger)[0].decode(Int.self)
                    }
                }
                let answers = [try await ask(1, prepared: false), try await ask(1, prepared: true), try await ask(41, prepared: true)]
                #expect(answers == [2, 2, 42])
                // A value that is nil at the first call and given later binds as the type the SQL names.
                enum MaybeIds: HotStatement {}
                func among(_ ids: [UUID]?) async throws -> Int {
                    try await Database.$preparesStatements.withValue(true) {
                        try await connection.query(
                            MaybeIds.self,
                            "SELECT count(*)::int FROM (VALUES (\(UUID()))) v(id) WHERE \(ids)::uuid[] IS NULL OR v.id = ANY(\(ids)::uuid[])",
                            logger: logger)[0].decode(Int.self)
                    }
                }
                #expect(try await among(nil) == 1)
                #expect(try await among([UUID()]) == 0)
                let names = try await connection.query("SELECT name FROM pg_prepared_statements", logger: logger)
                    .collect().map { try $0.decode(String.self) }
                return (names.filter { $0.hasSuffix("Probe") }.count, names.filter { !$0.hasSuffix("MaybeIds") }.count)
            }
            // Prepared once, though asked twice; the unnamed query left nothing behind.
            #expect(probes == 1 && statements == 1)
        }
    }

    @Test func eachRequestRunsWithItsServersStatementMode() async throws {
        for enabled in [true, false] {
            let router = Router()
            router.add(middleware: PreparedStatementsMiddleware(enabled: enabled))
            router.get("/mode") { _, _ in Database.preparesStatements ? "prepared" : "unnamed" }
            try await Application(router: router).test(.router) { client in
                try await client.execute(uri: "/mode", method: .get) { response in
                    #expect(String(buffer: response.body) == (enabled ? "prepared" : "unnamed"))
                }
            }
        }
    }

    /// Not ready with a migration unapplied, nor with a function whose current text was not applied.
    @Test(arguments: ["DELETE FROM schema_migrations", "UPDATE schema_functions SET checksum = 'old' WHERE name = 'kith_wall'"])
    func readinessReportsAnUnmigratedDatabase(_ undo: String) async throws {
        try await TestDatabase.withFreshDatabase { url in
            let config = AppConfig(databaseURL: url)
            try await withDatabase(config, logger: TestDatabase.logger) { db in
                try await db.query(PostgresQuery(unsafeSQL: undo))
                let app = try buildApplication(TestDatabase.servingConfig(url), logger: TestDatabase.logger)
                try await app.test(.router) { client in
                    let ready = try await client.execute(uri: "/readyz", method: .get)
                    #expect(ready.status == .serviceUnavailable)
                }
            }
        }
    }

    @Test func migratingTwiceAppliesNothingTheSecondTime() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                let migrator = Migrator(client: db, logger: TestDatabase.logger)
                let applied = try await migrator.migrate()
                let current = try await migrator.isCurrent()
                #expect(applied == [] && current)
            }
        }
    }

    @Test func demoDataIsDeterministicAndBelievable() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                let summary = try await DemoOrganisation(families: 6, years: 2, seed: 7).load(into: db, logger: TestDatabase.logger)
                #expect(summary.contains("6 families"))
                let again = try await DemoOrganisation(families: 6, years: 2, seed: 7).load(into: db, logger: TestDatabase.logger)
                #expect(again.contains("already loaded"))
                func count(_ sql: String) async throws -> Int {
                    try await db.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger).decode(Int.self).first { _ in true } ?? -1
                }
                #expect(try await count("SELECT count(*) FROM families") == 6 + 1)
                #expect(try await count("SELECT count(*) FROM contacts") > 20)
                // Some notes amended (one in twelve), each amendment superseding its note's first text.
                let amendments = try await count("SELECT count(*) FROM note_revisions WHERE number > 1")
                #expect(amendments > 0)
                #expect(try await count("""
                    SELECT count(*) FROM note_revisions a JOIN note_revisions o ON o.id = a.supersedes AND o.note_id = a.note_id
                    WHERE a.number = 2 AND o.number = 1
                    """) == amendments)
                #expect(try await count("SELECT count(*) FROM people WHERE is_child_in_focus") >= 6)
                #expect(try await count("SELECT count(DISTINCT family_id) FROM current_allocations WHERE role = 'allocatedWorker'")
                    == count("SELECT count(*) FROM families WHERE status = 'open'"))
                let fingerprint = try await count(
                    "SELECT hashtext(string_agg(id::text || occurred_at::text, ',' ORDER BY id))::int8 FROM contacts")

                // The same seed elsewhere gives the same organisation.
                try await TestDatabase.withFreshDatabase { other in
                    try await withDatabase(AppConfig(databaseURL: other), logger: TestDatabase.logger) { db2 in
                        _ = try await DemoOrganisation(families: 6, years: 2, seed: 7).load(into: db2, logger: TestDatabase.logger)
                        let second = try await db2.query(
                            "SELECT hashtext(string_agg(id::text || occurred_at::text, ',' ORDER BY id))::int8 FROM contacts",
                            logger: TestDatabase.logger
                        ).decode(Int.self).first { _ in true }
                        #expect(second == fingerprint)
                    }
                }
            }
        }
    }

    @Test func theDemoPractitionerCanSignInAndSeeTheirCaseload() async throws {
        try await TestDatabase.withFreshDatabase { url in
            let config = AppConfig(databaseURL: url)
            try await withDatabase(config, logger: TestDatabase.logger) { db in
                _ = try await DemoOrganisation(families: 8, years: 1, seed: 1).load(into: db, logger: TestDatabase.logger)
                let app = try buildApplication(TestDatabase.servingConfig(url), logger: TestDatabase.logger)
                try await app.test(.router) { client in
                    let login = try await client.execute(
                        uri: "/v1/auth/login", method: .post, headers: [.contentType: "application/json"],
                        body: ByteBuffer(string: #"{"email": "priya@kith.demo", "password": "\#(DemoOrganisation.password)"}"#))
                    #expect(login.status == .ok)
                    let token = try Kith.decoder.decode(Components.Schemas.LoginResponse.self, from: login.body).token
                    let families = try await client.execute(uri: "/v1/families", method: .get, headers: [.authorization: "Bearer \(token)"])
                    let page = try Kith.decoder.decode(Components.Schemas.FamilyPage.self, from: families.body)
                    #expect(!page.items.isEmpty)
                }
            }
        }
    }
}

@Suite struct CreateAdminTests {
    @Test func aNewOrganisationsAdministratorCanSignInAndManageIt() async throws {
        try await TestDatabase.withFreshDatabase { url in
            let config = AppConfig(databaseURL: url)
            try await withDatabase(config, logger: TestDatabase.logger) { db in
                let organisation = try await Administration(db: db, logger: TestDatabase.logger).createOrganisation(
                    name: "Hillside", adminName: "Ada Admin", adminEmail: "ada@hillside.test", adminPassword: "a long admin password")
                let app = try buildApplication(TestDatabase.servingConfig(url), logger: TestDatabase.logger)
                try await app.test(.router) { client in
                    let login = try await client.execute(
                        uri: "/v1/auth/login", method: .post, headers: [.contentType: "application/json"],
                        body: ByteBuffer(string: #"{"email": "ada@hillside.test", "password": "a long admin password"}"#))
                    let session = try Kith.decoder.decode(Components.Schemas.LoginResponse.self, from: login.body)
                    #expect(session.worker.roles == [.admin])
                    let team = try await client.execute(
                        uri: "/v1/teams", method: .post,
                        headers: [.authorization: "Bearer \(session.token)", .contentType: "application/json"],
                        body: ByteBuffer(string: #"{"name": "East"}"#))
                    #expect(team.status == .created)
                    let me = try await client.execute(uri: "/v1/me", method: .get, headers: [.authorization: "Bearer \(session.token)"])
                    let body = try Kith.decoder.decode(Components.Schemas.Me.self, from: me.body)
                    #expect(body.organisation.id == organisation.text && body.organisation.name == "Hillside")
                }
            }
        }
    }
}
