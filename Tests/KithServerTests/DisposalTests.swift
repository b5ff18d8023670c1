import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import KithCore
import Logging
import PostgresNIO
import Testing
@testable import KithServer

/// Certified disposal (issue #27): proposed by one officer, approved by another, refused while anything holds the
/// family; `kith-server dispose` leaves no row with the family's id anywhere but its certificate, devices purge it, a
/// later push for it is refused, and after a restore `replay-disposals` deletes it again.
@Suite struct DisposalTests {
    @Test func twoOfficersHaveAFamilyDisposedOfWithACertificateAndItStaysGone() async throws {
        try await Kith.run { kith in
            let first = try await kith.addWorker("Ines Governance", roles: ["informationGovernance"], team: nil)
            let second = try await kith.addWorker("Olu Records", roles: ["informationGovernance"], team: nil)
            func call(_ token: String, _ method: HTTPRequest.Method, _ path: String, _ body: Any? = nil) async throws -> TestResponse {
                try await kith.request(method, path, token: token, body: try body.map { try JSONSerialization.data(withJSONObject: $0) })
            }
            // A family with a little of everything: people, notes, a conference and plan, the family's page and words, a
            // contact corrected, a device that holds it.
            let story = try await FamilyPageTests.story(kith)
            let family = story.familyId, margaret = story.margaretId
            var browser = Browser(kith: kith)
            try await browser.signIn(story)
            let page = try await browser.get("/family")
            _ = try await browser.post("/family/message", ["text": "Thank you", "csrf": Browser.csrf(page)])
            let contact = try await kith.json(
                .post, "/v1/families/\(family)/contacts", as: .priya,
                ["occurredAt": "2026-06-02T10:00:00Z", "kind": "homeVisit", "presentPersonIds": [story.margaretId]], expect: .created)
            _ = try await kith.json(.post, "/v1/contacts/\(contact["id"] as! String)/corrections", as: .priya, ["kind": "phone", "reason": "A call"], expect: .ok)
            let device = try await FieldDevice.register(kith, as: .priya)
            let (_, cursor) = try await device.pullAll(from: nil)
            let other = try await kith.openFamily("The Morgan family")

            let yesterday = CalendarDay(CalendarDayText.today)!.adding(days: -1).description
            _ = try await kith.json(.patch, "/v1/families/\(family)", as: .priya, ["status": "closed", "closedOn": yesterday], expect: .ok)
            #expect(try await call(first.token, .put, "/v1/organisation/retention-rules", [
                ["code": "closedCase", "description": "Nothing kept after closing, for this test", "anchor": "familyClosed", "years": 0]]).status == .ok)
            // The backup an operator might restore later, taken before anything of the disposal.
            let dump = FileManager.default.temporaryDirectory.appendingPathComponent("kith-dump-\(UUID().uuidString.prefix(8))")
            let ledger = FileManager.default.temporaryDirectory.appendingPathComponent("kith-ledger-\(UUID().uuidString.prefix(8))")
            defer { try? FileManager.default.removeItem(at: dump); try? FileManager.default.removeItem(at: ledger) }
            try Self.run("pg_dump", ["-Fc", "-f", dump.path, "-d", kith.databaseURL])

            // Not due, not proposed: the other family is open.
            #expect(try await call(first.token, .post, "/v1/disposal-batches", ["familyIds": [other.id]]).status == .conflict)
            let proposed = try await call(first.token, .post, "/v1/disposal-batches", ["familyIds": [family]])
            #expect(proposed.status == .created, "\(String(buffer: proposed.body))")
            let batch = try Kith.decoder.decode(Components.Schemas.DisposalBatch.self, from: proposed.body)
            #expect(batch.families.map(\.familyId) == [family] && batch.families[0].rule == "closedCase")

            // The proposer does not approve; a hold placed meanwhile stops the approval; released, the other officer approves once.
            #expect(try await call(first.token, .post, "/v1/disposal-batches/\(batch.id)/approve").status == .forbidden)
            let hold = try Kith.decoder.decode(
                Components.Schemas.LegalHold.self, from: try await call(first.token, .post, "/v1/legal-holds", ["familyId": family, "reason": "A complaint"]).body)
            let held = try await call(second.token, .post, "/v1/disposal-batches/\(batch.id)/approve")
            #expect(held.status == .conflict)
            #expect(try kith.problem(held).code == "legal_hold")
            _ = try await call(first.token, .post, "/v1/legal-holds/\(hold.id)/release", ["reason": "Complaint closed"])
            #expect(try await call(second.token, .post, "/v1/disposal-batches/\(batch.id)/approve").status == .ok)
            #expect(try await call(second.token, .post, "/v1/disposal-batches/\(batch.id)/approve").status == .conflict)

            let outcome = try await Disposer(db: kith.db, logger: TestDatabase.logger).dispose(ledger: ledger)
            #expect(outcome.disposed.map(\.familyId.text) == [family] && outcome.held.isEmpty)
            // No row anywhere names the family but disposal's own record (the batch, the certificate, the devices' purges),
            // nor any of its people or records.
            let naming = try await Self.tablesNaming(family, kith.db)
            #expect(naming == ["disposal_batches", "disposal_certificates", "disposal_purges"], "\(naming)")
            for id in [story.margaretId, contact["id"] as! String, story.conferenceId, story.planItemId] {
                #expect(try await Self.tablesNaming(id, kith.db) == [], "\(id)")
            }
            #expect(try await kith.count("SELECT count(*) FROM families WHERE id = '\(other.id)'") == 1)
            let certificates = try Kith.decoder.decode(
                Components.Schemas.DisposalCertificateList.self, from: try await call(second.token, .get, "/v1/disposal-certificates").body)
            let certificate = try #require(certificates.items.first)
            #expect(certificate.familyId == family && certificate.proposedBy == first.id.text && certificate.approvedBy == second.id.text)
            #expect(certificate.rowCounts.additionalProperties["notes"] == 3 && certificate.rowCounts.additionalProperties["families"] == 1)
            #expect(certificate.rowCounts.additionalProperties["contact_corrections"] == 1 && certificate.deletedIdsSha256.count == 64)
            #expect(try await call(first.token, .get, "/v1/disposal-certificates").status == .ok)
            #expect(try await kith.request(.get, "/v1/disposal-certificates", as: .alex).status == .forbidden)

            // The device is told to purge it until it says it has; then a push naming it is refused, never re-creating it.
            let told = try await device.pull(cursor: cursor)
            let removal = try #require(told.scope.removals.first { $0.familyId == family })
            #expect(removal.reason == "disposed" && told.instructions.contains { $0.familyId == family && $0._type == .purgeFamily })
            let acked = try await device.post("/v1/sync/ack", ["purged": [["familyId": family, "grantId": removal.grantId]]])
            #expect(acked.status == .ok || acked.status == .noContent)
            #expect(try await device.pull(cursor: told.cursor).scope.removals.isEmpty)
            let pushed = try await device.push([Mutation.mutation(1, .recordContact(familyId: family, .init(occurredAt: Date(), kind: .phone)))])
            #expect(pushed.results.map(\.status) == [.rejected] && pushed.results[0].reason?.contains("disposed") == true)
            #expect(try await kith.count("SELECT count(*) FROM families WHERE id = '\(family)'") == 0)

            // A restore brings the family back, from before it was even proposed; replaying the ledger disposes of it again
            // and writes its certificate back.
            let restored = "kith_restored_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
            _ = try await TestDatabase.admin { try await $0.query("CREATE DATABASE \(unescaped: restored)", logger: TestDatabase.logger) }
            // Dropped when the check is done, whether it passed or not.
            func dropRestored() async throws {
                _ = try await TestDatabase.admin {
                    try await $0.query("DROP DATABASE IF EXISTS \(unescaped: restored) WITH (FORCE)", logger: TestDatabase.logger)
                }
            }
            do {
                try Self.run("pg_restore", ["--no-owner", "-d", TestDatabase.url(database: restored), dump.path])
                try await withDatabase(AppConfig(databaseURL: TestDatabase.url(database: restored)), logger: TestDatabase.logger) { db in
                    func families() async throws -> Int {
                        try await db.query("SELECT count(*)::int FROM families WHERE id = \(UUID(uuidString: family)!)", logger: TestDatabase.logger)
                            .decode(Int.self).first { _ in true } ?? -1
                    }
                    #expect(try await families() == 1)
                    let replayed = try await Disposer(db: db, logger: TestDatabase.logger).replay(ledger: ledger)
                    #expect(replayed.map(\.familyId.text) == [family])
                    #expect(try await families() == 0)
                    let naming = try await Self.tablesNaming(family, db)
                    #expect(naming == ["disposal_certificates", "disposal_purges"], "\(naming)")
                    #expect(try await Self.tablesNaming(margaret, db) == [])
                }
            } catch {
                try? await dropRestored()
                throw error
            }
            try await dropRestored()
        }
    }

    /// Every table with a `family_id`, each of which disposal deletes from (the catalog decides, in `Disposer`); a new
    /// one is named here, and the test above then proves it is disposed of with the rest, or fails.
    static let tablesWithFamilyId: Set<String> = [
        "allocations", "audit_events", "break_glass_grants", "conference_coordinators", "conference_meetings", "conference_participants",
        "conference_stage_events", "conferences", "contact_corrections", "contact_withdrawals", "contacts", "data_incidents",
        "device_grants", "family_invitations", "family_messages", "family_plans", "family_sessions", "handover_notes", "legal_holds",
        "meeting_attendance", "note_audience_changes", "note_revisions", "note_withdrawals", "notes", "people", "plan_item_updates",
        "plan_items", "review_items", "subject_access_subjects", "supervision_session_families", "sync_changes",
        "frictions", "family_feedback", "family_feedback_given",
        // Disposal's own record, which outlives the family by design.
        "disposal_certificates", "disposal_purges",
    ]

    @Test func everyTableWithAFamilysRowsIsNamed() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                let tables = try await db.query(
                    """
                    SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
                    WHERE c.relkind = 'r' AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'family_id'
                                                        AND NOT a.attisdropped)
                    """, logger: TestDatabase.logger
                ).collect().map { try $0.decode(String.self) }
                #expect(Set(tables) == Self.tablesWithFamilyId)
            }
        }
    }

    /// The tables with a row whose text holds `id`.
    static func tablesNaming(_ id: String, _ db: PostgresClient) async throws -> [String] {
        let tables = try await db.query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename", logger: TestDatabase.logger
        ).collect().map { try $0.decode(String.self) }
        var naming: [String] = []
        for table in tables {
            let count = try await db.query(
                PostgresQuery(unsafeSQL: "SELECT count(*)::int FROM \(table) t WHERE t::text LIKE '%' || $1 || '%'", binds: {
                    var binds = PostgresBindings()
                    binds.append(id)
                    return binds
                }()), logger: TestDatabase.logger
            ).decode(Int.self).first { _ in true } ?? 0
            if count > 0 { naming.append(table) }
        }
        return naming
    }

    static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(tool) failed")
    }
}
