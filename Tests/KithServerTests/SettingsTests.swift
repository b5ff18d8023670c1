import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import PostgresNIO
import Testing
@testable import KithServer

/// The settings of issue #9: trusted proxies, the database's TLS mode and pool size, each read once and every bad
/// one reported at start.
@Suite struct SettingsTests {
    @Test func badSettingsAreAllReportedAtOnce() throws {
        let env = [
            "DATABASE_URL": "postgres://kith@db.example/kith?sslmode=sometimes",
            "KITH_TRUSTED_PROXIES": "10.0.0.0/8, not-an-address, 10.1.0.0/99",
            "KITH_DB_POOL_SIZE": "0",
        ]
        #expect {
            try AppConfig.fromEnvironment(env)
        } throws: { error in
            let problems = (error as? AppConfig.Invalid)?.problems ?? []
            return problems.count == 4 && problems.contains { $0.contains("sslmode") }
                && problems.contains { $0.contains("not-an-address") } && problems.contains { $0.contains("10.1.0.0/99") }
                && problems.contains { $0.contains("KITH_DB_POOL_SIZE") }
        }
        let good = try AppConfig.fromEnvironment([
            "DATABASE_URL": "postgres://kith@db.example/kith?sslmode=verify-full", "KITH_TRUSTED_PROXIES": "10.0.0.0/8,::1",
            "KITH_DB_POOL_SIZE": "40",
        ])
        #expect(good.databasePoolSize == 40 && good.trustedProxies.count == 2)
        // From the environment the server keeps its whole pool open (no idle timers: see PostgresClient.kith).
        #expect(good.databasePoolMinimum == 40)
        let some = try AppConfig.fromEnvironment(["DATABASE_URL": "postgres://kith@db/kith", "KITH_DB_POOL_MIN": "4"])
        #expect(some.databasePoolMinimum == 4 && some.databasePoolSize == 20)
        #expect(throws: AppConfig.Invalid.self) {
            try AppConfig.fromEnvironment(["DATABASE_URL": "postgres://kith@db/kith", "KITH_DB_POOL_SIZE": "10", "KITH_DB_POOL_MIN": "11"])
        }
        // The limits of fail-fast, drain and sync, each read, each refused when it is not a number in its range.
        let limits = try AppConfig.fromEnvironment([
            "DATABASE_URL": "postgres://kith@db/kith", "KITH_DB_ACQUIRE_TIMEOUT": "2", "KITH_LOCK_TIMEOUT": "3", "KITH_DRAIN_TIMEOUT": "45",
            "KITH_HTTP_IDLE_TIMEOUT": "20", "KITH_HTTP_READ_TIMEOUT": "90", "KITH_SYNC_REQUESTS_PER_MINUTE": "600", "KITH_SYNC_FIRST_SYNCS": "8",
        ])
        #expect(limits.timeouts.acquire == .seconds(2) && limits.timeouts.lock == .seconds(3) && limits.drainTimeout == .seconds(45))
        #expect(limits.httpIdleTimeout == .seconds(20) && limits.httpReadTimeout == .seconds(90) && limits.syncRequestsPerMinute == 600 && limits.wholeFamilyPulls == 8)
        #expect(limits.timeouts.sessionSettings.map { "\($0.0)=\($0.1)" }
            == ["statement_timeout=30000", "lock_timeout=3000", "idle_in_transaction_session_timeout=60000"])
        #expect {
            try AppConfig.fromEnvironment([
                "DATABASE_URL": "postgres://kith@db/kith", "KITH_DB_ACQUIRE_TIMEOUT": "0", "KITH_LOCK_TIMEOUT": "soon", "KITH_DRAIN_TIMEOUT": "-1",
                "KITH_HTTP_IDLE_TIMEOUT": "1e9", "KITH_HTTP_READ_TIMEOUT": "3601", "KITH_SYNC_REQUESTS_PER_MINUTE": "0",
                "KITH_SYNC_FIRST_SYNCS": "many",
            ])
        } throws: { error in
            (error as? AppConfig.Invalid)?.problems.count == 7
        }
        #expect(good.databasePreparedStatements == true)
        let unnamed = try AppConfig.fromEnvironment(["DATABASE_URL": "postgres://kith@db/kith", "KITH_DB_PREPARED_STATEMENTS": "off"])
        #expect(unnamed.databasePreparedStatements == false)
        #expect(throws: AppConfig.Invalid.self) {
            try AppConfig.fromEnvironment(["DATABASE_URL": "postgres://kith@db/kith", "KITH_DB_PREPARED_STATEMENTS": "sometimes"])
        }
        #expect(DatabaseURL("postgres://kith@db.example/kith")?.sslMode == .prefer)
        #expect(DatabaseURL("postgres://kith@db.example/kith?sslmode=disable")?.sslMode == .disable)
    }

    @Test func theForwardedAddressIsBelievedOnlyFromATrustedProxy() throws {
        let trusted = [AddressBlock("10.0.0.0/8")!, AddressBlock("::1")!]
        // No trusted proxies: the header is ignored, whatever it says.
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: ["198.51.100.7"], trusted: []) == "10.0.0.5")
        // From a proxy that is not ours: ignored.
        #expect(ClientAddress.resolve(peer: "192.0.2.1", forwardedFor: ["198.51.100.7"], trusted: trusted) == "192.0.2.1")
        // From ours: the nearest address that is not one of our proxies, never what the client put first.
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: ["6.6.6.6, 198.51.100.7, 10.0.0.9"], trusted: trusted) == "198.51.100.7")
        #expect(ClientAddress.resolve(peer: "::1", forwardedFor: ["2001:db8::1"], trusted: trusted) == "2001:db8::1")
        #expect(ClientAddress.resolve(peer: "::ffff:10.0.0.5", forwardedFor: ["198.51.100.7"], trusted: trusted) == "198.51.100.7")
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: ["garbage"], trusted: trusted) == "10.0.0.5")
        #expect(AddressBlock("10.0.0.0/8")!.contains("10.255.1.1") && !AddressBlock("10.0.0.0/8")!.contains("11.0.0.1"))
        #expect(AddressBlock("2001:db8::/32")!.contains("2001:db8:1::5") && !AddressBlock("2001:db8::/32")!.contains("2001:db9::5"))
    }

    @Test func sslmodeRequireRefusesAServerWithoutTLS() async throws {
        // The test cluster speaks no TLS: `require` must fail rather than fall back to plain text; `prefer` connects.
        // The pool keeps retrying a refused connection; the server's own deadline for a connection ends the wait.
        try await TestDatabase.withFreshDatabase { url in
            func firstQuery(_ mode: String) async throws -> Int {
                var config = AppConfig(databaseURL: url + "?sslmode=\(mode)")
                config.timeouts.acquire = .seconds(5)
                let timeouts = config.timeouts
                return try await withDatabase(config, logger: TestDatabase.logger) { client in
                    try await Database(client: client, logger: TestDatabase.logger, timeouts: timeouts).transaction(organisation: nil) {
                        try await $0.query("SELECT 1", logger: TestDatabase.logger).collect().count
                    }
                }
            }
            await #expect(throws: DatabaseUnavailable.self) { try await firstQuery("require") }
            let rows = try await firstQuery("prefer")
            #expect(rows == 1)
        }
    }

    @Test func aPeerBehindATrustedProxyIsThrottledByItsOwnAddress() async throws {
        // Over real TCP the peer is 127.0.0.1; with loopback trusted, the forwarded address is the one counted.
        try await Kith.run({ $0.trustedProxies = [AddressBlock("127.0.0.0/8")!]; $0.port = 0 }, over: .live) { kith in
            for forwarded in ["198.51.100.7", "198.51.100.7", "203.0.113.9"] {
                let response = try await kith.client.execute(
                    uri: "/v1/auth/login", method: .post,
                    headers: [.contentType: "application/json", .init("X-Forwarded-For")!: forwarded],
                    body: ByteBuffer(string: #"{"email": "nobody\#(UUID().text)@test.kith", "password": "wrong"}"#))
                #expect(response.status == .unauthorized)
            }
            func failures(_ address: String) async throws -> Int {
                try await kith.db.query(
                    "SELECT count(*)::int FROM login_failures WHERE key_hash = \(LoginThrottle.addressKey(address))",
                    logger: TestDatabase.logger
                ).decode(Int.self).first { _ in true } ?? -1
            }
            #expect(try await failures("198.51.100.7") == 2)
            #expect(try await failures("203.0.113.9") == 1)
            #expect(try await failures("127.0.0.1") == 0)
        }
    }
}
