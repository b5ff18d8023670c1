import Crypto
import Foundation
import KithAPI
import KithCore
import PostgresNIO
import Testing
@testable import KithServer

/// Every role's day in the terminal (tmux), against the real `kith-server` on loopback: a coordinator from referral to
/// an agreed plan, a practitioner's joint visit and handover that the incoming worker reads, and a supervisor who
/// reallocates and records supervision.
@Suite struct CoordinationTerminalTests {
    struct Setting {
        let fixture: Fixture
        let server: ServerProcess
        let family: Components.Schemas.Family

        func post(_ path: String, as who: Fixture.Who, _ body: [String: Any]) async throws -> Data {
            let (status, data) = try await server.post(path, token: fixture.tokens[who]!, json: try JSONSerialization.data(withJSONObject: body))
            #expect((200..<300).contains(status), "\(path): \(String(decoding: data, as: UTF8.self))")
            return data
        }
    }

    /// The Adeyemi family (FGC-7) of Priya's, with Amy, Jade and Margaret in its network.
    func withFamily(_ body: @escaping @Sendable (Setting, PostgresClient) async throws -> Void) async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                let fixture = try await Fixture.seed(db, logger: TestDatabase.logger)
                let server = try await ServerProcess(databaseURL: url)
                server.mustNotLog("Adeyemi", "Amy", "Jade", "Margaret")
                defer { server.kill() }
                let (_, created) = try await server.post(
                    "/v1/families", token: fixture.tokens[.priya]!,
                    json: try JSONSerialization.data(withJSONObject: ["displayName": "The Adeyemi family", "reference": "FGC-7"]))
                let family = try Kith.decoder.decode(Components.Schemas.Family.self, from: created)
                let setting = Setting(fixture: fixture, server: server, family: family)
                for (name, child) in [("Amy Adeyemi", true), ("Jade Adeyemi", false), ("Margaret Adeyemi", false)] {
                    _ = try await setting.post("/v1/families/\(family.id)/people", as: .priya, ["name": name, "isChildInFocus": child])
                }
                try await body(setting, db)
            }
        }
    }

    /// An information-governance officer (Ruth, given the role) logs the nan's request, pauses it for identity, reads the
    /// bundle, withholds her daughter's details, discloses to a file whose hash the server kept, and holds the family.
    @Test func anOfficerWorksARequestAndHoldsAFamilyFromTheTerminal() async throws {
        try await withFamily { setting, db in
            let logger = TestDatabase.logger
            try await db.query("UPDATE workers SET roles = roles || '{informationGovernance}' WHERE email = 'ruth@test.kith'", logger: logger)
            func person(_ name: String) async throws -> String {
                try await db.query("SELECT id FROM people WHERE name = \(name)", logger: logger).collect()[0].decode(UUID.self).text
            }
            let (margaret, jade) = (try await person("Margaret Adeyemi"), try await person("Jade Adeyemi"))
            let terminal = try Tmux()
            defer { terminal.close() }
            try await terminal.login(.ruth, port: setting.server.port)
            let kith = "kith --profile ruth"

            var screen = try await terminal.run("\(kith) sar new --subject \(margaret) --requester \(margaret) --received 2026-12-01 --channel letter")
            #expect(screen.contains("Received 2026-12-01; due 2027-01-01"), "\(screen)")
            let request = try await db.query("SELECT id FROM subject_access_requests", logger: logger).collect()[0].decode(UUID.self)
            let ref = String(request.text.prefix(8))
            screen = try await terminal.run("\(kith) sar event \(ref) identityRequested --on 2026-12-02 --reason 'Asked for her bus pass'")
            #expect(screen.contains("— paused") && screen.contains("identityRequested: Asked for her bus pass"), "\(screen)")
            screen = try await terminal.run("\(kith) sar bundle \(ref)")
            #expect(screen.contains("theirOwnDetails") && screen.contains("person:\(jade.prefix(8))"), "\(screen)")
            screen = try await terminal.run("\(kith) sar redact \(ref) person:\(jade) --exemption thirdParty --reason 'Her details are hers'")
            #expect(screen.contains("Item withheld (thirdParty)."), "\(screen)")
            let file = terminal.folder.appendingPathComponent("disclosure.html")
            screen = try await terminal.run("\(kith) sar disclose \(ref) --output \(file.path)")
            let kept = try await db.query("SELECT encode(sha256, 'hex') FROM subject_access_disclosures", logger: logger).collect()[0].decode(String.self)
            #expect(screen.contains("sha256 \(kept)"), "\(screen)")
            let document = try Data(contentsOf: file)
            #expect(Data(SHA256.hash(data: document)).map { String(format: "%02x", $0) }.joined() == kept)
            #expect(String(decoding: document, as: UTF8.self).contains("Margaret Adeyemi"))

            screen = try await terminal.run("\(kith) hold --family \(setting.family.id) --reason 'Litigation about the placement'")
            #expect(screen.contains("placed"), "\(screen)")
            screen = try await terminal.run("\(kith) hold")
            #expect(screen.contains("Litigation about the pla"), "\(screen)")
            screen = try await terminal.run("\(kith) retention")
            #expect(screen.contains("childInNeed"), "\(screen)")
            #expect(try await db.query("SELECT count(*)::int FROM legal_holds", logger: logger).collect()[0].decode(Int.self) == 1)
        }
    }

    @Test func aCoordinatorTakesAReferralFromASchoolToAnAgreedPlanWithItsPrivateFamilyTime() async throws {
        try await withFamily { setting, db in
            _ = try await setting.post(
                "/v1/families/\(setting.family.id)/allocations", as: .sam,
                ["workerId": setting.fixture.id(.chris).text, "role": "coordinator", "startedOn": CalendarDay.today.text])
            let terminal = try Tmux()
            defer { terminal.close() }
            try await terminal.login(.chris, port: setting.server.port)
            let kith = "kith --profile chris"

            var screen = try await terminal.run("""
                \(kith) conference new FGC-7 --reason 'School worried about attendance' \
                --referrer 'Mrs Hughes, Riverside Primary School' --family-agreed --agreed-by jade --bottom-line 'Amy is at school every day'
                """)
            #expect(screen.contains("Referral recorded for The Adeyemi family"), "\(screen)")
            screen = try await terminal.run("\(kith) conference stage FGC-7 preparing -m 'Met Jade and Margaret at home'")
            #expect(screen.contains("preparing on \(CalendarDay.today.text)"), "\(screen)")
            try await terminal.run("\(kith) conference invite FGC-7 margaret")
            try await terminal.run("\(kith) conference invite FGC-7 jade")
            screen = try await terminal.run("\(kith) conference invite FGC-7 tom --role informationGiver")
            #expect(screen.contains("as informationGiver"), "\(screen)")
            screen = try await terminal.run("\(kith) conference meeting FGC-7 --held-on today --family-time 13:00-14:30 --attended jade margaret")
            #expect(screen.contains("(2 attended)"), "\(screen)")
            try await terminal.run("\(kith) conference stage FGC-7 conferenceHeld")

            try terminal.nextEdit("Margaret: Takes Amy to school on Mondays\nJade: Calls the school if Amy is ill by 2027-01-31\n")
            screen = try await terminal.run("\(kith) plan new FGC-7 --review-on 2027-02-01 --referrer-agreed")
            #expect(screen.contains("Plan version 1 saved with 2 items"), "\(screen)")
            // With no network, as at a community venue: saved here, sent at the next sync.
            screen = try await terminal.run("KITH_OFFLINE=1 \(kith) conference stage FGC-7 planAgreed")
            #expect(screen.contains("saved locally") && screen.contains("1 conference stage waiting"), "\(screen)")
            try await terminal.run("\(kith) sync")

            screen = try await terminal.run("\(kith) conference show FGC-7")
            #expect(screen.contains("Referred by Mrs Hughes, Riverside Primary School"), "\(screen)")
            #expect(screen.contains("The family agreed on \(CalendarDay.today.text) (Jade Adeyemi)"))
            #expect(screen.contains("planAgreed since"))
            #expect(screen.contains("private family time 13:00–14:30"))
            #expect(screen.contains("attended: ") && screen.contains("Margaret Adeyemi"))
            #expect(screen.contains("Takes Amy to school on"))

            // On the server: an outside referrer, the meeting's private time, the plan agreed.
            #expect(try await count(db, """
                SELECT count(*) FROM conferences c JOIN people p ON p.id = c.family_agreed_by
                WHERE c.referrer_id IS NULL AND c.referrer_agency = 'Riverside Primary School' AND p.name = 'Jade Adeyemi'
                  AND c.stage = 'planAgreed'
                """) == 1)
            #expect(try await count(db, """
                SELECT count(*) FROM conference_meetings
                WHERE private_time_ended_at - private_time_started_at = interval '90 minutes'
                """) == 1)
            #expect(try await count(db, "SELECT count(*) FROM meeting_attendance WHERE attended") == 2)
            #expect(try await count(db, "SELECT count(*) FROM plan_items WHERE by_when = '2027-01-31'") == 1)

            // The next version starts from the items still open: Margaret's is done, in her words.
            let plan: Components.Schemas.FamilyPlan = try Kith.decoder.decode(
                ItemList<Components.Schemas.FamilyPlan>.self,
                from: try await setting.server.get("/v1/conferences/\(try await conferenceId(db))/plans", token: setting.fixture.tokens[.chris]!)
            ).items[0]
            let mondays = try #require(plan.items.first { $0.what == "Takes Amy to school on Mondays" })
            screen = try await terminal.run("\(kith) plan update \(mondays.id.prefix(8)) -m 'Every Monday so far' --done --from margaret")
            #expect(screen.contains("Plan item updated"), "\(screen)")
            #expect(try await count(db, "SELECT count(*) FROM plan_item_updates u JOIN people p ON p.id = u.from_person_id WHERE p.name = 'Margaret Adeyemi'") == 1)
            try terminal.nextEdit("Jade: Calls the school if Amy is ill\n")
            screen = try await terminal.run("\(kith) plan new FGC-7")
            #expect(screen.contains("Plan version 2 saved with 1 items"), "\(screen)")
            let template = try String(contentsOf: terminal.folder.appendingPathComponent("template-seen"), encoding: .utf8)
            #expect(template.contains("Jade Adeyemi: Calls the school if Amy is ill by 2027-01-31"))
            #expect(!template.contains("Takes Amy to school on Mondays"))

            // A referral new to Kith: Chris opens the family and is its coordinator, with its network added offline.
            screen = try await terminal.run("\(kith) open 'The Okoro family' --reference FGC-20 --reason 'Referred by the school'")
            #expect(screen.contains("Opened The Okoro family (FGC-20) in North"), "\(screen)")
            try await terminal.run("KITH_OFFLINE=1 \(kith) person add FGC-20 'Grace Okoro' --relationship mother")
            screen = try await terminal.run("\(kith) families")
            #expect(screen.contains("FGC-20") && screen.contains("The Okoro family (1 unsent)"), "\(screen)")
            #expect(try await count(db, """
                SELECT count(*) FROM allocations a JOIN families f ON f.id = a.family_id
                WHERE f.reference = 'FGC-20' AND a.role = 'coordinator' AND a.worker_id = '\(setting.fixture.id(.chris))'
                """) == 1)
        }
    }

    @Test func aPractitionerHandsOverAndASupervisorReallocatesAndRecordsSupervision() async throws {
        try await withFamily { setting, db in
            let terminal = try Tmux()
            defer { terminal.close() }
            for who in [Fixture.Who.priya, .tom, .sam, .omar] { try await terminal.login(who, port: setting.server.port) }

            // Omar, on duty for the South team, opens the family by its id: he is told it is recorded and shown.
            var screen = try await terminal.run(
                "kith --profile omar access \(setting.family.id) --reason 'Out of hours: police called about Amy'")
            #expect(screen.contains("Access to The Adeyemi family is open until"), "\(screen)")
            #expect(screen.contains("recorded with your reason in the family's audit trail and shown to the family's supervisors"))
            screen = try await terminal.run("kith --profile sam break-glass")
            #expect(screen.contains("Omar Haddad") && screen.contains("Out of hours: police called"), "\(screen)")
            screen = try await terminal.run("kith --profile sam audit FGC-7 --others")
            #expect(screen.contains("Omar Haddad") && screen.contains("break-glass"), "\(screen)")

            // Priya takes Tom on a handover visit, then writes the handover from her terminal.
            screen = try await terminal.run("kith --profile priya visit FGC-7 --with tom jade --other 'Ana Silva, interpreter' --child-seen -m 'Handover visit with Tom'")
            #expect(screen.contains("Home visit recorded with a note for The Adeyemi family and synced"), "\(screen)")
            screen = try await terminal.run(
                "kith --profile priya handover FGC-7 -m 'Amy opens up in the car, not at home. Margaret does the Friday school run.'")
            #expect(screen.contains("Handover note saved for The Adeyemi family and synced"), "\(screen)")
            #expect(try await count(db, """
                SELECT count(*) FROM contacts c
                WHERE c.others_present @> '[{"name": "Ana Silva", "role": "interpreter"}]'
                  AND (SELECT count(*) FROM contact_workers w WHERE w.contact_id = c.id) = 2
                  AND (SELECT count(*) FROM contact_people p WHERE p.contact_id = c.id) = 1
                """) == 1)

            // Sam reallocates to Tom in one step and records supervision with Priya.
            screen = try await terminal.run("kith --profile sam reallocate FGC-7 --to tom --reason 'Priya moves to the South team'")
            #expect(screen.contains("Priya Shah's allocation ended; Tom Walsh holds it from"), "\(screen)")
            #expect(screen.contains("Tom Walsh has the handover note to read"))
            screen = try await terminal.run("kith --profile sam supervision record priya --family FGC-7 -m 'Talked through the move and the handover.'")
            #expect(screen.contains("Supervision with Priya Shah on \(CalendarDay.today.text) recorded (1 families discussed)"), "\(screen)")
            screen = try await terminal.run("kith --profile sam supervision list priya")
            #expect(screen.contains("Talked through the move and the handover."), "\(screen)")
            screen = try await terminal.run("kith --profile sam review --team")
            #expect(screen.contains("handover") && screen.contains("The Adeyemi family"), "\(screen)")

            // Tom reads the handover where he first looks at the family, and acknowledges it.
            // The change feed holds a commit back while older transactions run (other tests share the server), so the
            // family may take another sync to arrive, as it would for Tom.
            screen = try await waitUntil("the family to reach Tom's terminal", every: .milliseconds(500)) {
                try await terminal.run("kith --profile tom sync")
                let family = try await terminal.run("kith --profile tom family FGC-7")
                return family.contains("no family on this device") ? nil : family
            }
            #expect(screen.contains("Handover note from Priya Shah"), "\(screen)")
            #expect(screen.contains("Amy opens up in the car, not at home. Margaret does the Friday school run."))
            screen = try await terminal.run("kith --profile tom review")
            #expect(screen.contains("A handover note from Priya Shah to read"), "\(screen)")
            #expect(try await count(db, "SELECT count(*) FROM review_items WHERE kind = 'handover' AND status = 'open'") == 1)

            // The joint visit recorded with --with counts in the family's continuity.
            let data = try await setting.server.get("/v1/continuity/families/\(setting.family.id)", token: setting.fixture.tokens[.sam]!)
            let continuity = try Kith.decoder.decode(Components.Schemas.FamilyContinuity.self, from: data)
            #expect(continuity.handovers365.total == 1 && continuity.handovers365.withJointVisit == 1 && continuity.handovers365.withNote == 1)
            screen = try await terminal.run("kith --profile sam continuity --family FGC-7")
            #expect(screen.contains("Handovers in the year (note / joint visit)") && screen.contains("1 (1 / 1)"), "\(screen)")
        }
    }

    private func conferenceId(_ db: PostgresClient) async throws -> String {
        try await db.query("SELECT id::text FROM conferences", logger: TestDatabase.logger).decode(String.self).first { _ in true } ?? ""
    }
}
