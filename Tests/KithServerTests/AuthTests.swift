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
    @Test func anAccountIsSlowedAfterFiveFailuresAnAddressAfterThirty() async {
        let throttle = LoginThrottle(window: .seconds(900))
        let start = ContinuousClock.now
        let shared = LoginThrottle.Key.address("10.0.0.1")
        for index in 0..<29 {
            await throttle.recordFailure([.account("person\(index)@test.kith"), shared], now: start)
        }
        // 29 different people mistyping behind one proxy do not lock out the 30th.
        #expect(await throttle.retryAfter([.account("someone@test.kith"), shared], now: start) == nil)
        await throttle.recordFailure([shared], now: start)
        #expect(await throttle.retryAfter([.account("someone@test.kith"), shared], now: start + .seconds(60)) == 840)
        #expect(await throttle.retryAfter([shared], now: start + .seconds(900)) == nil)

        for _ in 0..<5 { await throttle.recordFailure([.account("tom@test.kith")], now: start) }
        #expect(await throttle.retryAfter([.account("tom@test.kith")], now: start) == 900)
        await throttle.recordSuccess(.account("tom@test.kith"))
        #expect(await throttle.retryAfter([.account("tom@test.kith")], now: start) == nil)
    }
}
