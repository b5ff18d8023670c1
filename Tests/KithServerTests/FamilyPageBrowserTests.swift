import Foundation
import Testing
@testable import KithServer

/// The family's page in headless Chromium against the real `kith-server` on loopback: the script
/// `Tests/Browser/family_page.py` (Selenium, axe-core) opens the invitation as a grandmother would on her phone, in
/// Welsh, her language, and answers the questions after her family's review meeting.
@Suite struct FamilyPageBrowserTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Browser/family_page.py").path

    @Test func aGrandmotherOpensHerInvitationOnAPhoneReadsWhatWasWrittenForHerAndAddsHerWords() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                let fixture = try await Fixture.seed(db, logger: TestDatabase.logger)
                let server = try await ServerProcess(databaseURL: url)
                server.mustNotLog("Whitfield", "Margaret", "Amy", "Secret Lane", "07700 900123", "reading book", "bws")
                defer { server.kill() }
                let token = fixture.tokens[.priya]!
                let story = try await FamilyPageTests.story(priya: fixture.id(.priya)) { path, body in
                    let (status, data) = try await server.post(path, token: token, json: try JSONSerialization.data(withJSONObject: body))
                    #expect(status == 201, "\(path): \(String(decoding: data, as: UTF8.self))")
                    return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
                }
                #expect(story.url.hasPrefix(server.base + "/family/i/"))
                // Her language is Welsh, and her family's review meeting was today: the page asks her what she thought.
                try await db.query(
                    "UPDATE people SET language = 'cy' WHERE id = \(UUID(uuidString: story.margaretId)!)", logger: TestDatabase.logger)
                let (met, _) = try await server.post(
                    "/v1/conferences/\(story.conferenceId)/meetings", token: token,
                    json: try JSONSerialization.data(withJSONObject: ["kind": "review", "heldOn": CalendarDayText.today]))
                #expect(met == 201)
                var arguments = [Self.script, server.base, story.url, story.code, token, story.familyId, story.invitation["id"] as! String]
                if let folder = ProcessInfo.processInfo.environment["KITH_SCREENSHOTS"] { arguments += ["--screenshots", folder] }
                // The script's checks print as they go; any that fails makes it exit non-zero.
                try await Script.run(program: "/usr/bin/env", ["python3"] + arguments, label: "Tests/Browser/family_page.py")
            }
        }
    }
}
