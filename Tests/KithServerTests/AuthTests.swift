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

            // The failures are in the database, by account and by address, hashed: another instance of the server (or
            // this one restarted) counts them too.
            #expect(try await kith.count("SELECT count(DISTINCT key_hash) FROM login_failures") == 2)
            #expect(try await kith.count("SELECT count(*) FROM login_failures") == 10)
            let another = try buildApplication(AppConfig(databaseURL: kith.databaseURL), logger: TestDatabase.logger, metrics: Kith.metrics)
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

@Suite struct LoginThrottleTests {
    @Test func anAccountIsSlowedAfterFiveFailuresAnAddressAfterThirty() async throws {
        try await Kith.run { kith in
            try await kith.db.withConnection { connection in
                let logger = TestDatabase.logger
                // Whole seconds, which the database stores exactly.
                let start = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
                func retryAfter(_ keys: [LoginThrottle.Key], after seconds: TimeInterval = 0) async throws -> Int? {
                    try await LoginThrottle.retryAfter(keys, on: connection, now: start.addingTimeInterval(seconds), logger: logger)
                }
                func fail(_ keys: [LoginThrottle.Key]) async throws {
                    try await LoginThrottle.recordFailure(keys, on: connection, now: start, logger: logger)
                }
                let shared = LoginThrottle.Key.address("10.0.0.1")
                for index in 0..<29 { try await fail([.account("person\(index)@test.kith"), shared]) }
                // 29 different people mistyping behind one proxy do not lock out the 30th.
                #expect(try await retryAfter([.account("someone@test.kith"), shared]) == nil)
                try await fail([shared])
                #expect(try await retryAfter([.account("someone@test.kith"), shared], after: 60) == 840)
                #expect(try await retryAfter([shared], after: 900) == nil)

                for _ in 0..<5 { try await fail([.account("tom@test.kith")]) }
                #expect(try await retryAfter([.account("tom@test.kith")]) == 900)
                try await LoginThrottle.recordSuccess(.account("tom@test.kith"), on: connection, logger: logger)
                #expect(try await retryAfter([.account("tom@test.kith")]) == nil)

                // Housekeeping forgets failures too old to count.
                try await LoginThrottle.forgetOldFailures(on: connection, now: start.addingTimeInterval(900), logger: logger)
                #expect(try await kith.count("SELECT count(*) FROM login_failures") == 0)
            }
        }
    }
}
