import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import PostgresNIO
import Testing
@testable import KithServer

@Suite struct AuthTests {
    struct Login: Encodable { var email: String; var password: String }

    @Test func signingInGivesATokenThatWorksAndIsStoredOnlyAsAHash() async throws {
        try await Kith.run { kith in
            let response = try await kith.request(.post, "/v1/auth/login", as: nil, json: Login(email: "Priya@test.kith", password: Fixture.password))
            #expect(response.status == .ok)
            let session = try Kith.decoder.decode(Components.Schemas.LoginResponse.self, from: response.body)
            #expect(session.worker.id == kith.fixture.id(.priya).text)
            #expect(session.expiresAt > Date().addingTimeInterval(11 * 3600))

            let me = try await kith.client.execute(uri: "/v1/me", method: .get, headers: [.authorization: "Bearer \(session.token)"])
            #expect(me.status == .ok)
            let body = try Kith.decoder.decode(Components.Schemas.Me.self, from: me.body)
            #expect(body.teams.map(\.id) == [kith.fixture.north.text])
            #expect(body.organisation.name == "Riverside")

            let stored = try await kith.count("SELECT count(*) FROM sessions WHERE token_hash = sha256(convert_to('\(session.token)', 'UTF8'))")
            #expect(stored == 1)
            let plain = try await kith.count("SELECT count(*) FROM sessions WHERE encode(token_hash, 'escape') LIKE '%kith_%'")
            #expect(plain == 0)
        }
    }

    @Test func aWrongPasswordIsRefusedAndRepeatedFailuresAreSlowedDown() async throws {
        try await Kith.run { kith in
            for _ in 0..<5 {
                let response = try await kith.request(.post, "/v1/auth/login", as: nil, json: Login(email: "tom@test.kith", password: "not the password"))
                #expect(response.status == .unauthorized)
                #expect(try kith.problem(response).code == "invalid_credentials")
            }
            // Even the right password waits once the account is being guessed at.
            let throttled = try await kith.request(.post, "/v1/auth/login", as: nil, json: Login(email: "tom@test.kith", password: Fixture.password))
            #expect(throttled.status == .tooManyRequests)
            let retryAfter = try #require(throttled.headers[.retryAfter].flatMap(Int.init))
            #expect(retryAfter > 0 && retryAfter <= 900)
            #expect(try kith.problem(throttled).code == "too_many_requests")

            // The failures are in the database, by account, by address and by the two together, hashed: another instance of the server (or
            // this one restarted) counts them too.
            #expect(try await kith.count("SELECT count(DISTINCT key_hash) FROM login_failures") == 3)
            #expect(try await kith.count("SELECT count(*) FROM login_failures") == 15)
            let another = try buildApplication(TestDatabase.servingConfig(kith.databaseURL), logger: TestDatabase.logger, metrics: Kith.metrics)
            try await another.test(.router) { client in
                let again = try await client.execute(
                    uri: "/v1/auth/login", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(bytes: try Kith.encoder.encode(Login(email: "tom@test.kith", password: Fixture.password))))
                #expect(again.status == .tooManyRequests)
            }
        }
    }

    @Test func anUnknownEmailLooksLikeAWrongPassword() async throws {
        try await Kith.run { kith in
            let response = try await kith.request(.post, "/v1/auth/login", as: nil, json: Login(email: "nobody@test.kith", password: "whatever it is"))
            #expect(response.status == .unauthorized)
            #expect(try kith.problem(response).code == "invalid_credentials")
        }
    }

    @Test func expiredTokensAndLoggedOutTokensStopWorking() async throws {
        try await Kith.run { kith in
            #expect(try await kith.request(.get, "/v1/me", as: .tom).status == .ok)
            try await kith.db.query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE worker_id = \(kith.fixture.id(.tom))")
            let expired = try await kith.request(.get, "/v1/me", as: .tom)
            #expect(expired.status == .unauthorized)
            #expect(try kith.problem(expired).code == "unauthorized")

            #expect(try await kith.request(.post, "/v1/auth/logout", as: .priya).status == .noContent)
            #expect(try await kith.request(.get, "/v1/me", as: .priya).status == .unauthorized)
            #expect(try await kith.request(.get, "/v1/me", as: nil).status == .unauthorized)
        }
    }

    @Test func aWorkerWhoLeavesLosesEverySessionAtOnce() async throws {
        try await Kith.run { kith in
            let updated: Components.Schemas.Worker = try await kith.send(
                .patch, "/v1/workers/\(kith.fixture.id(.tom))", as: .alex, json: ["leftOn": "2026-01-01"])
            #expect(updated.leftOn == "2026-01-01")
            #expect(try await kith.request(.get, "/v1/me", as: .tom).status == .unauthorized)
            let login = try await kith.request(.post, "/v1/auth/login", as: nil, json: Login(email: "tom@test.kith", password: Fixture.password))
            #expect(login.status == .unauthorized)
        }
    }

    @Test func onlyAdministratorsManageTeamsAndWorkers() async throws {
        try await Kith.run { kith in
            let refused = try await kith.request(.post, "/v1/teams", as: .sam, json: ["name": "East"])
            #expect(refused.status == .forbidden)
            let team: Components.Schemas.Team = try await kith.send(.post, "/v1/teams", as: .alex, json: ["name": "East"], expect: .created)
            let worker: Components.Schemas.Worker = try await kith.send(
                .post, "/v1/workers", as: .alex,
                json: Components.Schemas.CreateWorker(
                    name: "Nia Brown", email: "nia@test.kith", password: "a long enough password", roles: [.practitioner],
                    teamIds: [team.id]),
                expect: .created)
            #expect(worker.teamIds == [team.id])
            #expect(try await kith.count("SELECT count(*) FROM workers WHERE email = 'nia@test.kith' AND password_hash LIKE '$2b$12$%'") == 1)

            let login = try await kith.request(.post, "/v1/auth/login", as: nil, json: Login(email: "nia@test.kith", password: "a long enough password"))
            #expect(login.status == .ok)
        }
    }
}

@Suite struct PasswordTests {
    func login(_ kith: Kith, _ email: String, _ password: String) async throws -> TestResponse {
        try await kith.request(.post, "/v1/auth/login", as: nil, json: AuthTests.Login(email: email, password: password))
    }

    /// At least 12 characters, none of the 30,000 most common, and every byte counts: bcrypt reads 72, so a longer
    /// password that differs only after them is another password.
    @Test func passwordsAreLongUncommonAndEveryByteCounts() async throws {
        try await Kith.run { kith in
            #expect(Passwords.common.count >= 10_000)
            func create(_ email: String, _ password: String) async throws -> TestResponse {
                try await kith.request(.post, "/v1/workers", as: .alex, json: Components.Schemas.CreateWorker(
                    name: "Nia Brown", email: email, password: password, roles: [.practitioner], teamIds: []))
            }
            for weak in ["password1234", "Password1234", "qwerty123456", "eleven char"] {
                let refused = try await create("weak@test.kith", weak)
                #expect(refused.status == .badRequest, "\(weak)")
                #expect(try kith.problem(refused).errors?.map(\.field) == ["password"], "\(weak)")
            }
            #expect(try await kith.count("SELECT count(*) FROM workers WHERE email = 'weak@test.kith'") == 0)

            let long = String(repeating: "a long and memorable sentence ", count: 3) + "ending one way"
            let other = String(repeating: "a long and memorable sentence ", count: 3) + "ending another"
            #expect(long.utf8.count > 72 && Array(long.utf8.prefix(72)) == Array(other.utf8.prefix(72)))
            #expect(try await create("long@test.kith", long).status == .created)
            #expect(try await login(kith, "long@test.kith", long).status == .ok)
            #expect(try await login(kith, "long@test.kith", other).status == .unauthorized)
        }
    }

    @Test func aWorkerChangesTheirPasswordAndTheirOtherSessionsEnd() async throws {
        try await Kith.run { kith in
            let elsewhere = try Kith.decoder.decode(
                Components.Schemas.LoginResponse.self, from: try await login(kith, "priya@test.kith", Fixture.password).body)
            let device = try await FieldDevice.register(kith, as: .priya)
            let here = kith.fixture.tokens[.priya]!
            func change(_ current: String, _ new: String) async throws -> TestResponse {
                try await kith.request(.post, "/v1/me/password", token: here, body: try JSONSerialization.data(
                    withJSONObject: ["current": current, "new": new]))
            }
            let wrong = try await change("not my password", "a brand new passphrase")
            #expect(wrong.status == .forbidden)
            #expect(try kith.problem(wrong).code == "invalid_credentials")
            let common = try await change(Fixture.password, "password1234")
            #expect(common.status == .badRequest)
            #expect(try kith.problem(common).errors?.map(\.field) == ["new"])
            #expect(try await change(Fixture.password, "a brand new passphrase").status == .noContent)

            #expect(try await kith.request(.get, "/v1/me", token: here, body: nil).status == .ok)
            #expect(try await kith.request(.get, "/v1/me", token: elsewhere.token, body: nil).status == .unauthorized)
            #expect(try await kith.request(.get, "/v1/me", token: device.token, body: nil).status == .unauthorized)
            #expect(try await login(kith, "priya@test.kith", Fixture.password).status == .unauthorized)
            #expect(try await login(kith, "priya@test.kith", "a brand new passphrase").status == .ok)
            #expect(try await kith.count("SELECT count(*) FROM audit_events WHERE action = 'administer' AND reason = 'password changed'") == 1)
            // A device's token cannot change it.
            let byDevice = try await kith.request(.post, "/v1/me/password", token: device.token, body: try JSONSerialization.data(
                withJSONObject: ["current": "a brand new passphrase", "new": "another new passphrase"]))
            #expect(byDevice.status == .unauthorized)
        }
    }
}

@Suite struct PasswordResetTests {
    /// An administrator makes a link; the worker opens it and sets their own password, which the administrator never
    /// sees; every session of the worker ends; the link works once, for 24 hours, and only while it is the newest.
    @Test func anAdministratorsResetLinkLetsTheWorkerSetTheirOwnPassword() async throws {
        try await Kith.run { kith in
            let priya = kith.fixture.id(.priya)
            struct Reset: Decodable { let url: String; let expiresAt: Date }
            #expect(try await kith.request(.post, "/v1/workers/\(kith.fixture.id(.alex))/password-reset", as: .alex).status == .forbidden)
            #expect(try await kith.request(.post, "/v1/workers/\(priya)/password-reset", as: .sam).status == .forbidden)
            #expect(try await kith.request(.post, "/v1/workers/\(kith.fixture.id(.zed))/password-reset", as: .alex).status == .notFound)
            let first: Reset = try await kith.send(.post, "/v1/workers/\(priya)/password-reset", as: .alex, expect: .created)
            let reset: Reset = try await kith.send(.post, "/v1/workers/\(priya)/password-reset", as: .alex, expect: .created)
            #expect(abs(reset.expiresAt.timeIntervalSinceNow - 86_400) < 120)
            func path(_ url: String) -> String { String(url.drop { $0 != "/" }.dropFirst(2).drop { $0 != "/" }) }
            let link = String(path(reset.url).split(separator: "/").last!)
            // Only the link's hash is kept.
            #expect(try await kith.count("SELECT count(*) FROM password_resets") == 2)
            #expect(try await kith.count(
                "SELECT count(*) FROM password_resets WHERE position(convert_to('\(link)', 'UTF8') IN link_hash) > 0") == 0)

            let browser = Browser(kith: kith)
            #expect(try await browser.get(path(first.url)).status == .gone)
            let page = try await browser.get(path(reset.url))
            #expect(page.status == .ok && String(buffer: page.body).contains("Choose your password"))
            let csrf = Browser.csrf(page)
            #expect(try await browser.post(path(reset.url), ["password": "a brand new passphrase", "again": "a brand new passphrase", "csrf": "forged"]).status == .forbidden)
            #expect(try await browser.post(path(reset.url), ["password": "a brand new passphrase", "again": "a different one!", "csrf": csrf]).status == .unprocessableContent)
            #expect(try await browser.post(path(reset.url), ["password": "password1234", "again": "password1234", "csrf": csrf]).status == .unprocessableContent)
            let set = try await browser.post(path(reset.url), ["password": "a brand new passphrase", "again": "a brand new passphrase", "csrf": csrf])
            #expect(set.status == .ok && String(buffer: set.body).contains("Your password is set"))

            #expect(try await kith.request(.get, "/v1/me", as: .priya).status == .unauthorized)
            let login = try await kith.request(
                .post, "/v1/auth/login", as: nil, json: AuthTests.Login(email: "priya@test.kith", password: "a brand new passphrase"))
            #expect(login.status == .ok)
            #expect(try await browser.get(path(reset.url)).status == .gone)
            #expect(try await kith.count("SELECT count(*) FROM audit_events WHERE reason IN ('password reset link made', 'password set from a reset link')") == 3)
        }
    }
}

@Suite struct LoginThrottleTests {
    @Test func anAccountIsSlowedAfterFiveFailuresAnAddressIsSlowedNotShut() async throws {
        try await Kith.run { kith in
            try await kith.db.withConnection { connection in
                let logger = TestDatabase.logger
                func attempt(_ email: String, from address: String = "10.0.0.1") async throws -> Int {
                    switch try await LoginThrottle.begin(email: email, address: address, on: connection, logger: logger) {
                    case .wait(let seconds): seconds
                    case .check: 0
                    }
                }
                // 29 different people mistyping behind one proxy (each attempt reserved, then failed) lock out nobody.
                for index in 0..<29 { #expect(try await attempt("person\(index)@test.kith") == 0) }
                #expect(try await attempt("someone@test.kith") == 0)
                // The address is now over its 30: an account with failures of its own waits for the window ...
                #expect(try await attempt("someone@test.kith") > 800)
                // ... one with none is still checked, one attempt a second from that address.
                try await connection.query(
                    "UPDATE login_failures SET failed_at = failed_at - interval '2 seconds'", logger: logger)
                #expect(try await attempt("fresh@test.kith") == 0)
                // That attempt dated a minute ahead, so the next is "within the second" however slow the machine is.
                try await connection.query(
                    "UPDATE login_failures SET failed_at = now() + interval '1 minute' WHERE failed_at = (SELECT max(failed_at) FROM login_failures)",
                    logger: logger)
                #expect(try await attempt("another@test.kith") == 1)
                #expect(try await attempt("another@test.kith", from: "10.0.0.2") == 0)

                for _ in 0..<4 { #expect(try await attempt("tom@test.kith", from: "10.9.9.9") == 0) }
                guard case .check(_, let reservedAt) = try await LoginThrottle.begin(
                    email: "tom@test.kith", address: "10.9.9.9", on: connection, logger: logger)
                else { Issue.record("the fifth attempt was refused"); return }
                #expect(try await attempt("tom@test.kith", from: "10.9.9.8") > 890)
                try await LoginThrottle.succeeded(
                    email: "tom@test.kith", address: "10.9.9.9", reservedAt: reservedAt, on: connection, logger: logger)
                #expect(try await attempt("tom@test.kith", from: "10.9.9.9") == 0)

                // Housekeeping forgets failures too old to count.
                try await connection.query("UPDATE login_failures SET failed_at = failed_at - interval '16 minutes'", logger: logger)
                try await LoginThrottle.forgetOldFailures(on: connection, logger: logger)
                #expect(try await kith.count("SELECT count(*) FROM login_failures") == 0)
            }
        }
    }

    /// An office keeps working: right passwords never count against the address they come from, and an address that
    /// signed in to an account lately is not locked out of it by someone else's five guesses, whose own stop at five.
    @Test func anOfficeKeepsSigningInWhileAGuesserIsStopped() async throws {
        try await Kith.run { kith in
            try await kith.db.withConnection { connection in
                let logger = TestDatabase.logger
                func attempt(_ email: String, from address: String) async throws -> (wait: Int, reservedAt: Date?) {
                    switch try await LoginThrottle.begin(email: email, address: address, on: connection, logger: logger) {
                    case .wait(let seconds): (seconds, nil)
                    case .check(_, let reservedAt): (0, reservedAt)
                    }
                }
                func signIn(_ email: String, from address: String) async throws -> Int {
                    let (wait, reservedAt) = try await attempt(email, from: address)
                    if let reservedAt {
                        try await LoginThrottle.succeeded(
                            email: email, address: address, reservedAt: reservedAt, on: connection, logger: logger)
                    }
                    return wait
                }
                // Forty right passwords from one office address, then one typo there: checked, not throttled.
                for index in 0..<40 { #expect(try await signIn("person\(index)@test.kith", from: "10.1.1.1") == 0) }
                #expect(try await attempt("person40@test.kith", from: "10.1.1.1").wait == 0)
                #expect(try await kith.count("SELECT count(*) FROM login_failures") == 3)

                // Priya signs in from the office; someone elsewhere guesses her password five times.
                #expect(try await signIn("priya@test.kith", from: "10.1.1.1") == 0)
                for _ in 0..<5 { #expect(try await attempt("priya@test.kith", from: "192.0.2.7").wait == 0) }
                #expect(try await attempt("priya@test.kith", from: "192.0.2.7").wait > 800)
                #expect(try await attempt("priya@test.kith", from: "192.0.2.8").wait > 800)
                // The office is known to her account: still checked. Its own five wrong guesses stop it too.
                for _ in 0..<5 { #expect(try await attempt("priya@test.kith", from: "10.1.1.1").wait == 0) }
                #expect(try await attempt("priya@test.kith", from: "10.1.1.1").wait > 800)
                // Known for 30 days, then forgotten by housekeeping.
                try await connection.query("UPDATE known_sign_ins SET signed_in_at = now() - interval '31 days'", logger: logger)
                try await LoginThrottle.forgetOldFailures(on: connection, logger: logger)
                #expect(try await kith.count("SELECT count(*) FROM known_sign_ins") == 0)
            }
        }
    }

    @Test func fortyParallelWrongPasswordsAreCheckedAtMostFiveTimes() async throws {
        try await Kith.run { kith in
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        try await kith.request(.post, "/v1/auth/login", as: nil, json: AuthTests.Login(email: "tom@test.kith", password: "wrong password!")).status
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .unauthorized }.count <= 5)
            #expect(statuses.filter { $0 == .tooManyRequests }.count >= 35)
            #expect(statuses.allSatisfy { $0 == .unauthorized || $0 == .tooManyRequests })
            // Even the right password waits now: the account had five failures.
            let right = try await kith.request(.post, "/v1/auth/login", as: nil, json: AuthTests.Login(email: "tom@test.kith", password: Fixture.password))
            #expect(right.status == .tooManyRequests)
        }
    }
}
