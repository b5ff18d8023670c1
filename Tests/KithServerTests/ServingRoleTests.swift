import Foundation
import KithAPI
import Logging
import PostgresNIO
import Testing
@testable import KithServer

/// The database's wall as the serving role meets it (`kith_server`, migration 0018): whatever a Kith code path forgets,
/// it sees no organisation's rows outside the wall, becomes no other role, changes no appended fact, and every function
/// it may run keeps to the organisation of the wall it is called in.
@Suite struct ServingRoleTests {
    /// Two organisations with a record each: a family, a person, a contact, notes of each audience, an invitation.
    static func twoRecords(_ kith: Kith) async throws -> (ours: String, theirs: String) {
        var families: [String] = []
        for who in [Fixture.Who.priya, .zed] {
            let family = try await kith.openFamily("The \(who) family", by: who)
            let person: Components.Schemas.Person = try await kith.send(
                .post, "/v1/families/\(family.id)/people", as: who, json: ["name": "Amy"], expect: .created)
            let _: Components.Schemas.Contact = try await kith.send(
                .post, "/v1/families/\(family.id)/contacts", as: who,
                json: ["occurredAt": "2026-11-30T10:00:00Z", "kind": "homeVisit"], expect: .created)
            for audience in ["professional", "family", "restricted"] {
                let _: Components.Schemas.JudgmentNote = try await kith.send(
                    .post, "/v1/families/\(family.id)/notes", as: who, json: ["body": "Seen.", "audience": audience], expect: .created)
            }
            _ = try await kith.request(.post, "/v1/people/\(person.id)/invitations", as: who)
            families.append(family.id)
        }
        return (families[0], families[1])
    }

    /// The SQLSTATE a statement failed with, or nil when it ran.
    static func refusal(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let error as PSQLError {
            return error.serverInfo?[.sqlState] ?? "no state"
        } catch {
            return "\(error)"
        }
    }

    /// `body` with `kith_server`'s rights (`SET LOCAL ROLE` in a transaction of the owner's connection, rolled back
    /// afterwards), behind `wall` (nil: no organisation entered, as a path that forgot the wall would be).
    static func asServerRole<Result: Sendable>(
        _ kith: Kith, behind wall: UUID?, _ body: @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let logger = TestDatabase.logger
        return try await kith.db.withConnection { connection in
            _ = try await connection.query("BEGIN", logger: logger)
            do {
                _ = try await connection.query("SET LOCAL ROLE kith_server", logger: logger)
                if let wall {
                    _ = try await connection.query(
                        PostgresQuery(unsafeSQL: "SELECT kith_enter_wall('\(wall)', false, NULL, NULL)"), logger: logger).collect()
                }
                let result = try await body(connection)
                _ = try await connection.query("ROLLBACK", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    /// `statement` with `kith_server`'s rights behind `wall`: the SQLSTATE it failed with, or nil when it ran.
    static func probe(_ kith: Kith, behind wall: UUID?, _ statement: String) async throws -> String? {
        try await asServerRole(kith, behind: wall) { connection in
            await refusal { _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: TestDatabase.logger).collect() }
        }
    }

    /// `body` on one connection as `kith_server`, the role `serve` uses.
    static func asServer<Result: Sendable>(
        _ kith: Kith, _ body: @Sendable @escaping (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await withDatabase(AppConfig(databaseURL: TestDatabase.serving(kith.databaseURL)), logger: TestDatabase.logger) {
            try await $0.withConnection { try await body($0) }
        }
    }

    @Test func theServingRoleSeesNoRowOutsideTheWallAndBecomesNothingElse() async throws {
        try await Kith.run { kith in
            _ = try await Self.twoRecords(kith)
            let logger = TestDatabase.logger
            let organisation = kith.fixture.organisation
            let tables = try await kith.db.query(
                """
                SELECT c.relname::text, EXISTS (SELECT 1 FROM pg_attribute a
                                                WHERE a.attrelid = c.oid AND a.attname = 'organisation_id' AND NOT a.attisdropped)
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1
                """, logger: logger).collect().map { try $0.decode((String, Bool).self) }
            // Tables without an organisation hold no one's record: keyed hashes, the schema's ledgers, the server's keys.
            #expect(tables.filter { !$0.1 }.map(\.0) == WallTests.withoutOrganisation.sorted())
            var counted: [String: Int] = [:]
            for (table, tenanted) in tables where tenanted {
                counted[table] = try await kith.count("SELECT count(*) FROM \(table) WHERE organisation_id = '\(organisation)'")
            }
            let ownRows = counted
            #expect(ownRows.values.reduce(0, +) > 40)
            #expect(ownRows["notes"] == 3 && (ownRows["workers"] ?? 0) > 3)

            let seen = try await Self.asServer(kith) { connection in
                var outside: [String: Int] = [:], inside: [String: Int] = [:], foreign: [String: Int] = [:]
                for (table, _) in tables where ownRows[table] != nil {
                    outside[table] = try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*)::int FROM \(table)"), logger: logger)
                        .collect()[0].decode(Int.self)
                }
                for (table, _) in tables where ownRows[table] != nil {
                    let (all, elsewhere) = try await connection.transaction(.begin(.readCommitted, behindWallOf: organisation, timeouts: nil), logger: logger) {
                        try await $0.query(PostgresQuery(unsafeSQL: """
                            SELECT count(*)::int, count(*) FILTER (WHERE organisation_id <> '\(organisation)')::int FROM \(table)
                            """), logger: logger).collect()[0].decode((Int, Int).self)
                    }
                    inside[table] = all
                    foreign[table] = elsewhere
                }
                return (outside, inside, foreign)
            }
            #expect(seen.0.filter { $0.value != 0 } == [:], "rows seen with no organisation entered")
            #expect(seen.1 == ownRows, "rows seen behind the wall are the organisation's own, all of them")
            #expect(seen.2.filter { $0.value != 0 } == [:], "another organisation's rows seen behind the wall")

            let states = try await Self.asServer(kith) { connection in
                var states: [String: String?] = [:]
                for statement in [
                    "SELECT count(*) FROM login_failures", "SELECT count(*) FROM known_sign_ins", "SELECT count(*) FROM server_keys",
                    "SET ROLE kith_definer",
                    "SET ROLE postgres", "SET SESSION AUTHORIZATION postgres", "ALTER TABLE notes DISABLE TRIGGER ALL",
                    "ALTER TABLE families DISABLE ROW LEVEL SECURITY", "ALTER TABLE families NO FORCE ROW LEVEL SECURITY",
                    "DROP POLICY organisation ON families", "TRUNCATE audit_events", "GRANT kith_definer TO kith_server",
                    "CREATE TABLE elsewhere (id int)", "SELECT kith_start_new_sync_generation()",
                    "SELECT kith_family_member_active(NULL, NULL)",
                ] {
                    states[statement] = await Self.refusal { _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect() }
                }
                // RESET ROLE leads back to kith_server, which sees nothing; SET ROLE kith_app is the one way it may go.
                _ = try await connection.query("RESET ROLE", logger: logger)
                let afterReset = try await connection.query("SELECT count(*)::int FROM workers", logger: logger).collect()[0].decode(Int.self)
                states["SET ROLE kith_app"] = await Self.refusal { _ = try await connection.query("SET ROLE kith_app", logger: logger).collect() }
                _ = try await connection.query("RESET ROLE", logger: logger)
                return (states, afterReset)
            }
            #expect(states.1 == 0)
            #expect(states.0["SET ROLE kith_app"]! == nil)
            for (statement, state) in states.0 where statement != "SET ROLE kith_app" {
                #expect(["42501", "42P01"].contains(state ?? "ran"), "\(statement): \(state ?? "ran")")
            }

            // Behind the wall, no appended fact can be changed or removed, whatever the statement.
            for table in ["notes", "note_revisions", "note_withdrawals", "audit_events", "plan_item_updates", "conference_stage_events",
                          "family_messages", "handover_notes", "data_incidents", "incident_decisions", "note_audience_changes",
                          "contact_corrections", "contact_withdrawals", "subject_access_requests", "subject_access_subjects",
                          "subject_access_events", "subject_access_decisions", "subject_access_disclosures", "legal_holds",
                          "legal_hold_releases", "disposal_batches", "disposal_approvals", "disposal_certificates"] {
                for statement in ["UPDATE \(table) SET organisation_id = organisation_id", "DELETE FROM \(table)"] {
                    let state = try await Self.probe(kith, behind: organisation, statement)
                    #expect(state == "42501", "\(statement): \(state ?? "ran")")
                }
            }
            #expect(try await kith.count("SELECT count(*) FROM notes WHERE organisation_id = '\(organisation)'") == 3)
        }
    }

    /// Every function `kith_server` may execute, called with its rights, outside the wall and behind it, and with another
    /// organisation's ids wherever one could be passed: none reads or writes across organisations, and those that read
    /// or write a family's record refuse to run outside the wall. A function added without a probe here fails the test.
    @Test func everyFunctionTheServingRoleMayRunKeepsToTheWallItIsCalledIn() async throws {
        try await Kith.run { kith in
            let (ours, theirs) = try await Self.twoRecords(kith)
            let logger = TestDatabase.logger
            let organisation = kith.fixture.organisation
            let priya = kith.fixture.id(.priya), zed = kith.fixture.id(.zed)
            let executable = try await kith.db.query(
                """
                SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'public' AND has_function_privilege('kith_server', p.oid, 'EXECUTE')
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') -- pg_trgm's own
                ORDER BY 1
                """, logger: logger).collect().map { try $0.decode(String.self) }
            let probed: Set<String> = [
                "end_family_page_access", "record_plan_item_update_change", "record_sync_change", "refuse_change",
                "kith_acting_worker", "kith_audit", "kith_begin_sign_in", "kith_enter_wall", "kith_family_code_accepted",
                "kith_family_code_attempt", "kith_family_invitation", "kith_family_session", "kith_forget_login_failures",
                "kith_forget_device_sign_ins", "kith_identity_provider", "kith_list_cursor_key", "kith_member_active", "kith_note_readable", "kith_oldest_transaction_age", "kith_organisation",
                "kith_password_reset",
                "kith_prune_change_log", "kith_read_timeline", "kith_relationships", "kith_request", "kith_session",
                "kith_scim_token", "kith_search_query", "kith_sign_in_succeeded", "kith_wall", "kith_write_notes",
            ]
            #expect(Set(executable) == probed, "functions kith_server may run without a probe here, or probed but gone")
            let theirPerson = try await kith.db.query(
                "SELECT id FROM people WHERE family_id = \(UUID(uuidString: theirs)!)", logger: logger).collect()[0].decode(UUID.self)
            let before = try await kith.count("SELECT count(*) FROM audit_events") + 0
            let notesBefore = try await kith.count("SELECT count(*) FROM notes")
            let changesBefore = try await kith.count("SELECT count(*) FROM sync_changes")

            let probes: [(String, String, Bool)] = [
                // (what, statement, behind our wall) → expected to be refused outside, and to find nothing of theirs inside.
                ("kith_wall", "SELECT kith_wall()", false),
                ("kith_relationships", "SELECT count(*) FROM kith_relationships('\(priya)', ARRAY['\(theirs)']::uuid[])", false),
                ("kith_member_active", "SELECT kith_member_active('\(theirPerson)')", false),
                ("kith_acting_worker", "SELECT kith_acting_worker(NULL, false, '\(zed)')", false),
                ("kith_read_timeline", "SELECT count(*) FROM kith_read_timeline('\(priya)', '\(ours)', true, NULL, NULL, 50, false, false)", false),
                ("kith_write_notes", Self.writeNote(by: priya, family: ours), false),
                ("kith_audit", "SELECT kith_audit('\(priya)', NULL, ARRAY['\(ours)']::uuid[], 'read', 'probe', NULL, NULL, ARRAY[false], '{}')", false),
            ]
            for (name, statement, _) in probes {
                let state = try await Self.probe(kith, behind: nil, statement)
                #expect(state == "42501", "\(name) outside the wall: \(state ?? "ran")")
            }

            // Behind our wall, pointed at their family, person and worker: nothing of theirs is read or written (a
            // timeline read of their family writes its audit event into ours, where no such family is: refused).
            let inside = try await Self.asServerRole(kith, behind: organisation) { c in
                func one<T: PostgresDecodable>(_ sql: String, _ type: T.Type) async throws -> T {
                    try await c.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()[0].decode(T.self)
                }
                return (
                    try await one("SELECT kith_wall()", UUID.self),
                    try await one("SELECT count(*)::int FROM kith_relationships('\(priya)', ARRAY['\(theirs)', '\(ours)']::uuid[])", Int.self),
                    try await one("SELECT kith_member_active('\(theirPerson)')", Bool.self)
                )
            }
            #expect(inside.0 == organisation && inside.1 == 1 && inside.2 == false)
            let theirTimeline = try await Self.probe(
                kith, behind: organisation, "SELECT * FROM kith_read_timeline('\(zed)', '\(theirs)', true, NULL, NULL, 50, false, false)")
            #expect(theirTimeline == "23503")
            let theirNote = try await Self.probe(kith, behind: organisation, Self.writeNote(by: zed, family: theirs))
            #expect(theirNote != nil, "a note written into another organisation's family")
            let theirEvent = try await Self.probe(
                kith, behind: organisation, "SELECT kith_audit('\(zed)', NULL, ARRAY['\(theirs)']::uuid[], 'read', 'probe', NULL, NULL, ARRAY[false], '{}')")
            #expect(theirEvent == "23503", "an audit event written against another organisation's family")

            // The lookups by secret find nothing for a secret that is not one, and the pruner keeps its floor.
            let lookups = try await Self.asServerRole(kith, behind: nil) { connection in
                let none = "'\\x00'::bytea"
                var counts: [Int] = []
                for sql in [
                    "SELECT count(*)::int FROM kith_session(\(none))",
                    "SELECT count(*)::int FROM kith_request(\(none), false, NULL, NULL, ARRAY['\(theirs)']::uuid[])",
                    "SELECT count(*)::int FROM kith_family_invitation(\(none))",
                    "SELECT count(*)::int FROM kith_family_session(\(none))",
                    "SELECT kith_prune_change_log(0, 1000000)",
                    "SELECT kith_forget_login_failures(900)",
                    "SELECT (kith_oldest_transaction_age() >= 0)::int",
                    "SELECT (kith_organisation() IS NULL)::int",
                    "SELECT kith_note_readable('restricted', '\(zed)', '\(priya)', false)::int",
                    "SELECT kith_family_code_attempt(\(none), \(none), 5, 30, 900)",
                    "SELECT count(*)::int FROM kith_begin_sign_in('nobody@test.kith', \(none), \(none), \(none), 5, 30, 900)",
                    "SELECT length(kith_list_cursor_key())",
                    "SELECT count(*)::int FROM kith_password_reset(\(none))",
                    "SELECT count(*)::int FROM kith_identity_provider('no-such-organisation')",
                    "SELECT kith_forget_device_sign_ins()",
                    "SELECT count(*)::int FROM kith_scim_token(\(none))",
                    // Words into a text-search query: it reads no table.
                    "SELECT numnode(kith_search_query(ARRAY['visits'], '{}', ARRAY['new partner'], 'scho'))",
                ] {
                    counts.append(try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()[0].decode(Int.self))
                }
                _ = try await connection.query(PostgresQuery(unsafeSQL: "SELECT kith_family_code_accepted(\(none))"), logger: logger).collect()
                _ = try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT kith_sign_in_succeeded(\(none), \(none), \(none), now())"), logger: logger).collect()
                // kith_enter_wall is the wall's one door.
                _ = try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT kith_enter_wall('\(organisation)', false, NULL, NULL)"), logger: logger).collect()
                let entered = try await connection.query("SELECT kith_wall()", logger: logger).collect()[0].decode(UUID.self)
                return (counts, entered)
            }
            #expect(lookups.0 == [0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 32, 0, 0, 0, 0, 16])
            #expect(lookups.1 == organisation)
            // A token that is not one enters no wall; a trigger function cannot be called as a function.
            #expect(try await Self.probe(kith, behind: nil, "SELECT kith_acting_worker('\\x00'::bytea, false, NULL)") == "KT401")
            for name in ["end_family_page_access", "record_plan_item_update_change", "record_sync_change", "refuse_change"] {
                #expect(try await Self.probe(kith, behind: nil, "SELECT \(name)()") == "0A000", "\(name)")
            }
            // Nothing was written by any probe: no note, no audit event, no change-log row lost.
            #expect(try await kith.count("SELECT count(*) FROM notes") == notesBefore)
            #expect(try await kith.count("SELECT count(*) FROM audit_events") == before)
            #expect(try await kith.count("SELECT count(*) FROM sync_changes") == changesBefore)
        }
    }

    static func writeNote(by worker: UUID, family: String) -> String {
        """
        SELECT kith_write_notes('\(worker)', NULL, '[{"id": "\(UUID())", "revision_id": "\(UUID())", "family_id": "\(family)",
                                 "audience": "professional", "with_family": false, "clock_suspect": false, "late": false,
                                 "body": "Written where it should not be.", "break_glass": false}]')
        """
    }

    /// `serve` checks its role before it listens: a superuser, a role that bypasses row-level security, or one that
    /// may become kith_definer is refused with the reason, unless KITH_UNSAFE_DATABASE_ROLE=1.
    @Test func serveRefusesARoleThatCanLeaveTheWall() async throws {
        try await Kith.run { kith in
            let suffix = UUID().uuidString.prefix(8).lowercased()
            let wide = "kith_test_wide_\(suffix)", bypass = "kith_test_bypass_\(suffix)"
            for statement in ["CREATE ROLE \(wide) LOGIN", "GRANT kith_app, kith_definer TO \(wide)",
                              "CREATE ROLE \(bypass) LOGIN BYPASSRLS", "GRANT kith_app TO \(bypass)"] {
                _ = try await kith.db.query(PostgresQuery(unsafeSQL: statement), logger: TestDatabase.logger).collect()
            }
            func serving(as role: String, unsafe: Bool = false) async -> String? {
                var components = URLComponents(string: kith.databaseURL)!
                components.user = role
                var config = AppConfig(databaseURL: components.string!)
                config.unsafeDatabaseRole = unsafe
                do {
                    let app = try buildApplication(config, logger: TestDatabase.logger, metrics: Kith.metrics)
                    let status = try await app.test(.router) { client in try await client.execute(uri: "/healthz", method: .get).status }
                    #expect(status == .ok)
                    return nil
                } catch {
                    return "\(error)"
                }
            }
            #expect(await serving(as: "kith_server") == nil)
            #expect(await serving(as: "postgres")?.contains("is a superuser") == true)
            #expect(await serving(as: wide)?.contains("may become kith_definer") == true)
            #expect(await serving(as: bypass)?.contains("bypasses row-level security") == true)
            #expect(await serving(as: "postgres", unsafe: true) == nil)
            for role in [wide, bypass] {
                _ = try await kith.db.query(PostgresQuery(unsafeSQL: "DROP ROLE \(role)"), logger: TestDatabase.logger).collect()
            }
        }
    }
}
