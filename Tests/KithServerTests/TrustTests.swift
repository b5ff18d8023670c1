import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import KithCore
import PostgresNIO
import Testing
@testable import KithServer

/// The trust promises at the edges: administrators manage and read no case content, every administrative change is in
/// the organisation's feed, another organisation's records answer 404, and the database is a wall of its own.
@Suite struct TrustTests {
    @Test func anAdministratorIsNeverAllocatedAndCannotChangeTheirOwnRolesOrTeams() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let alex = kith.fixture.id(.alex).text
            let allocating = try await kith.request(
                .post, "/v1/families/\(family.id)/allocations", as: .sam,
                json: ["workerId": alex, "role": "allocatedWorker", "startedOn": "2026-01-01"])
            #expect(allocating.status == .badRequest)
            #expect(try kith.problem(allocating).errors?.map(\.field) == ["workerId"])

            let promoting = try await kith.request(
                .patch, "/v1/workers/\(alex)", as: .alex, json: ["roles": ["admin", "supervisor"]])
            #expect(promoting.status == .forbidden)
            let joining = try await kith.request(
                .patch, "/v1/workers/\(alex)", as: .alex, json: ["teamIds": [kith.fixture.north.text]])
            #expect(joining.status == .forbidden)
            #expect(try await kith.count("SELECT count(*) FROM workers WHERE roles = ARRAY['admin']") == 1)
            #expect(try await kith.count("SELECT count(*) FROM allocations WHERE worker_id = '\(alex)'") == 0)
            #expect(try await kith.request(.get, "/v1/families/\(family.id)/timeline", as: .alex).status == .notFound)
        }
    }

    @Test func everyAdministrativeChangeIsInTheOrganisationsFeed() async throws {
        try await Kith.run { kith in
            let tom = kith.fixture.id(.tom).text
            let _: Components.Schemas.Worker = try await kith.send(
                .patch, "/v1/workers/\(tom)", as: .alex, json: ["roles": ["practitioner", "coordinator"]])
            let _: Components.Schemas.Team = try await kith.send(.post, "/v1/teams", as: .alex, json: ["name": "East"], expect: .created)
            let settings = ["noContactDays": 20, "childNotSeenDays": 30, "planReviewOverdueDays": 0, "workerChanges365": 2]
            let _: Components.Schemas.SignalSettings = try await kith.send(
                .put, "/v1/teams/\(kith.fixture.north.text)/signal-settings", as: .sam, json: settings)

            let all: Components.Schemas.AuditPage = try await kith.send(.get, "/v1/audit", as: .alex)
            #expect(all.items.map(\.entity) == ["signalSettings", "team", "worker"])
            #expect(all.items.allSatisfy { $0.action == .administer })
            #expect(all.items.last?.recordId == tom)
            #expect(all.items.last?.reason?.contains("coordinator") == true)

            // Sam supervises North: Tom's change and North's settings, not the new team.
            let north: Components.Schemas.AuditPage = try await kith.send(.get, "/v1/audit", as: .sam)
            #expect(north.items.map(\.entity) == ["signalSettings", "worker"])
            let south: Components.Schemas.AuditPage = try await kith.send(.get, "/v1/audit", as: .ruth)
            #expect(south.items.isEmpty)
            #expect(try await kith.request(.get, "/v1/audit", as: .priya).status == .forbidden)

            let first: Components.Schemas.AuditPage = try await kith.send(.get, "/v1/audit?limit=2", as: .alex)
            let rest: Components.Schemas.AuditPage = try await kith.send(.get, "/v1/audit?limit=2&after=\(first.next ?? "")", as: .alex)
            #expect((first.items + rest.items).map(\.id) == all.items.map(\.id))
        }
    }

    @Test func anotherOrganisationsTeamAnswersLikeNoTeam() async throws {
        try await Kith.run { kith in
            let other = try await kith.db.query(
                "SELECT id FROM teams WHERE organisation_id = \(kith.fixture.otherOrganisation)", logger: TestDatabase.logger
            ).decode(UUID.self).first { _ in true }!
            #expect(try await kith.request(.get, "/v1/teams/\(other.text)/signal-settings", as: .alex).status == .notFound)
            #expect(try await kith.request(.get, "/v1/teams/\(kith.fixture.north.text)/signal-settings", as: .alex).status == .ok)
            #expect(try await kith.request(.get, "/v1/teams/\(UUID().text)/signal-settings", as: .alex).status == .notFound)
        }
    }

    @Test func aNoteWithoutAnAudienceIsForProfessionals() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let note: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(family.id)/notes", as: .priya, json: ["body": "Brief call; all well."], expect: .created)
            #expect(note.audience == .professional)
        }
    }

    @Test func readingARestrictedNoteThroughBreakGlassIsMarked() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let note: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(family.id)/notes", as: .priya, json: ["body": "Third-party detail.", "audience": "restricted"],
                expect: .created)
            let _: Components.Schemas.Allocation = try await kith.send(
                .post, "/v1/families/\(family.id)/allocations", as: .sam,
                json: ["workerId": kith.fixture.id(.chris).text, "role": "coordinator", "startedOn": "2026-01-01"], expect: .created)
            #expect(try await kith.request(.get, "/v1/notes/\(note.id)", as: .chris).status == .notFound)
            let _: Components.Schemas.BreakGlassGrant = try await kith.send(
                .post, "/v1/families/\(family.id)/access", as: .chris, json: ["reason": "Conference tomorrow, need the history"],
                expect: .created)
            #expect(try await kith.request(.get, "/v1/notes/\(note.id)", as: .chris).status == .ok)
            #expect(try await kith.request(.get, "/v1/families/\(family.id)", as: .chris).status == .ok)
            let timeline: Components.Schemas.TimelinePage = try await kith.send(.get, "/v1/families/\(family.id)/timeline", as: .chris)
            #expect(timeline.items.contains { $0.id == note.id })
            let chris = kith.fixture.id(.chris).text
            #expect(try await kith.count(
                "SELECT count(*) FROM audit_events WHERE worker_id = '\(chris)' AND entity = 'timeline' AND break_glass") == 1)
            // The note needed break-glass; the family itself did not (Chris is allocated).
            #expect(try await kith.count(
                "SELECT count(*) FROM audit_events WHERE worker_id = '\(chris)' AND entity = 'note' AND break_glass") == 1)
            #expect(try await kith.count(
                "SELECT count(*) FROM audit_events WHERE worker_id = '\(chris)' AND entity = 'family' AND action = 'read' AND break_glass") == 0)
        }
    }

    /// A signed-in request holds one connection: its token's lookup opens the first transaction behind the wall, and
    /// every transaction of the request, the continued one and those after it, stands behind the wall it names.
    @Test func everyTransactionOfASignedInRequestStandsBehindTheWall() async throws {
        try await Kith.run { kith in
            _ = try await kith.openFamily()
            var timeouts = kith.database.timeouts
            timeouts.statement = .seconds(30)
            let db = Database(client: kith.db, logger: TestDatabase.logger, timeouts: timeouts)
            let organisation = kith.fixture.organisation
            struct Seen: Equatable { let role: String, organisation: String, isolation: String, families: Int, timeout: String }
            func seen(_ organisation: UUID?, _ isolation: Database.Isolation = .readCommitted) async throws -> Seen {
                try await db.transaction(organisation: organisation, isolation: isolation) { connection in
                    let row = try await connection.query(
                        """
                        SELECT current_user::text, current_setting('kith.organisation_id'), current_setting('transaction_isolation'),
                               (SELECT count(*) FROM families)::int, current_setting('statement_timeout')
                        """, logger: TestDatabase.logger
                    ).collect()[0].decode((String, String, String, Int, String).self)
                    return Seen(role: row.0, organisation: row.1, isolation: row.2, families: row.3, timeout: row.4)
                }
            }
            func openTransactions() async throws -> Int {
                try await kith.count(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'")
            }
            let ours = Seen(role: "kith_app", organisation: organisation.text.lowercased(), isolation: "read committed", families: 1, timeout: "30s")
            try await db.signedIn { held in
                let found = try await held.begin(
                    LookupInTest.self,
                    "SELECT \(organisation) FROM kith_enter_wall(\(organisation), false, 30000, 60000)",
                    opensTransaction: true, logger: TestDatabase.logger, organisation: { try $0.decode(UUID.self) })
                #expect(found != nil)
                #expect(try await seen(organisation) == ours)
                #expect(try await seen(organisation) == ours)
                await #expect(throws: KithError.self) {
                    try await db.transaction(organisation: organisation) { _ in throw KithError.notFound }
                }
                #expect(try await seen(organisation, .repeatableRead) == Seen(
                    role: "kith_app", organisation: ours.organisation, isolation: "repeatable read", families: 1, timeout: "30s"))
                #expect(try await seen(kith.fixture.otherOrganisation).families == 0)
                #expect(try await openTransactions() == 0)
            }
            // A lookup that found nobody, or whose transaction nothing took, leaves no transaction open.
            try await db.signedIn { held async throws in
                #expect(try await held.begin(
                    LookupInTest.self, "SELECT \(organisation) WHERE false", opensTransaction: true, logger: TestDatabase.logger,
                    organisation: { try $0.decode(UUID.self) }) == nil)
                #expect(try await openTransactions() == 1)
            }
            try await db.signedIn { held in
                _ = try await held.begin(
                    LookupInTest.self, "SELECT \(organisation) FROM kith_enter_wall(\(organisation), false, NULL, NULL)",
                    opensTransaction: true, logger: TestDatabase.logger, organisation: { try $0.decode(UUID.self) })
            }
            #expect(try await openTransactions() == 0)
        }
    }

    /// The lookup reads the caller's relationship to the family the path names behind the wall it has just entered, and
    /// the first access check of the transaction that continues the lookup's uses it, once.
    @Test func aRequestsLookupReadsItsFamilysRelationshipBehindTheWall() async throws {
        try await Kith.run { kith in
            let familyId = try #require(UUID(uuidString: try await kith.openFamily(by: .priya).id))
            func lookup(_ who: Fixture.Who) async throws -> [[String]] {
                try await kith.db.withTransaction(logger: TestDatabase.logger) { connection in
                    try await connection.query(
                        """
                        SELECT current_user::text, coalesce(family_id::text, 'none'), coalesce(allocation_role, 'none')
                        FROM kith_request(\(Tokens.hash(kith.fixture.tokens[who]!)), false, NULL, NULL, \([familyId]))
                        """, logger: TestDatabase.logger
                    ).collect().map { row in
                        let (role, family, allocation) = try row.decode((String, String, String).self)
                        return [role, family, allocation]
                    }
                }
            }
            #expect(try await lookup(.priya) == [["kith_app", familyId.text.lowercased(), "allocatedWorker"]])
            // A colleague without an allocation: the family's row, no allocation (FamilyAccess then judges).
            #expect(try await lookup(.tom) == [["kith_app", familyId.text.lowercased(), "none"]])
            // Another organisation's worker: the wall hides the family from the lookup itself.
            #expect(try await lookup(.zed) == [["kith_app", "none", "none"]])

            let db = kith.database
            let known = FamilyRelationship(familyId: familyId, teamId: kith.fixture.north, allocationRole: "allocatedWorker", breakGlass: false)
            let organisation = kith.fixture.organisation
            try await db.signedIn { held in
                _ = try await held.begin(
                    LookupInTest.self, "SELECT \(organisation) FROM kith_enter_wall(\(organisation), false, NULL, NULL)",
                    opensTransaction: true, logger: TestDatabase.logger, organisation: { try $0.decode(UUID.self) })
                held.knowRelationship(known)
                #expect(held.takeRelationship(to: familyId) == nil)
                try await db.transaction(organisation: organisation) { _ in
                    #expect(held.takeRelationship(to: UUID()) == nil)
                    held.knowRelationship(known)
                    #expect(held.takeRelationship(to: familyId)?.allocationRole == "allocatedWorker")
                    #expect(held.takeRelationship(to: familyId) == nil)
                }
                held.knowRelationship(known)
                try await db.transaction(organisation: organisation) { _ in
                    #expect(held.takeRelationship(to: familyId) == nil)
                }
            }
        }
    }

    /// A request whose work is one statement (a note's `POST`): its lookup runs on its own and leaves nothing open, its
    /// relationship is for that one statement only, and the statement, `kith_write_notes`, enters the wall itself, so a
    /// note for another organisation's family is not written, whoever connects.
    @Test func aWriteInOneStatementEntersTheWallItself() async throws {
        try await Kith.run { kith in
            let familyId = try #require(UUID(uuidString: try await kith.openFamily(by: .priya).id))
            let db = kith.database
            let organisation = kith.fixture.organisation
            let known = FamilyRelationship(familyId: familyId, teamId: kith.fixture.north, allocationRole: "allocatedWorker", breakGlass: false)
            func roleAndWall(_ held: RequestConnection) async throws -> [String] {
                let row = try #require(try await held.alone(
                    LookupInTest.self, "SELECT current_user::text, current_setting('kith.organisation_id', true)",
                    logger: TestDatabase.logger).first)
                let (role, wall) = try row.decode((String, String?).self)
                return [role, wall ?? ""]
            }
            let login = try await kith.db.query("SELECT current_user::text", logger: TestDatabase.logger).collect()[0].decode(String.self)
            try await db.signedIn { held in
                _ = try await held.begin(
                    LookupInTest.self, "SELECT \(organisation) FROM kith_enter_wall(\(organisation), false, NULL, NULL)",
                    opensTransaction: false, logger: TestDatabase.logger, organisation: { try $0.decode(UUID.self) })
                held.knowRelationship(known)
                // What the lookup entered ended with it.
                #expect(try await roleAndWall(held) == [login, ""])
                #expect(held.takeRelationship(to: familyId) == nil)
                #expect(held.takeSettledRelationship(to: familyId, organisation: kith.fixture.otherOrganisation) == nil)
                #expect(held.takeSettledRelationship(to: familyId, organisation: organisation)?.allocationRole == "allocatedWorker")
                #expect(held.takeSettledRelationship(to: familyId, organisation: organisation) == nil)
                // A transaction after it begins for itself, behind the wall.
                try await db.transaction(organisation: organisation) { connection in
                    let role = try await connection.query("SELECT current_user::text", logger: TestDatabase.logger).collect()[0]
                    #expect(try role.decode(String.self) == "kith_app")
                    await #expect(throws: RequestConnection.NestedTransaction.self) { _ = try await roleAndWall(held) }
                }
            }

            // The statement enters the wall from the token it is given: as Zed, of the other organisation, Priya's family
            // is not there behind his wall, so nothing is written.
            func write(_ noteId: UUID, by worker: Fixture.Who) async throws -> Date? {
                let note = try NewNote(familyId: familyId, .init(id: noteId.text, body: "Seen at home."))
                let access = FamilyAccess(known, of: Principal(
                    organisationId: organisation, workerId: kith.fixture.id(worker), sessionId: UUID(), deviceId: nil,
                    roles: [.practitioner], teamIds: []))
                let acting = ActingWorker(tokenHash: ByteBuffer(data: Tokens.hash(kith.fixture.tokens[worker]!)), worker: kith.fixture.id(worker))
                let row = try await kith.db.query(
                    try NotesWrite.statement([(note, access, .online)], as: acting, device: nil), logger: TestDatabase.logger
                ).collect()[0]
                return try row.decode(Date?.self)
            }
            await #expect(throws: PSQLError.self) { _ = try await write(UUID(), by: .zed) }
            let noteId = UUID()
            #expect(try await write(noteId, by: .priya) != nil)
            // Written once: the same note again writes nothing.
            #expect(try await write(noteId, by: .priya) == nil)
            #expect(try await kith.count("SELECT count(*) FROM notes WHERE family_id = '\(familyId)'") == 1)
            #expect(try await kith.count(
                "SELECT count(*) FROM audit_events WHERE family_id = '\(familyId)' AND entity = 'note' AND record_id = '\(noteId)'") == 1)
            // Called inside a transaction, it leaves the transaction behind the wall it entered.
            let acting = ActingWorker(tokenHash: ByteBuffer(data: Tokens.hash(kith.fixture.tokens[.priya]!)), worker: kith.fixture.id(.priya))
            let inside = try await kith.db.withTransaction(logger: TestDatabase.logger) { connection in
                let note = try NewNote(familyId: familyId, .init(body: "Seen again."))
                let access = FamilyAccess(known, of: Principal(
                    organisationId: organisation, workerId: kith.fixture.id(.priya), sessionId: UUID(), deviceId: nil,
                    roles: [.practitioner], teamIds: []))
                _ = try await connection.query(try NotesWrite.statement([(note, access, .online)], as: acting, device: nil),
                                               logger: TestDatabase.logger).collect()
                return try await connection.query(
                    "SELECT current_user::text, current_setting('kith.organisation_id'), (SELECT count(*) FROM families)::int",
                    logger: TestDatabase.logger).collect()[0].decode((String, String, Int).self)
            }
            #expect(inside.0 == "kith_app" && inside.1 == organisation.text.lowercased() && inside.2 == 1)
        }
    }

    @Test func theDatabaseShowsAnOrganisationsRowsOnlyToATransactionNamingIt() async throws {
        try await Kith.run { kith in
            _ = try await kith.openFamily()
            func families(organisation: UUID?) async throws -> Int {
                try await kith.db.withTransaction(logger: TestDatabase.logger) { connection in
                    try await connection.enterWall(organisation: organisation, logger: TestDatabase.logger)
                    return try await connection.query("SELECT count(*) FROM families", logger: TestDatabase.logger)
                        .decode(Int.self).first { _ in true } ?? -1
                }
            }
            #expect(try await kith.count("SELECT count(*) FROM families") == 1)
            #expect(try await families(organisation: nil) == 0)
            #expect(try await families(organisation: kith.fixture.otherOrganisation) == 0)
            #expect(try await families(organisation: kith.fixture.organisation) == 1)

            // Every table with organisation_id: row-level security enabled, forced, and a policy.
            let unguarded = try await kith.db.query(
                """
                SELECT c.relname FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'organisation_id' AND NOT a.attisdropped
                WHERE c.relkind = 'r' AND NOT (c.relrowsecurity AND c.relforcerowsecurity
                      AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))
                """, logger: TestDatabase.logger
            ).collect().map { try $0.decode(String.self) }
            #expect(unguarded == [])
            // That each such table keeps organisations apart, row by row, is WallTests'.
        }
    }

    @Test func theServersRoleCannotDisableATriggerOrRewriteTheRecord() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let _: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(family.id)/notes", as: .priya, json: ["body": "Seen at school."], expect: .created)
            for statement in [
                "ALTER TABLE note_revisions DISABLE TRIGGER note_revisions_append_only",
                "ALTER TABLE families DISABLE ROW LEVEL SECURITY",
                "UPDATE note_revisions SET body = 'rewritten'",
                "DELETE FROM audit_events",
                "TRUNCATE notes",
            ] {
                let database = kith.database
                let refused = await #expect(throws: PSQLError.self, "\(statement)") {
                    try await database.transaction(organisation: kith.fixture.organisation) { connection in
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: TestDatabase.logger)
                    }
                }
                #expect(refused?.serverInfo?[.sqlState] == "42501", "\(statement): \(String(reflecting: refused))")
            }
            #expect(try await kith.count("SELECT count(*) FROM note_revisions WHERE body = 'Seen at school.'") == 1)
        }
    }

    @Test func aReviewItemGoesOnlyToThoseWhoMayReadWhatItCarries() {
        let family = UUID(), team = UUID()
        func access(_ role: AllocationRole?, supervises: Bool = false, breakGlass: Bool = false) -> FamilyAccess {
            FamilyAccess(familyId: family, teamId: team, allocationRole: role, supervisesTeam: supervises, breakGlass: breakGlass, adminOnly: false)
        }
        func item(_ kind: ReviewItemKind, restricted: Bool = false, recipient: Bool = true, own: Bool = false) -> ReviewItemAddress {
            ReviewItemAddress(kind: kind, carriesRestricted: restricted, isRecipient: recipient, isOwnWork: own, ownerTeams: [team])
        }
        // A late restricted note: the allocated worker and supervisors, not a coordinator it was addressed to.
        #expect(access(.allocatedWorker).receives(item(.late, restricted: true)))
        #expect(access(nil, supervises: true).receives(item(.late, restricted: true, recipient: false)))
        #expect(!access(.coordinator).receives(item(.late, restricted: true)))
        #expect(access(.coordinator).receives(item(.late)))
        // Break-glass opens a record for a purpose; it does not bring review items.
        #expect(!access(nil, breakGlass: true).receives(item(.late)))
        // An earlier editor who has lost access no longer receives the conflict.
        #expect(!access(nil).receives(item(.conflict)))
        // Rejected and quarantined work: the family's supervisors (and a rejection its own author).
        #expect(!access(.allocatedWorker).receives(item(.rejected)))
        #expect(access(.allocatedWorker).receives(item(.rejected, own: true)))
        #expect(!access(.allocatedWorker).receives(item(.quarantined, own: true)))
        #expect(access(nil, supervises: true).receives(item(.quarantined, recipient: false)))
    }
}

private enum LookupInTest: HotStatement {}
