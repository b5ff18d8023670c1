import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import Logging
import PostgresNIO
import Testing
import NIOConcurrencyHelpers
@testable import KithServer

/// Logs are for operators: ids, routes and codes, never a name, an email, a phone number or a word of a note.
@Suite struct LoggingTests {
    /// Keeps every record, message and metadata, at every level. A value type like every `LogHandler` should be:
    /// loggers are copied and given metadata on many threads, so only the collected lines are shared (under a lock).
    struct Capture: LogHandler {
        let lines: NIOLockedValueBox<[String]>
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            lines.withLockedValue { $0.append("\(event.level) \(event.message) \(all) \(event.source)") }
        }
    }

    @Test func aDayOfCaseworkLeavesNoPersonalDataInTheLogs() async throws {
        let lines = NIOLockedValueBox<[String]>([])
        let secrets = NIOLockedValueBox<[String]>([])
        try await TestDatabase.withFreshDatabase { url in
            let config = AppConfig(databaseURL: url)
            try await withDatabase(config, logger: TestDatabase.logger) { db in
                let fixture = try await Fixture.seed(db, logger: TestDatabase.logger)
                // As `kith-server` logs: through PrivateLogHandler.
                let logger = Logger(label: "kith") { _ in PrivateLogHandler(Capture(lines: lines)) }
                let app = try buildApplication(TestDatabase.servingConfig(url), logger: logger)
                try await app.test(.router) { client in
                    let kith = Kith(client: client, db: db, fixture: fixture, databaseURL: url)
                    let login = try await kith.request(
                        .post, "/v1/auth/login", as: nil, json: ["email": "priya@test.kith", "password": Fixture.password])
                    #expect(login.status == .ok)
                    _ = try await kith.request(.post, "/v1/auth/login", as: nil, json: ["email": "priya@test.kith", "password": "Zanzibar-wrong"])
                    let family = try await kith.openFamily("The Zebedee family")
                    let person: Components.Schemas.Person = try await kith.send(
                        .post, "/v1/families/\(family.id)/people", as: .priya,
                        json: Components.Schemas.CreatePerson(
                            name: "Quentin Zebedee", relationshipToChild: "grandad",
                            contact: .init(phone: "07700 900123", email: "quentin@example.test", address: "1 Larkspur Lane")),
                        expect: .created)
                    let _: Components.Schemas.JudgmentNote = try await kith.send(
                        .post, "/v1/families/\(family.id)/notes", as: .priya,
                        json: ["body": "Quentin spoke about the marmalade incident.", "audience": "restricted"], expect: .created)
                    _ = try await kith.request(.post, "/v1/families/\(family.id)/access", as: .tom, json: ["reason": "Covering for Priya at the marmalade meeting"])
                    _ = try await kith.request(.patch, "/v1/people/\(person.id)", as: .priya, raw: #"{"fields": {"phone": {"value": "bad\u0000", "baseVersion": 0}}}"#)
                    _ = try await kith.request(.get, "/v1/families/\(family.id)/export", as: .priya)

                    // A day of sync: two tablets pull, push notes, meet on one phone number, and one sends what is refused.
                    let tablet = try await FieldDevice.register(kith, as: .priya, name: "Quentin's tablet")
                    let phone = try await FieldDevice.register(kith, as: .priya, name: "phone")
                    let (pages, cursor) = try await tablet.pullAll(from: nil)
                    let grant = try #require(pages.last?.scope.grants.first { $0.familyId == family.id }).grantId
                    _ = try await phone.pullAll(from: nil)
                    let pushed = try await tablet.push([
                        Mutation.note(1, family: family.id, body: "Quentin made marmalade with the children", grant: grant),
                        Mutation.setPhone(2, person: person.id, phone: "07700 900456", baseVersion: 0, grant: grant),
                        Mutation.mutation(3, "note.create", grant: grant, args: ["familyId": family.id, "body": "marmalade", "audience": "Zebedee-only"]),
                    ])
                    #expect(pushed.results.map(\.status) == [.applied, .applied, .rejected])
                    let conflicting = try await phone.push([Mutation.setPhone(1, person: person.id, phone: "07700 900789", baseVersion: 0, grant: grant)])
                    #expect(conflicting.results.first?.status == .appliedWithConflict)
                    _ = try await tablet.pullUntil(from: cursor) { $0.flatMap { $0.ids(.person) }.contains(person.id) }

                    // Quentin on the family's page: a wrong code, the right one, a view and a message.
                    let invitation = try await kith.json(.post, "/v1/people/\(person.id)/invitations", as: .priya, [:])
                    let link = invitation["url"] as! String, code = invitation["code"] as! String
                    secrets.withLockedValue { $0 += [link, code, String(link.split(separator: "/").last!)] }
                    let path = String(link.drop { $0 != "/" }.dropFirst(2).drop { $0 != "/" })
                    var browser = Browser(kith: kith)
                    let codePage = try await browser.get(path)
                    _ = try await browser.post(path, ["code": code == "999999" ? "888888" : "999999", "csrf": Browser.csrf(codePage)])
                    let opened = try await browser.post(path, ["code": code, "csrf": Browser.csrf(codePage)])
                    browser.cookie = opened.headers[.setCookie].map { String($0.prefix { $0 != ";" }) }
                    let page = try await browser.get("/family")
                    #expect(page.status == .ok)
                    _ = try await browser.post("/family/message", ["text": "About the marmalade jar", "csrf": Browser.csrf(page)])
                    _ = try await browser.post("/family/message", ["text": "Forged marmalade"])
                }
            }
        }
        let logged = lines.withLockedValue { $0 }.joined(separator: "\n")
        #expect(logged.contains("signed in"))
        #expect(logged.contains("break-glass access opened"))
        // The whole phone number: its first digits alone turn up in logged durations ("0.0077003 s").
        for secret in ["Zebedee", "Quentin", "07700 900123", "07700 900456", "07700 900789", "example.test", "Larkspur", "marmalade",
                       "priya@test.kith", "Zanzibar",
                       Fixture.password, "Priya Shah", "grandad"] + secrets.withLockedValue({ $0 }) {
            #expect(!logged.contains(secret), "the log mentions \(secret)")
            // Nor as the bytes a database message or a body carries, written in hex.
            let hex = secret.utf8.map { String(format: "%02x", $0) }.joined()
            #expect(!logged.lowercased().contains(hex), "the log mentions \(secret) in hex")
        }
    }
}
