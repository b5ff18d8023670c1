import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import HummingbirdTesting
import AsyncHTTPClient
import NIOCore
import JWTKit
import KithAPI
import KithCore
import PostgresNIO
import Testing
@testable import KithServer

/// Signing in through the organisation's identity provider, against a real OpenID provider on loopback
/// (oidc-provider-mock): an administrator points the organisation at it, a worker linked to a subject signs in with the
/// ID token their client obtained (PKCE), and every way a token can be wrong is refused.
@Suite struct IdentityTests {
    struct IdToken: Encodable { var organisation: String; var idToken: String }

    /// The provider saved for the fixture's organisation as `camden`, and Priya linked to the subject `priya-at-camden`.
    static func camden(_ kith: Kith, _ provider: OpenIDProvider, _ settings: [String: Any] = [:]) async throws -> Components.Schemas.IdentityProvider {
        let body = ["signInName": "camden", "issuer": provider.issuer, "clientId": "kith", "clientSecret": "kith-test-secret",
                    "passwords": "allowed"].merging(settings) { $1 }
        let response = try await kith.request(
            .put, "/v1/organisation/identity-provider", token: kith.fixture.tokens[.alex]!, body: try JSONSerialization.data(withJSONObject: body))
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        return try Kith.decoder.decode(Components.Schemas.IdentityProvider.self, from: response.body)
    }

    static func link(_ kith: Kith, _ who: Fixture.Who, to subject: String) async throws {
        let worker: Components.Schemas.Worker = try await kith.send(
            .patch, "/v1/workers/\(kith.fixture.id(who).text)", as: .alex, json: ["ssoSubject": subject])
        #expect(worker.ssoSubject == subject)
    }

    static func signIn(_ kith: Kith, _ token: String, organisation: String = "camden") async throws -> TestResponse {
        try await kith.request(.post, "/v1/auth/oidc", as: nil, json: IdToken(organisation: organisation, idToken: token))
    }

    /// A refusal's status and code.
    static func answer(_ kith: Kith, _ response: TestResponse) throws -> (HTTPResponse.Status, String) {
        (response.status, try kith.problem(response).code)
    }

    static let loopback: @Sendable (inout AppConfig) -> Void = { $0.httpIssuersOnLoopback = true }

    @Test func aWorkerLinkedToTheProvidersSubjectSignsInWithTheIDTokenTheirClientObtained() async throws {
        try await OpenIDProvider.run { provider in
            try await Kith.run(Self.loopback) { kith in
                let saved = try await Self.camden(kith, provider)
                #expect(saved.signInName == "camden" && saved.issuer == provider.issuer && saved.hasClientSecret && saved.subjectClaim == "sub")
                let shown = try await kith.request(.get, "/v1/organisation/identity-provider", as: .alex)
                #expect(shown.status == .ok && !String(buffer: shown.body).contains("kith-test-secret"))
                #expect(try await kith.request(.get, "/v1/organisation/identity-provider", as: .priya).status == .forbidden)
                #expect(try await kith.count(
                    "SELECT count(*) FROM audit_events WHERE action = 'administer' AND entity = 'identityProvider'") == 1)

                try await Self.link(kith, .priya, to: "priya-at-camden")
                let response = try await Self.signIn(kith, try await provider.idToken(for: "priya-at-camden"))
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                let session = try Kith.decoder.decode(Components.Schemas.LoginResponse.self, from: response.body)
                #expect(session.worker.id == kith.fixture.id(.priya).text)
                let me = try await kith.request(.get, "/v1/me", token: session.token, body: nil)
                #expect(me.status == .ok)
                #expect(try await kith.count(
                    """
                    SELECT count(*) FROM audit_events
                    WHERE action = 'signIn' AND entity = 'oidc' AND worker_id = '\(kith.fixture.id(.priya))'
                    """) == 1)

                // A subject is matched within the provider's organisation only: Zed, of the other organisation, linked to
                // the same subject there, is not whom camden's token signs in.
                try await kith.db.query(
                    "UPDATE workers SET sso_subject = 'priya-at-camden' WHERE id = \(kith.fixture.id(.zed))", logger: TestDatabase.logger)
                let again = try await Self.signIn(kith, try await provider.idToken(for: "priya-at-camden"))
                #expect(try Kith.decoder.decode(Components.Schemas.LoginResponse.self, from: again.body).worker.id == kith.fixture.id(.priya).text)
            }
        }
    }

    @Test func everyWayATokenCanBeWrongSignsNobodyIn() async throws {
        try await OpenIDProvider.run { provider in
            try await Kith.run(Self.loopback) { kith in
                _ = try await Self.camden(kith, provider)
                try await Self.link(kith, .priya, to: "priya-at-camden")
                let good = try await provider.idToken(for: "priya-at-camden")
                let parts = good.split(separator: ".").map(String.init)
                func refused(_ token: String, _ code: String, _ note: Comment) async throws {
                    let response = try await Self.signIn(kith, token)
                    #expect(response.status == .unauthorized, note)
                    #expect(try kith.problem(response).code == code, note)
                }
                let before = try await kith.count("SELECT count(*) FROM sessions")

                try await refused(try await provider.idToken(for: "priya-at-camden", clientId: "another-app"), "invalid_id_token", "another audience")
                // A character in the middle of the signature (the last one's low bits may be padding).
                var signature = Array(parts[2])
                signature[10] = signature[10] == "A" ? "B" : "A"
                try await refused([parts[0], parts[1], String(signature)].joined(separator: "."), "invalid_id_token", "tampered signature")
                let unsigned = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64URL
                try await refused([unsigned, parts[1], ""].joined(separator: "."), "invalid_id_token", "alg none")
                let hmac = Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8).base64URL
                try await refused([hmac, parts[1], parts[2]].joined(separator: "."), "invalid_id_token", "HMAC")
                try await refused("not.a.token", "invalid_id_token", "not a JWT")
                #expect(try await kith.count("SELECT count(*) FROM sessions") == before)

                // A subject that is no active worker's signs nobody in, and the attempt is in the organisation's feed.
                try await refused(try await provider.idToken(for: "someone-else"), "unknown_subject", "unknown subject")
                #expect(try await kith.count(
                    "SELECT count(*) FROM audit_events WHERE action = 'signIn' AND worker_id IS NULL AND person_id IS NULL") == 1)
                // A worker who has left is no active worker.
                let left: Components.Schemas.Worker = try await kith.send(
                    .patch, "/v1/workers/\(kith.fixture.id(.priya).text)", as: .alex, json: ["leftOn": CalendarDayText.today])
                #expect(left.leftOn == CalendarDayText.today)
                try await refused(good, "unknown_subject", "a leaver")
                #expect(try await kith.count("SELECT count(*) FROM sessions") == before)
            }
        }
    }

    @Test func theOrganisationCanRequireMultiFactorAuthenticationAndNameThePersonByAnotherClaim() async throws {
        try await OpenIDProvider.run { provider in
            try await Kith.run(Self.loopback) { kith in
                _ = try await Self.camden(kith, provider, ["requireMfa": true, "subjectClaim": "oid"])
                try await Self.link(kith, .priya, to: "0a1b2c3d-priya")
                try await provider.setClaims(of: "priya-at-camden", ["oid": "0a1b2c3d-priya", "amr": ["pwd"]])
                let once = try await Self.signIn(kith, try await provider.idToken(for: "priya-at-camden"))
                #expect(try Self.answer(kith, once) == (.unauthorized, "mfa_required"))
                try await provider.setClaims(of: "priya-at-camden", ["oid": "0a1b2c3d-priya", "amr": ["pwd", "mfa"]])
                let twice = try await Self.signIn(kith, try await provider.idToken(for: "priya-at-camden"))
                #expect(twice.status == .ok, "\(String(buffer: twice.body))")
                // The `sub` claim names nobody now: a worker linked by `sub` is not found by it.
                try await provider.setClaims(of: "priya-at-camden", ["amr": ["mfa"]])
                let withoutOid = try await Self.signIn(kith, try await provider.idToken(for: "priya-at-camden"))
                #expect(try Self.answer(kith, withoutOid) == (.unauthorized, "invalid_id_token"))
            }
        }
    }

    /// The times and the nonce, checked on a real token of the provider's at other moments of the clock.
    @Test func aTokenIsTakenOnlyWithinItsTimesAndForItsNonce() async throws {
        try await OpenIDProvider.run { provider in
            try await Kith.run(Self.loopback) { kith in
                _ = try await Self.camden(kith, provider)
                let token = try await provider.idToken(for: "priya-at-camden", nonce: "the-nonce")
                let found = try #require(try await ProviderForSignIn.find("camden", in: kith.database))
                let key = try #require(try IDTokens.key(for: try IDTokens.header(of: token), in: found.jwks))
                var expected = found.expected
                expected.nonce = "the-nonce"
                #expect(try await IDTokens.subject(of: token, key: key, expected: expected) == "priya-at-camden")
                let expires = try #require(try await JWTKeyCollection().add(jwk: key).verify(token, as: IDTokens.Claims.self).number("exp"))
                for (now, refusal) in [
                    (Date(timeIntervalSince1970: expires + 121), IDTokens.Refusal.expired),
                    (Date().addingTimeInterval(-300), .notYetValid),
                ] {
                    await #expect(throws: refusal) { try await IDTokens.subject(of: token, key: key, expected: expected, now: now) }
                }
                #expect(try await IDTokens.subject(of: token, key: key, expected: expected, now: Date(timeIntervalSince1970: expires + 100)) == "priya-at-camden")
                expected.nonce = "another sign-in's"
                await #expect(throws: IDTokens.Refusal.nonce) { try await IDTokens.subject(of: token, key: key, expected: expected) }
                let elsewhere = IDTokens.Expected(issuer: "https://login.example.org", clientId: "kith", subjectClaim: "sub", requireMfa: false)
                await #expect(throws: IDTokens.Refusal.issuer) { try await IDTokens.subject(of: token, key: key, expected: elsewhere) }
            }
        }
    }

    /// A token naming a key Kith has not seen has the provider's keys fetched again, at most once a minute.
    @Test func anUnknownKeyFetchesTheKeysAgainAtMostOnceAMinute() async throws {
        try await OpenIDProvider.run { provider in
            try await Kith.run(Self.loopback) { kith in
                _ = try await Self.camden(kith, provider)
                let parts = try await provider.idToken(for: "priya-at-camden").split(separator: ".").map(String.init)
                let rotated = [Data(#"{"alg":"RS256","kid":"a-key-not-yet-seen"}"#.utf8).base64URL, parts[1], parts[2]].joined(separator: ".")
                func fetchedAgo() async throws -> Int {
                    try await kith.count("SELECT extract(epoch FROM now() - jwks_fetched_at)::int FROM identity_providers")
                }
                // The provider (Python, on a machine running every suite at once) may miss the five seconds Kith waits
                // for it; a missed fetch counts as a fetch (the keys kept), so each try starts from a fetch five minutes old.
                var fetched = false
                for _ in 0..<5 where !fetched {
                    try await kith.db.query(
                        "UPDATE identity_providers SET jwks = '{\"keys\": []}', jwks_fetched_at = now() - interval '5 minutes'",
                        logger: TestDatabase.logger)
                    let first = try await Self.signIn(kith, rotated)
                    #expect(try Self.answer(kith, first) == (.unauthorized, "invalid_id_token"))
                    #expect(try await fetchedAgo() < 60)
                    fetched = try await kith.count("SELECT jsonb_array_length(jwks->'keys') FROM identity_providers") == 1
                }
                #expect(fetched, "the provider's keys were never fetched again")
                try await kith.db.query(
                    "UPDATE identity_providers SET jwks = '{\"keys\": []}', jwks_fetched_at = now() - interval '30 seconds'",
                    logger: TestDatabase.logger)
                _ = try await Self.signIn(kith, rotated)
                #expect(try await kith.count("SELECT jsonb_array_length(jwks->'keys') FROM identity_providers") == 0)
            }
        }
    }

    @Test func withPasswordsOffARightPasswordIsToldToUseTheProviderAndAWrongOneIsStillWrong() async throws {
        try await OpenIDProvider.run { provider in
            try await Kith.run(Self.loopback) { kith in
                _ = try await Self.camden(kith, provider, ["passwords": "off"])
                let right = try await kith.request(.post, "/v1/auth/login", as: nil, json: AuthTests.Login(email: "priya@test.kith", password: Fixture.password))
                #expect(try Self.answer(kith, right) == (.forbidden, "sso_required"))
                let wrong = try await kith.request(.post, "/v1/auth/login", as: nil, json: AuthTests.Login(email: "tom@test.kith", password: "not the password"))
                #expect(try Self.answer(kith, wrong) == (.unauthorized, "invalid_credentials"))
                // The other organisation on the server still signs in with passwords.
                let zed = try await kith.request(.post, "/v1/auth/login", as: nil, json: AuthTests.Login(email: "zed@test.kith", password: Fixture.password))
                #expect(zed.status == .ok)
                _ = try await Self.camden(kith, provider, ["passwords": "allowed"])
                let again = try await kith.request(.post, "/v1/auth/login", as: nil, json: AuthTests.Login(email: "priya@test.kith", password: Fixture.password))
                #expect(again.status == .ok)
            }
        }
    }

    @Test func aProviderThatCannotBeFetchedOrIsNotOneIsRefusedNamingIssuer() async throws {
        try await OpenIDProvider.run { provider in
            try await Kith.run(Self.loopback) { kith in
                let before = try await kith.fingerprint()
                for issuer in [
                    "http://127.0.0.1:1",  // nothing listens
                    "http://10.0.0.1",  // not on loopback, and not https
                    provider.issuer + "/elsewhere",  // its document names another issuer
                    "ftp://127.0.0.1",
                ] {
                    let response = try await kith.request(
                        .put, "/v1/organisation/identity-provider", token: kith.fixture.tokens[.alex]!,
                        body: try JSONSerialization.data(withJSONObject: ["signInName": "camden", "issuer": issuer, "clientId": "kith", "passwords": "allowed"]))
                    #expect(response.status == .badRequest, "\(issuer)")
                    #expect(try kith.problem(response).errors?.map(\.field) == ["issuer"], "\(issuer)")
                }
                #expect(try await kith.fingerprint() == before)
            }
            // Without KITH_OIDC_HTTP_ISSUERS=loopback, only https.
            try await Kith.run { kith in
                let response = try await kith.request(
                    .put, "/v1/organisation/identity-provider", token: kith.fixture.tokens[.alex]!,
                    body: try JSONSerialization.data(withJSONObject: ["signInName": "camden", "issuer": provider.issuer, "clientId": "kith", "passwords": "allowed"]))
                #expect(response.status == .badRequest)
                #expect(try kith.problem(response).errors?.map(\.field) == ["issuer"])
            }
        }
    }
}

/// The device grant Kith hosts, end to end by HTTP: the device starts and polls, the person's browser confirms the code
/// on Kith's page, signs in at the provider on loopback and comes back to Kith's callback, and the device's next poll
/// collects the session, once.
@Suite struct DeviceSignInTests {
    struct Start: Encodable { var organisation: String }
    struct Poll: Encodable { var deviceCode: String }

    /// The device's poll: having waited its interval (the test does not wait five seconds between polls), or, with
    /// `waited: false`, right after its last poll, whatever time a loaded machine took in between: the last poll is dated
    /// a minute ahead (CI met a machine that took more than the interval between setting it to now and the poll).
    static func poll(_ kith: Kith, _ deviceCode: String, waited: Bool = true) async throws -> TestResponse {
        try await kith.db.query(
            "UPDATE device_sign_ins SET last_polled_at = CASE WHEN \(waited) THEN NULL ELSE now() + interval '1 minute' END",
            logger: TestDatabase.logger)
        return try await kith.request(.post, "/v1/auth/device/token", as: nil, json: Poll(deviceCode: deviceCode))
    }

    static func start(_ kith: Kith) async throws -> Components.Schemas.DeviceAuthorization {
        let response = try await kith.request(.post, "/v1/auth/device", as: nil, json: Start(organisation: "camden"))
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        return try Kith.decoder.decode(Components.Schemas.DeviceAuthorization.self, from: response.body)
    }

    /// The person's browser: Kith's page for the code, the provider's form answered as `subject` (nil: denied), and
    /// Kith's callback. Its last answer.
    static func browser(_ kith: Kith, _ provider: OpenIDProvider, _ codes: Components.Schemas.DeviceAuthorization, as subject: String?) async throws -> TestResponse {
        let path = URLComponents(string: codes.verificationUriComplete)!
        var browser = Browser(kith: kith)
        let page = try await browser.get(path.path + "?" + path.percentEncodedQuery!)
        #expect(page.status == .ok && String(buffer: page.body).contains(codes.userCode))
        // The form's answer is a redirect to the provider, so the page's policy lets forms go there and nowhere else new.
        let policy = try #require(page.headers[HTTPField.Name("Content-Security-Policy")!])
        #expect(policy.contains("form-action 'self' \(provider.issuer);") && policy.hasPrefix("default-src 'none'"))
        browser.cookie = page.headers[.setCookie].map { String($0.prefix { $0 != ";" }) }
        let confirmed = try await browser.post(path.path, ["code": codes.userCode, "csrf": Browser.csrf(page)])
        #expect(confirmed.status == .seeOther)
        let toProvider = try #require(confirmed.headers[.location])
        #expect(toProvider.hasPrefix(provider.issuer + "/oauth2/authorize?") && toProvider.contains("code_challenge_method=S256"))
        let back = try await provider.answer(toProvider, as: subject)
        browser.cookie = confirmed.headers[.setCookie].map { String($0.prefix { $0 != ";" }) }
        return try await browser.get(back.path + "?" + back.percentEncodedQuery!)
    }

    @Test func aDeviceSignsInThroughThePersonsBrowserAndCollectsItsSessionOnce() async throws {
        try await OpenIDProvider.run { provider in
            try await Kith.run(IdentityTests.loopback) { kith in
                _ = try await IdentityTests.camden(kith, provider)
                try await IdentityTests.link(kith, .priya, to: "priya-at-camden")
                let codes = try await Self.start(kith)
                #expect(codes.verificationUri.hasSuffix("/sign-in/camden/device") && codes.interval == 5 && codes.expiresIn == 600)
                #expect(codes.verificationUriComplete == codes.verificationUri + "?code=" + codes.userCode)
                #expect(try IdentityTests.answer(kith, try await Self.poll(kith, codes.deviceCode)) == (.badRequest, "authorization_pending"))
                #expect(try IdentityTests.answer(kith, try await Self.poll(kith, codes.deviceCode, waited: false)) == (.badRequest, "slow_down"))
                #expect(try await kith.count("SELECT interval_seconds FROM device_sign_ins") == 10)

                let signedIn = try await Self.browser(kith, provider, codes, as: "priya-at-camden")
                #expect(signedIn.status == .ok && String(buffer: signedIn.body).contains("You are signed in"))
                let collected = try await Self.poll(kith, codes.deviceCode)
                #expect(collected.status == .ok, "\(String(buffer: collected.body))")
                let session = try Kith.decoder.decode(Components.Schemas.LoginResponse.self, from: collected.body)
                #expect(session.worker.id == kith.fixture.id(.priya).text)
                #expect(try await kith.request(.get, "/v1/me", token: session.token, body: nil).status == .ok)
                #expect(try await kith.count("SELECT count(*) FROM audit_events WHERE action = 'signIn' AND entity = 'deviceGrant'") == 1)
                // Once: the same device code again is lapsed, and opens no second session.
                #expect(try IdentityTests.answer(kith, try await Self.poll(kith, codes.deviceCode)) == (.badRequest, "expired_token"))
                #expect(try IdentityTests.answer(kith, try await Self.poll(kith, "camden.made-up")) == (.badRequest, "expired_token"))
            }
        }
    }

    /// Sign-ins are started without a token, so housekeeping forgets those lapsed a day ago, of every organisation.
    @Test func housekeepingForgetsSignInsLapsedADayAgo() async throws {
        try await OpenIDProvider.run { provider in
            try await Kith.run(IdentityTests.loopback) { kith in
                _ = try await IdentityTests.camden(kith, provider)
                let (old, recent) = (try await Self.start(kith), try await Self.start(kith))
                try await kith.db.query(
                    "UPDATE device_sign_ins SET expires_at = now() - interval '25 hours' WHERE user_code = \(old.userCode)",
                    logger: TestDatabase.logger)
                await Housekeeping(db: kith.database, logger: TestDatabase.logger).tidy()
                #expect(try await kith.count("SELECT count(*) FROM device_sign_ins WHERE user_code = '\(old.userCode)'") == 0)
                #expect(try await kith.count("SELECT count(*) FROM device_sign_ins WHERE user_code = '\(recent.userCode)'") == 1)
            }
        }
    }

    @Test func aDeniedSignInAnUnknownPersonAndAForgedFormApproveNothing() async throws {
        try await OpenIDProvider.run { provider in
            try await Kith.run(IdentityTests.loopback) { kith in
                _ = try await IdentityTests.camden(kith, provider)
                try await IdentityTests.link(kith, .priya, to: "priya-at-camden")
                // The person says no at the provider: they are told, and nothing is approved (oidc-provider-mock's
                // refusal names no state, so which sign-in it answers is not known: it stays waiting until it lapses).
                let denied = try await Self.start(kith)
                let refusedPage = try await Self.browser(kith, provider, denied, as: nil)
                #expect(refusedPage.status == .forbidden && String(buffer: refusedPage.body).contains("could not be signed in"))
                #expect(try IdentityTests.answer(kith, try await Self.poll(kith, denied.deviceCode)) == (.badRequest, "authorization_pending"))

                let stranger = try await Self.start(kith)
                let strangerPage = try await Self.browser(kith, provider, stranger, as: "someone-else")
                #expect(strangerPage.status == .forbidden, "\(strangerPage.status) \(String(buffer: strangerPage.body))")
                #expect(try IdentityTests.answer(kith, try await Self.poll(kith, stranger.deviceCode)) == (.badRequest, "access_denied"))

                // Another site's form for a code of its own: no cookie of Kith's page, so no token it could know.
                let phished = try await Self.start(kith)
                let forged = try await Browser(kith: kith).post("/sign-in/camden/device", ["code": phished.userCode, "csrf": "made-up"])
                #expect(forged.status == .forbidden)
                // A provider's answer in a browser that did not start it (no state cookie) approves nothing.
                let replayed = try await Browser(kith: kith).get("/sign-in/camden/callback?code=anything&state=anything")
                #expect(replayed.status == .forbidden)
                #expect(try IdentityTests.answer(kith, try await Self.poll(kith, phished.deviceCode)) == (.badRequest, "authorization_pending"))
                #expect(try await kith.count("SELECT count(*) FROM audit_events WHERE action = 'signIn' AND worker_id IS NOT NULL") == 0)
            }
        }
    }
}

/// `kith login --device` and `--sso` typed into a terminal against a real `kith-server` and the provider on loopback;
/// each ends signed in, with the first sync made.
@Suite struct DeviceLoginTerminalTests {
    /// A browser's visit: each answer's cookies kept for the next request to the same server, redirects read, not followed.
    final class WebBrowser: @unchecked Sendable {
        var cookies: [String: String] = [:]

        func send(_ method: HTTPRequest.Method, _ url: String, form: [String: String]? = nil) async throws -> (UInt, String, String?) {
            var request = HTTPClientRequest(url: url)
            request.method = .init(rawValue: method.rawValue)
            if !cookies.isEmpty { request.headers.add(name: "Cookie", value: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")) }
            if let form {
                var query = URLComponents()
                query.queryItems = form.map { URLQueryItem(name: $0.key, value: $0.value) }
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.body = .bytes(ByteBuffer(string: query.percentEncodedQuery!))
            }
            let response = try await OpenIDProvider.client.execute(request, timeout: .seconds(30))
            for cookie in response.headers["set-cookie"] {
                let pair = cookie.prefix { $0 != ";" }.split(separator: "=", maxSplits: 1).map(String.init)
                if pair.count == 2 { cookies[pair[0]] = pair[1] }
            }
            let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
            return (response.status.code, body, response.headers.first(name: "location"))
        }
    }

    /// `kith login --sso`: the terminal opens "the browser" (a stand-in that answers the provider's form as Priya and
    /// follows its redirect to the terminal's loopback port), exchanges the code as a public client with its PKCE
    /// verifier (the provider checks it), signs in and makes its first sync.
    @Test func kithLoginSSOSignsInThroughTheBrowserAndALoopbackRedirectAndSyncs() async throws {
        try await OpenIDProvider.run { provider in
            try await TestDatabase.withFreshDatabase { url in
                try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                    let fixture = try await Fixture.seed(db, logger: TestDatabase.logger)
                    let server = try await ServerProcess(databaseURL: url, environment: ["KITH_OIDC_HTTP_ISSUERS": "loopback"])
                    // The organisation's application, registered at the provider as a public client (no secret) whose
                    // redirect is a port on 127.0.0.1, as a council registers Kith's terminal.
                    let port = try Ports.free()
                    let client = try await provider.registerPublicClient(redirect: "http://127.0.0.1:\(port)/callback")
                    func send(_ method: String, _ path: String, _ body: [String: Any]) async throws -> Int {
                        var request = URLRequest(url: URL(string: server.base + path)!)
                        request.httpMethod = method
                        request.setValue("Bearer \(fixture.tokens[.alex]!)", forHTTPHeaderField: "Authorization")
                        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                        request.httpBody = try JSONSerialization.data(withJSONObject: body)
                        return try await ServerProcess.call(request).0
                    }
                    #expect(try await send("PUT", "/v1/organisation/identity-provider",
                                           ["signInName": "camden", "issuer": provider.issuer, "clientId": client, "passwords": "off"]) == 200)
                    #expect(try await send("PATCH", "/v1/workers/\(fixture.id(.priya).text)", ["ssoSubject": "priya-at-camden"]) == 200)
                    let (created, _) = try await server.post(
                        "/v1/families", token: fixture.tokens[.priya]!,
                        json: try JSONSerialization.data(withJSONObject: ["displayName": "The Adeyemi family", "reference": "FGC-7"]))
                    #expect(created == 201)

                    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kith-browser-\(UUID().uuidString.prefix(8))")
                    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                    defer { try? FileManager.default.removeItem(at: folder) }
                    let browser = folder.appendingPathComponent("browser")
                    try """
                        #!/bin/sh
                        back=$(curl -s -o /dev/null -w '%{redirect_url}' -X POST "$1" -d sub=priya-at-camden)
                        curl -s "$back" > "\(folder.path)/answered"
                        """.write(to: browser, atomically: true, encoding: .utf8)
                    let terminal = try Tmux(environment: ["BROWSER=/bin/sh \(browser.path)"])
                    defer { terminal.close() }
                    try terminal.type("kith login 127.0.0.1:\(server.port) --sso camden --port \(port); echo END-LOGIN")
                    let screen = try await terminal.waitFor("END-LOGIN")
                    #expect(screen.contains("Signed in as Priya Shah"), "\(screen)")
                    #expect(screen.contains("1 family on this machine"), "\(screen)")
                    #expect(try String(contentsOf: folder.appendingPathComponent("answered"), encoding: .utf8).contains("You can close this page"))
                    server.kill()
                }
            }
        }
    }

    /// `--device`: it prints the address and code, the person signs in in a browser (here, HTTP with the browser's
    /// cookies), and the terminal, polling, signs in.
    @Test func kithLoginDeviceSignsInThroughTheProviderAndSyncs() async throws {
        try await OpenIDProvider.run { provider in
            try await TestDatabase.withFreshDatabase { url in
                try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                    let fixture = try await Fixture.seed(db, logger: TestDatabase.logger)
                    let server = try await ServerProcess(databaseURL: url, environment: ["KITH_OIDC_HTTP_ISSUERS": "loopback"])
                    func json(_ value: Any) throws -> Data { try JSONSerialization.data(withJSONObject: value) }
                    var saved = URLRequest(url: URL(string: server.base + "/v1/organisation/identity-provider")!)
                    saved.httpMethod = "PUT"
                    saved.setValue("Bearer \(fixture.tokens[.alex]!)", forHTTPHeaderField: "Authorization")
                    saved.setValue("application/json", forHTTPHeaderField: "Content-Type")
                    saved.httpBody = try json(["signInName": "camden", "issuer": provider.issuer, "clientId": "kith",
                                               "clientSecret": "kith-test-secret", "passwords": "off"])
                    #expect(try await ServerProcess.call(saved).0 == 200)
                    var linked = saved
                    linked.url = URL(string: server.base + "/v1/workers/\(fixture.id(.priya).text)")!
                    linked.httpMethod = "PATCH"
                    linked.httpBody = try json(["ssoSubject": "priya-at-camden"])
                    #expect(try await ServerProcess.call(linked).0 == 200)
                    let (created, _) = try await server.post(
                        "/v1/families", token: fixture.tokens[.priya]!, json: try json(["displayName": "The Adeyemi family", "reference": "FGC-7"]))
                    #expect(created == 201)

                    let terminal = try Tmux()
                    defer { terminal.close() }
                    try terminal.type("kith login 127.0.0.1:\(server.port) --device camden --no-qr; echo END-LOGIN")
                    let shown = try await terminal.waitFor("Waiting for you to sign in there (Ctrl-C to stop)...")
                    let address = try #require(shown.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                        .first { $0.hasPrefix("http://") && $0.hasSuffix("/sign-in/camden/device") })
                    let code = try #require(shown.split(separator: "\n").first { $0.contains("shows this code: ") }
                        .map { String($0.split(separator: " ").last!) })

                    // The person, in a browser: Kith's page, the provider's form, Kith's callback.
                    let browser = WebBrowser()
                    let (pageStatus, page, _) = try await browser.send(.get, address)
                    #expect(pageStatus == 200)
                    let csrf = try #require(page.range(of: #"name="csrf" value=""#).map { String(page[$0.upperBound...].prefix { $0 != "\"" }) })
                    let (confirmed, _, toProvider) = try await browser.send(.post, address, form: ["code": code, "csrf": csrf])
                    #expect(confirmed == 303)
                    let back = try await provider.answer(try #require(toProvider), as: "priya-at-camden")
                    let (answered, thanks, _) = try await browser.send(.get, server.base + back.path + "?" + back.percentEncodedQuery!)
                    #expect(answered == 200 && thanks.contains("You are signed in"))

                    let screen = try await terminal.waitFor("END-LOGIN")
                    #expect(screen.contains("Signed in as Priya Shah"))
                    #expect(screen.contains("1 family on this machine"))
                    // Its copy of the caseload came with the sign-in's first sync.
                    #expect(try await terminal.run("kith families").contains("FGC-7"))
                    server.kill()
                }
            }
        }
    }
}
