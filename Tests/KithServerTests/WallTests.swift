import Foundation
import HTTPTypes
import KithAPI
import PostgresNIO
import Testing
@testable import KithServer

/// The database's own rules, table by table, as the role the server serves with meets them: every table with
/// `organisation_id` shows a transaction exactly the rows of the organisation it names (none when it names none), and
/// every append-only table refuses UPDATE, DELETE and TRUNCATE. Every table of the schema is named below in one list or
/// another, and every organisation's table must hold rows when the check runs, so a new table cannot escape either rule
/// without this test failing.
@Suite struct WallTests {
    /// Facts, corrected by appending: never updated, deleted or truncated.
    static let appendOnly: Set<String> = [
        "audit_events", "conference_stage_events", "contact_corrections", "contact_withdrawals", "data_incidents",
        "disposal_approvals", "disposal_batches", "disposal_certificates",
        "family_messages", "handover_notes", "incident_decisions", "legal_hold_releases", "legal_holds", "subject_access_decisions", "subject_access_disclosures",
        "subject_access_events", "subject_access_requests", "subject_access_subjects",
        "note_audience_changes", "note_revisions", "note_withdrawals", "notes", "plan_item_updates",
        "frictions", "friction_events", "family_feedback", "family_feedback_given", "practice_changes", "research_studies",
        "research_study_approvals", "research_extracts",
    ]
    /// Rows that change as the work does (an allocation ends, a session expires), still each organisation's own.
    static let changing: Set<String> = [
        "allocations", "break_glass_grants", "conference_coordinators", "conference_meetings", "conference_participants",
        "conferences", "contact_people", "contact_workers", "contacts", "device_grants", "device_sign_ins", "devices", "disposal_purges",
        "families",
        "family_invitations", "family_plans", "family_sessions", "identity_providers", "meeting_attendance", "organisation_holidays",
        "organisations",
        "password_resets", "people", "retention_rules",
        "plan_items", "review_item_recipients", "review_items", "scim_tokens", "sessions", "supervision_session_families",
        "supervision_sessions", "sync_changes", "sync_generations", "sync_mutations", "team_members", "team_signal_settings",
        "teams", "workers",
    ]
    /// Of no organisation: sign-in throttling, the server's keys, the feed's pruning mark and the migrations' and
    /// functions' record.
    static let withoutOrganisation: Set<String> = [
        "known_sign_ins", "login_failures", "schema_functions", "schema_migrations", "server_keys", "sync_changes_pruned",
    ]

    @Test func everyTableIsNamedOnceAndEveryOrganisationsTableIsUnderTheWall() async throws {
        try await Kith.run { kith in
            let tables = try await kith.db.query(
                """
                SELECT c.relname,
                       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organisation_id' AND NOT a.attisdropped)
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
                WHERE c.relkind IN ('r', 'p')
                """, logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, Bool).self) }
            let named = Self.appendOnly.union(Self.changing).union(Self.withoutOrganisation)
            #expect(Self.appendOnly.intersection(Self.changing).isEmpty)
            #expect(Set(tables.map(\.0)) == named, "tables not named here, or named and gone")
            #expect(Set(tables.filter(\.1).map(\.0)) == Self.appendOnly.union(Self.changing))

            try await Self.writeEveryKindOfRecord(kith)
            let ours = kith.fixture.organisation, theirs = kith.fixture.otherOrganisation
            try await Self.copy(organisation: ours, to: theirs, in: kith)

            try await withDatabase(AppConfig(databaseURL: TestDatabase.serving(kith.databaseURL)), logger: TestDatabase.logger) { served in
                for table in Self.appendOnly.union(Self.changing).sorted() {
                    let rows: PostgresQuery = "SELECT count(*)::int FROM \(unescaped: table) WHERE organisation_id = \(ours)"
                    let own = try await kith.db.query(rows, logger: TestDatabase.logger).decode(Int.self).first { _ in true } ?? 0
                    #expect(own > 0, "\(table): no rows written, so the wall is not tried on it")
                    for (organisation, expected) in [(ours, own), (theirs, own), (nil, 0)] as [(UUID?, Int)] {
                        let seen = try await served.withTransaction(logger: TestDatabase.logger) { connection in
                            try await connection.enterWall(organisation: organisation, logger: TestDatabase.logger)
                            return try await connection.query(
                                """
                                SELECT count(*)::int, count(*) FILTER (WHERE organisation_id IS DISTINCT FROM \(organisation))::int
                                FROM \(unescaped: table)
                                """, logger: TestDatabase.logger
                            ).decode((Int, Int).self).first { _ in true }
                        }
                        let label = organisation == ours ? "ours" : organisation == nil ? "none" : "theirs"
                        #expect(seen?.1 == 0, "\(table): rows of another organisation seen behind the wall of \(label)")
                        // The other organisation also has the fixture's own worker, team and session.
                        let enough = organisation == theirs ? (seen?.0 ?? 0) >= expected : seen?.0 == expected
                        #expect(enough, "\(table): \(seen?.0 ?? -1) rows seen behind the wall of \(label), \(expected) written")
                    }
                }
            }
        }
    }

    @Test func everyAppendOnlyTableRefusesUpdateDeleteAndTruncateToTheServerAndToItsOwner() async throws {
        try await Kith.run { kith in
            try await Self.writeEveryKindOfRecord(kith)
            let organisation = kith.fixture.organisation
            try await withDatabase(AppConfig(databaseURL: TestDatabase.serving(kith.databaseURL)), logger: TestDatabase.logger) { served in
                for table in Self.appendOnly.sorted() {
                    for statement in ["UPDATE \(table) SET organisation_id = organisation_id", "DELETE FROM \(table)", "TRUNCATE \(table) CASCADE"] {
                        // The server's role: no such privilege, whatever the rows.
                        let refused = await #expect(throws: PostgresTransactionError.self, "\(statement)") {
                            try await served.withTransaction(logger: TestDatabase.logger) { connection in
                                try await connection.enterWall(organisation: organisation, logger: TestDatabase.logger)
                                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: TestDatabase.logger)
                            }
                        }
                        let asServer = refused?.closureError as? PSQLError
                        #expect(asServer?.serverInfo?[.sqlState] == "42501", "\(statement) as the server: \(String(reflecting: asServer))")
                        // The tables' owner, who has every privilege: the trigger refuses.
                        let asOwner = await #expect(throws: PSQLError.self, "\(statement)") {
                            try await kith.db.query(PostgresQuery(unsafeSQL: statement), logger: TestDatabase.logger)
                        }
                        #expect(asOwner?.serverInfo?[.sqlState] == "42501", "\(statement) as the owner")
                        #expect(asOwner?.serverInfo?[.message]?.contains("\(table) is append-only") == true, "\(statement) as the owner")
                    }
                }
            }
        }
    }

    /// A row in every table of the organisation, written as its workers, its family and its devices write them.
    static func writeEveryKindOfRecord(_ kith: Kith) async throws {
        let victim = try await ContractWalkTests.victim(kith)
        let familyId = victim.ids["familyId"]!, personId = victim.ids["personId"]!, conferenceId = victim.ids["conferenceId"]!
        let contact = try await kith.json(
            .post, "/v1/families/\(familyId)/contacts", as: .priya,
            ["occurredAt": "2026-06-02T10:00:00Z", "kind": "homeVisit", "presentPersonIds": [personId],
             "presentWorkerIds": [kith.fixture.id(.tom).text]], expect: .created)
        // A contact corrected, and another withdrawn.
        _ = try await kith.json(
            .post, "/v1/contacts/\(contact["id"] as! String)/corrections", as: .priya, ["kind": "phone", "reason": "It was a call"], expect: .ok)
        let wrong = try await kith.json(
            .post, "/v1/families/\(familyId)/contacts", as: .priya, ["occurredAt": "2026-06-03T10:00:00Z", "kind": "phone"], expect: .created)
        _ = try await kith.json(.post, "/v1/contacts/\(wrong["id"] as! String)/withdraw", as: .priya, ["reason": "Wrong family"], expect: .ok)
        _ = try await kith.json(.post, "/v1/conferences/\(conferenceId)/stage", as: .priya, ["stage": "preparing", "on": CalendarDayText.today], expect: .ok)
        _ = try await kith.json(
            .post, "/v1/conferences/\(conferenceId)/coordinator", as: .sam, ["workerId": kith.fixture.id(.chris).text], expect: .ok)
        _ = try await kith.json(
            .post, "/v1/conferences/\(conferenceId)/meetings", as: .priya,
            ["kind": "review", "heldOn": CalendarDayText.today, "attended": [personId]], expect: .created)
        _ = try await kith.json(
            .post, "/v1/plan-items/\(victim.ids["planItemId"]!)/updates", as: .priya, ["text": "Going well"], expect: .created)
        _ = try await kith.json(
            .post, "/v1/allocations/\(victim.ids["allocationId"]!)/handover", as: .priya, ["note": "Amy talks in the car."], expect: .created)
        _ = try await kith.json(
            .put, "/v1/teams/\(kith.fixture.north.text)/signal-settings", as: .sam,
            ["noContactDays": 20, "childNotSeenDays": 30, "planReviewOverdueDays": 0, "workerChanges365": 2], expect: .ok)
        _ = try await kith.json(
            .post, "/v1/supervision-sessions", as: .sam,
            ["workerId": kith.fixture.id(.priya).text, "heldOn": CalendarDayText.today, "familyIds": [familyId], "notes": "Talked it through"],
            expect: .created)
        _ = try await kith.json(.post, "/v1/families/\(familyId)/access", as: .omar, ["reason": "Duty call about Amy"], expect: .created)
        _ = try await kith.json(.post, "/v1/workers/\(kith.fixture.id(.tom).text)/password-reset", as: .alex, nil, expect: .created)

        // A note filed in error, withdrawn.
        let misfiled = try await kith.json(.post, "/v1/families/\(familyId)/notes", as: .priya, ["body": "On the wrong family"], expect: .created)
        _ = try await kith.json(.post, "/v1/notes/\(misfiled["id"] as! String)/withdraw", as: .priya, ["reason": "Wrong family"], expect: .ok)
        // A note's audience narrowed.
        let sensitive = try await kith.json(.post, "/v1/families/\(familyId)/notes", as: .priya, ["body": "Sensitive"], expect: .created)
        _ = try await kith.json(
            .post, "/v1/notes/\(sensitive["id"] as! String)/audience", as: .priya, ["audience": "restricted", "reason": "Sensitive"], expect: .ok)

        // A subject access request with an event, a decision and a disclosure, and the organisation's days off.
        #expect(try await kith.request(.put, "/v1/organisation/holidays", as: .alex, json: ["2026-12-25"]).status == .ok)
        let officer = try await kith.addWorker("Ines Governance", roles: ["informationGovernance"], team: nil)
        let request = try await kith.request(
            .post, "/v1/subject-access-requests", token: officer.token,
            body: try JSONSerialization.data(withJSONObject: [
                "requester": ["personId": personId], "actingFor": "self", "dataSubjects": [personId], "receivedOn": CalendarDayText.today]))
        let requestId = try #require(try JSONSerialization.jsonObject(with: Data(buffer: request.body)) as? [String: Any])["id"] as! String
        for (path, body) in [("events", ["kind": "identityRequested", "on": CalendarDayText.today]),
                             ("redactions", ["itemId": "person:\(personId)", "exemption": "other", "reason": "Kept back"]),
                             ("disclosures", nil)] as [(String, [String: Any]?)] {
            let made = try await kith.request(
                .post, "/v1/subject-access-requests/\(requestId)/\(path)", token: officer.token,
                body: try body.map { try JSONSerialization.data(withJSONObject: $0) })
            #expect(made.status == .created, "\(path): \(String(buffer: made.body))")
        }

        // The organisation's own retention rules, and a hold on the family, released.
        let rules: [[String: Any]] = [
            ["code": "childInNeed", "description": "Until the youngest child is 25", "anchor": "youngestChildBirth", "years": 25],
            ["code": "closedSevenYears", "description": "Seven years after closing", "anchor": "familyClosed", "years": 5],
        ]
        #expect(try await kith.request(.put, "/v1/organisation/retention-rules", token: officer.token,
                                       body: try JSONSerialization.data(withJSONObject: rules)).status == .ok)
        let hold = try await kith.request(
            .post, "/v1/legal-holds", token: officer.token,
            body: try JSONSerialization.data(withJSONObject: ["familyId": familyId, "reason": "Litigation"]))
        let holdId = try #require(try JSONSerialization.jsonObject(with: Data(buffer: hold.body)) as? [String: Any])["id"] as! String
        #expect(try await kith.request(.post, "/v1/legal-holds/\(holdId)/release", token: officer.token,
                                       body: try JSONSerialization.data(withJSONObject: ["reason": "Settled"])).status == .ok)

        // A family held by a device, closed, and disposed of by two officers and the operator's command.
        let disposed = try await kith.openFamily("The Disposed family")
        let holder = try await FieldDevice.register(kith, as: .priya, name: "old tablet")
        _ = try await holder.pullAll(from: nil)
        _ = try await kith.json(.patch, "/v1/families/\(disposed.id)", as: .priya, ["status": "closed", "closedOn": "2020-01-01"], expect: .ok)
        let approver = try await kith.addWorker("Olu Records", roles: ["informationGovernance"], team: nil)
        #expect(try await kith.request(.post, "/v1/families/\(disposed.id)/retention", token: officer.token,
                                       body: try JSONSerialization.data(withJSONObject: ["rule": "closedSevenYears"])).status == .ok)
        let batch = try await kith.request(
            .post, "/v1/disposal-batches", token: officer.token, body: try JSONSerialization.data(withJSONObject: ["familyIds": [disposed.id]]))
        let batchId = try #require(try JSONSerialization.jsonObject(with: Data(buffer: batch.body)) as? [String: Any])["id"] as! String
        #expect(try await kith.request(.post, "/v1/disposal-batches/\(batchId)/approve", token: approver.token, body: nil).status == .ok)
        #expect(try await Disposer(db: kith.db, logger: TestDatabase.logger).dispose(ledger: nil).disposed.count == 1)

        // A device that pulled and pushed.
        let device = try await FieldDevice.register(kith, as: .priya)
        _ = try await device.pullAll(from: nil)
        _ = try await device.push([Mutation.note(1, family: familyId, body: "Written on the tablet")])

        // An identity provider, saved as PUT /v1/organisation/identity-provider saves one once it has fetched the
        // provider's documents (IdentityTests saves one so, against a provider on loopback).
        try await kith.db.query(
            """
            INSERT INTO identity_providers (organisation_id, sign_in_name, issuer, client_id, discovery, jwks, updated_by)
            VALUES (\(kith.fixture.organisation), 'wall', 'https://login.example.org', 'kith',
                    '{"issuer": "https://login.example.org", "jwks_uri": "https://login.example.org/keys",
                      "authorization_endpoint": "https://login.example.org/authorize", "token_endpoint": "https://login.example.org/token"}',
                    '{"keys": []}', \(kith.fixture.id(.alex)))
            """, logger: TestDatabase.logger)
        // A device's sign-in through it, waiting.
        let started = try await kith.request(.post, "/v1/auth/device", as: nil, json: ["organisation": "wall"])
        #expect(started.status == .ok)
        // A provisioning token, and a change the provider made with it (its audit event is the token's).
        let scim = try await ProvisioningTests.token(kith)
        let renamed = try await ProvisioningTests.scim(kith, .patch, "/Users/\(kith.fixture.id(.tom).text)", token: scim.token, [
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [["op": "replace", "path": "name.familyName", "value": "Walsh"]],
        ])
        #expect(renamed.status == .ok)

        // The family's page opened, and their words sent.
        let story = try await FamilyPageTests.story(kith)
        var browser = Browser(kith: kith)
        try await browser.signIn(story)
        let csrf = Browser.csrf(try await browser.get("/family"))
        #expect(try await browser.post("/family/message", ["text": "Thank you", "csrf": csrf]).status == .seeOther)

        // What got in the way, told and answered; the family's verdict after their conference, with their words.
        let friction = try await kith.json(
            .post, "/v1/frictions", as: .priya, ["text": "Interpreters need ten days' notice", "familyId": familyId, "kind": "rule"],
            expect: .created)
        _ = try await kith.json(.post, "/v1/frictions/\(friction["id"] as! String)/events", as: .sam, ["kind": "acknowledged"], expect: .created)
        try await VoiceTests.answerTheQuestions(kith, story, &browser, ["listened": "4", "words": "The bus fare", "named": "yes"])
        // A change of practice, and a study of it approved by a second administrator, with an extract drawn.
        _ = try await kith.json(
            .post, "/v1/practice-changes", as: .sam,
            ["teamId": kith.fixture.north.text, "startedOn": "2026-01-05", "description": "Reflective group supervision"], expect: .created)
        try await VoiceTests.drawAnExtract(kith)

        // A note the page showed, withdrawn: a data incident, and its supervisor's decision.
        let shown: Components.Schemas.TimelinePage = try await kith.send(.get, "/v1/families/\(story.familyId)/timeline", as: .priya)
        let familyNote = try #require(shown.items.first { $0.kind == .note && $0.summary?.hasPrefix("family") == true })
        _ = try await kith.json(.post, "/v1/notes/\(familyNote.id)/withdraw", as: .priya, ["reason": "Wrong family"], expect: .ok)
        let incidents: Components.Schemas.IncidentList = try await kith.send(.get, "/v1/incidents", as: .sam)
        _ = try await kith.json(
            .post, "/v1/incidents/\(try #require(incidents.items.first).id)/decisions", as: .sam,
            ["reportedToRegulator": false, "reason": "Low risk"], expect: .created)
    }

    /// Every row of `organisation` again as `copy`'s, every id in it changed alike (so references still hold), and every
    /// value that must be unique across organisations changed too (an email; a token's hash, hashed again so that it keeps
    /// its length). Written as the tables' owner with triggers off, as a restore would write it: the other organisation's
    /// rows are what is wanted here, not the feed's.
    static func copy(organisation: UUID, to copy: UUID, in kith: Kith) async throws {
        try await kith.db.withTransaction(logger: TestDatabase.logger) { connection in
            try await connection.query("SET LOCAL session_replication_role = replica", logger: TestDatabase.logger)
            let columns = try await connection.query(
                """
                SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
                FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                WHERE c.relkind = 'r' AND a.attidentity = '' AND a.attgenerated = ''
                  AND EXISTS (SELECT 1 FROM pg_attribute o WHERE o.attrelid = c.oid AND o.attname = 'organisation_id')
                ORDER BY c.relname, a.attnum
                """, logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, String, String).self) }
            for (table, rows) in Dictionary(grouping: columns, by: \.0) {
                let names = rows.map(\.1)
                let values = rows.map { _, column, type -> String in
                    switch (column, type) {
                    case ("organisation_id", _): "'\(copy)'::uuid"
                    case ("id", "uuid") where table == "organisations": "'\(copy)'::uuid"
                    case (_, "uuid"): "md5(\(column)::text || 'copy')::uuid"
                    case (_, "uuid[]"): "array(SELECT md5(x::text || 'copy')::uuid FROM unnest(\(column)) x)"
                    case (_, "bytea"): "sha256(\(column))"
                    case ("email", _), ("sign_in_name", _): "'copy-' || \(column)"
                    case ("user_code", _): "translate(\(column), 'BCDFGHJKLMNPQRSTVWXZ', 'CDFGHJKLMNPQRSTVWXZB')"
                    default: column
                    }
                }
                try await connection.query(
                    PostgresQuery(unsafeSQL: """
                        INSERT INTO \(table) (\(names.joined(separator: ", ")))
                        SELECT \(values.joined(separator: ", ")) FROM \(table) WHERE organisation_id = '\(organisation)'
                        ON CONFLICT DO NOTHING
                        """), logger: TestDatabase.logger)
            }
        }
    }
}
