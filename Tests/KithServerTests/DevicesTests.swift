import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import KithCore
import PostgresNIO
import Testing
@testable import KithServer

@Suite struct DevicesTests {
    func register(_ kith: Kith, as who: Fixture.Who, name: String = "Tom's tablet") async throws -> Components.Schemas.DeviceRegistration {
        try await kith.send(
            .post, "/v1/devices", as: who, json: ["name": name, "platform": "android", "clientVersion": "1.0"], expect: .created)
    }

    func call(_ kith: Kith, _ path: String, token: String, method: HTTPRequest.Method = .get) async throws -> TestResponse {
        try await kith.client.execute(uri: path, method: method, headers: [.authorization: "Bearer \(token)"])
    }

    @Test func aRegisteredDeviceHasItsOwnTokenBoundToIt() async throws {
        try await Kith.run { kith in
            let device = try await register(kith, as: .tom)
            #expect(device.token != kith.fixture.tokens[.tom])
            let me = try await call(kith, "/v1/me", token: device.token)
            #expect(me.status == .ok)
            #expect(try await kith.count("SELECT count(*) FROM sessions WHERE device_id IS NOT NULL AND expires_at > now() + interval '29 days'") == 1)
            // A device token does not register further devices: it reaches only its sync.
            let again = try await kith.client.execute(
                uri: "/v1/devices", method: .post,
                headers: [.authorization: "Bearer \(device.token)", .contentType: "application/json"],
                body: ByteBuffer(string: #"{"name": "x", "platform": "y", "clientVersion": "z"}"#))
            #expect(again.status == .unauthorized)
        }
    }

    /// The terminal signs in, registers its device with that sign-in and keeps both tokens; signing the sign-in out
    /// revokes the device, so no token of it keeps syncing. A revoked device whose token has expired is refused
    /// outright: nothing it sends is kept, not even in quarantine.
    @Test func signingOutRevokesTheDeviceItsSignInRegisteredAndAnExpiredTokenIsRefusedWhole() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let signedIn = try await kith.request(
                .post, "/v1/auth/login", as: nil, json: ["email": "priya@test.kith", "password": Fixture.password])
            let login = try Kith.decoder.decode(Components.Schemas.LoginResponse.self, from: signedIn.body)
            let registered = try await kith.request(
                .post, "/v1/devices", token: login.token,
                body: Data(#"{"name": "kith on a laptop", "platform": "terminal", "clientVersion": "1"}"#.utf8))
            #expect(registered.status == .created)
            let device = try Kith.decoder.decode(Components.Schemas.DeviceRegistration.self, from: registered.body)
            #expect(try await call(kith, "/v1/me", token: device.token).status == .ok)
            #expect(try await kith.request(.post, "/v1/auth/logout", token: login.token, body: nil).status == .noContent)
            let after = try await call(kith, "/v1/me", token: device.token)
            #expect(after.status == .forbidden)
            #expect(try kith.problem(after).code == "device_revoked")
            #expect(try await kith.count("SELECT count(*) FROM devices WHERE id = '\(device.deviceId)' AND revoked_at IS NOT NULL") == 1)
            // Signing out another sign-in revokes nothing of this one's.
            let tablet = try await register(kith, as: .priya, name: "Priya's tablet")
            #expect(try await kith.request(.post, "/v1/auth/logout", token: login.token, body: nil).status == .unauthorized)
            #expect(try await call(kith, "/v1/me", token: tablet.token).status == .ok)

            // Revoked, then expired: its push is refused (401) and nothing is quarantined.
            let _: Components.Schemas.Device = try await kith.send(.post, "/v1/devices/\(tablet.deviceId)/revoke", as: .sam)
            try await kith.db.query(
                "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE device_id = \(UUID(uuidString: tablet.deviceId)!)",
                logger: TestDatabase.logger)
            let push = try await kith.request(
                .post, "/v1/sync/push", token: tablet.token,
                body: try JSONSerialization.data(withJSONObject: [
                    "protocol": 1, "deviceId": tablet.deviceId, "clientVersion": "1",
                    "mutations": [Mutation.note(1, family: family.id, body: "Visit")]]))
            #expect(push.status == .unauthorized)
            #expect(try await kith.count("SELECT count(*) FROM review_items WHERE kind = 'quarantined'") == 0)
        }
    }

    @Test func workersSeeTheirDevicesAndSupervisorsTheirTeams() async throws {
        try await Kith.run { kith in
            let toms = try await register(kith, as: .tom)
            _ = try await register(kith, as: .omar, name: "Omar's phone")
            let own: ItemList<Components.Schemas.Device> = try await kith.send(.get, "/v1/devices", as: .tom)
            #expect(own.items.map(\.id) == [toms.deviceId])
            let north: ItemList<Components.Schemas.Device> = try await kith.send(.get, "/v1/devices", as: .sam)
            #expect(north.items.map(\.name) == ["Tom's tablet"])
            let south: ItemList<Components.Schemas.Device> = try await kith.send(.get, "/v1/devices", as: .ruth)
            #expect(south.items.map(\.name) == ["Omar's phone"])
        }
    }

    @Test func aRevokedDeviceHearsDeviceRevokedOnItsNextRequest() async throws {
        try await Kith.run { kith in
            let device = try await register(kith, as: .tom)
            #expect(try await kith.request(.post, "/v1/devices/\(device.deviceId)/revoke", as: .priya).status == .notFound)
            #expect(try await kith.request(.post, "/v1/devices/\(device.deviceId)/revoke", as: .ruth).status == .notFound)
            let revoked: Components.Schemas.Device = try await kith.send(.post, "/v1/devices/\(device.deviceId)/revoke", as: .sam)
            #expect(revoked.revokedAt != nil)
            let refused = try await call(kith, "/v1/me", token: device.token)
            #expect(refused.status == .forbidden)
            #expect(try kith.problem(refused).code == "device_revoked")
            // The worker's own sign-in is untouched.
            #expect(try await kith.request(.get, "/v1/me", as: .tom).status == .ok)
        }
    }

    @Test func aWorkerWhoLeavesHasEveryDeviceRevoked() async throws {
        try await Kith.run { kith in
            let device = try await register(kith, as: .tom)
            let future: Components.Schemas.Worker = try await kith.send(
                .patch, "/v1/workers/\(kith.fixture.id(.tom))", as: .alex, json: ["leftOn": CalendarDay.today.adding(days: 30).text])
            #expect(future.leftOn != nil)
            // A leaving date ahead changes nothing yet.
            #expect(try await call(kith, "/v1/me", token: device.token).status == .ok)
            let _: Components.Schemas.Worker = try await kith.send(
                .patch, "/v1/workers/\(kith.fixture.id(.tom))", as: .alex, json: ["leftOn": CalendarDay.today.text])
            let refused = try await call(kith, "/v1/me", token: device.token)
            #expect(refused.status == .forbidden)
            #expect(try kith.problem(refused).code == "device_revoked")
            #expect(try await kith.request(.get, "/v1/me", as: .tom).status == .unauthorized)
        }
    }
}
