import Foundation
import KithAPI
import PostgresNIO
import Testing
@testable import KithServer

/// `kith blocked` and `kith frictions` typed into a real terminal against the real `kith-server`: Priya says what got in
/// the way offline and after a refusal, Sam answers, and Priya reads the answer.
@Suite struct VoiceTerminalTests {
    @Test func aPractitionerSaysWhatGotInTheWayAndReadsHerSupervisorsAnswer() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                let fixture = try await Fixture.seed(db, logger: TestDatabase.logger)
                let server = try await ServerProcess(databaseURL: url)
                defer { server.kill() }
                server.mustNotLog("interpreter", "procurement", "Adeyemi")
                let (created, _) = try await server.post(
                    "/v1/families", token: fixture.tokens[.priya]!,
                    json: try JSONSerialization.data(withJSONObject: ["displayName": "The Adeyemi family", "reference": "FGC-7"]))
                #expect(created == 201)

                let terminal = try Tmux()
                defer { terminal.close() }
                try await terminal.login(.priya, port: server.port)

                // Offline first: kept on the machine, sent at the next sync, naming the family.
                var screen = try await terminal.run(
                    "KITH_OFFLINE=1 kith --profile priya blocked \"Couldn't book an interpreter for Saturday's conference: procurement needs 10 days\" --family FGC-7 --kind rule --cost '2 hours' --did-it-anyway partly")
                #expect(screen.contains("What got in the way is saved") && screen.contains("1 what got in the way"), "\(screen)")
                screen = try await terminal.run("kith --profile priya sync")
                #expect(screen.contains("Synced: sent 1,"), "\(screen)")
                #expect(try await count(db, "SELECT count(*) FROM frictions WHERE kind = 'rule' AND cost = '2 hours' AND family_id IS NOT NULL") == 1)

                // A refusal offers `kith blocked --last`, which sends it along.
                screen = try await terminal.run("kith --profile priya frictions summary")
                #expect(screen.contains("kith blocked --last"), "\(screen)")
                screen = try await terminal.run("kith --profile priya blocked --last \"I wanted to see how often this happens across the team\"")
                #expect(screen.contains("What got in the way is saved and synced"), "\(screen)")
                #expect(try await count(db, """
                    SELECT count(*) FROM frictions WHERE problem ->> 'status' = '403' AND problem ->> 'command' = 'kith frictions summary'
                    """) == 1)

                // Sam answers from his terminal; Priya sees the answer.
                try await terminal.login(.sam, port: server.port)
                screen = try await terminal.run("kith --profile sam frictions --status open")
                #expect(screen.contains("Priya Shah") && screen.contains("interpreter"), "\(screen)")
                let id = try #require(try await db.query(
                    "SELECT left(id::text, 8) FROM frictions WHERE kind = 'rule'", logger: TestDatabase.logger
                ).decode(String.self).first { _ in true })
                screen = try await terminal.run("kith --profile sam frictions answer \(id) changed")
                #expect(screen.contains("what you did") || screen.contains("text"), "\(screen)")
                screen = try await terminal.run(
                    "kith --profile sam frictions answer \(id) changed -m 'Procurement agreed a standing interpreter order for conferences'")
                #expect(screen.contains("Answered: changed. Priya Shah will see it."), "\(screen)")
                screen = try await terminal.run("kith --profile priya blocked --list")
                #expect(screen.contains("changed") && screen.contains("Procurement agreed a standing interpreter order"), "\(screen)")
                #expect(screen.contains("not answered yet"), "\(screen)")
            }
        }
    }
}
