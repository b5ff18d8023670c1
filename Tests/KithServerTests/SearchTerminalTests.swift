import Foundation
import KithAPI
import Testing
@testable import KithServer

/// `kith search` and `kith find` typed into a real terminal against the real `kith-server`: Priya finds words across
/// her caseload online, then on her machine when the server is gone; Tom finds a family he has no relationship with only
/// by its name and reference, opens it by reference with a reason, and then finds its notes.
@Suite struct SearchTerminalTests {
    @Test func aPractitionerSearchesOnlineThenOfflineAndADutyWorkerFindsAFamilyToOpen() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                let fixture = try await Fixture.seed(db, logger: TestDatabase.logger)
                let server = try await ServerProcess(databaseURL: url)
                server.mustNotLog("Adeyemi", "school", "allotment")
                func json(_ value: Any) throws -> Data { try JSONSerialization.data(withJSONObject: value) }
                let priya = fixture.tokens[.priya]!
                let (created, body) = try await server.post(
                    "/v1/families", token: priya, json: try json(["displayName": "The Adeyemi family", "reference": "FGC-7"]))
                #expect(created == 201)
                let family = try Kith.decoder.decode(Components.Schemas.Family.self, from: body)
                for text in ["We talked about the school move in September.", "Visited the allotment with Theo and his nan."] {
                    let (written, _) = try await server.post("/v1/families/\(family.id)/notes", token: priya, json: try json(["body": text]))
                    #expect(written == 201)
                }

                let terminal = try Tmux()
                defer { terminal.close() }
                try await terminal.login(.priya, port: server.port)

                var screen = try await terminal.run("kith --profile priya search 'school move'")
                #expect(screen.contains("FGC-7  The Adeyemi family") && screen.contains("**school** **move**"), "\(screen)")
                #expect(!screen.contains("offline"), "\(screen)")
                screen = try await terminal.run("kith --profile priya search visits --json")
                #expect(screen.contains("\"snippet\"") && screen.contains("allotment"), "\(screen)")

                // Written on the machine while offline, then the server goes: the machine's notes are searched, the new
                // one among them, in the same words (a stem, a prefix, a word left out).
                screen = try await terminal.run(
                    "KITH_OFFLINE=1 kith --profile priya note FGC-7 -m 'Phoned school about the breakfast club.'")
                server.kill()
                screen = try await terminal.run("kith --profile priya search 'club -move scho'")
                #expect(screen.contains("Searched the notes on this machine (offline)"), "\(screen)")
                #expect(screen.contains("Phoned **school** about the breakfast **club**.") && !screen.contains("September"), "\(screen)")
                screen = try await terminal.run("kith --profile priya search visiting --local")
                #expect(screen.contains("allotment") && !screen.contains("breakfast"), "\(screen)")
                screen = try await terminal.run("kith --profile priya search '\"move in\"' --family FGC-7 --local")
                #expect(screen.contains("September") && !screen.contains("allotment"), "\(screen)")

                // Tom, on duty, with the server back: the family is known by its name only until he opens it.
                let again = try await ServerProcess(databaseURL: url, port: server.port)
                defer { again.kill() }
                screen = try await terminal.run("kith --profile priya sync")
                #expect(screen.contains("Synced: sent 1,"), "\(screen)")
                try await terminal.login(.tom, port: again.port)
                screen = try await terminal.run("kith --profile tom search school")
                #expect(screen.contains("No notes you may read hold that."), "\(screen)")
                screen = try await terminal.run("kith --profile tom find Adeyemy")
                #expect(screen.contains("FGC-7") && screen.contains("The Adeyemi family") && screen.contains("no relationship"), "\(screen)")
                #expect(!screen.contains("school"), "\(screen)")
                screen = try await terminal.run("kith --profile tom access FGC-7 --reason 'Duty call from the school this evening'")
                #expect(screen.contains("Access to The Adeyemi family is open until"), "\(screen)")
                screen = try await terminal.run("kith --profile tom search school")
                #expect(screen.contains("breakfast club") && screen.contains("the **school** move"), "\(screen)")
            }
        }
    }
}
