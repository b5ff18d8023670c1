import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import KithCore
import NIOCore
import PostgresNIO
import Testing
@testable import KithServer

/// Joiners and leavers from the identity provider: SCIM 2.0 at `/scim/v2` with a token an administrator made, over
/// HTTP into the real application; and scim2-tester, the SCIM compliance checker, against a real `kith-server`.
@Suite struct ProvisioningTests {
    /// A SCIM request with `token`: its status, its content type and its body as JSON.
    struct SCIMResponse {
        let status: HTTPResponse.Status
        let contentType: String?
        let headers: HTTPFields
        let json: [String: Any]
    }

    static func scim(
        _ kith: Kith, _ method: HTTPRequest.Method, _ path: String, token: String, _ body: [String: Any]? = nil
    ) async throws -> SCIMResponse {
        var headers: HTTPFields = [.authorization: "Bearer \(token)"]
        if body != nil { headers[.contentType] = "application/scim+json" }
        let response = try await kith.client.execute(
            uri: "/scim/v2" + path, method: method, headers: headers,
            body: try body.map { ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: $0)) })
        let json = response.body.readableBytes == 0 ? [:] : try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any] ?? [:]
        return SCIMResponse(status: response.status, contentType: response.headers[.contentType], headers: response.headers, json: json)
    }

    /// An administrator's new SCIM token.
    static func token(_ kith: Kith, as who: Fixture.Who = .alex) async throws -> Components.Schemas.CreatedScimToken {
        try await kith.send(.post, "/v1/organisation/scim-tokens", as: who, json: ["name": "Entra provisioning"], expect: .created)
    }

    /// A User as Entra ID's provisioning sends one, with attributes Kith does not keep.
    static func entraUser(_ userName: String, externalId: String, active: Bool = true) -> [String: Any] {
        [
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": userName, "externalId": externalId, "active": active, "displayName": "Jo Bloggs",
            "name": ["givenName": "Jo", "familyName": "Bloggs", "formatted": "Jo Bloggs"],
            "emails": [["primary": true, "type": "work", "value": userName]],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": ["department": "Children's services"],
        ]
    }

    @Test func anAdministratorsTokenIsShownOnceKeptAsAHashExpiresAndIsRevocable() async throws {
        try await Kith.run { kith in
            // Only administrators make them.
            let refused = try await kith.request(.post, "/v1/organisation/scim-tokens", as: .sam, json: ["name": "mine"])
            #expect(refused.status == .forbidden)

            let created = try await Self.token(kith)
            #expect(created.token.hasPrefix("kith_") && created.token.count > 40)
            #expect(created.expiresAt.timeIntervalSinceNow > 364 * 86_400 && created.expiresAt.timeIntervalSinceNow < 366 * 86_400)
            let kept = try await kith.db.query(
                "SELECT token_hash FROM scim_tokens WHERE id = \(UUID(uuidString: created.id)!)", logger: TestDatabase.logger
            ).decode(Data.self).first { _ in true }
            #expect(kept == Tokens.hash(created.token))
            let listed: Components.Schemas.ScimTokenList = try await kith.send(.get, "/v1/organisation/scim-tokens", as: .alex)
            #expect(listed.items.map(\.id) == [created.id])
            #expect(try await Self.scim(kith, .get, "/Users", token: created.token).status == .ok)

            // Not a worker's token, and a worker's token is not one of these.
            #expect(try await kith.request(.get, "/v1/me", token: created.token, body: nil).status == .unauthorized)
            let withWorkers = try await Self.scim(kith, .get, "/Users", token: kith.fixture.tokens[.alex]!)
            #expect(withWorkers.status == .unauthorized)
            #expect(withWorkers.contentType == "application/scim+json")
            #expect(withWorkers.json["schemas"] as? [String] == ["urn:ietf:params:scim:api:messages:2.0:Error"])
            #expect(withWorkers.json["status"] as? String == "401")
            #expect(withWorkers.headers[.wwwAuthenticate] == "Bearer")

            // Another organisation's administrator cannot see or revoke it.
            let other = try await kith.addWorker("Olu Admin", roles: ["admin"], team: nil, organisation: kith.fixture.otherOrganisation)
            #expect(try await kith.request(.delete, "/v1/organisation/scim-tokens/\(created.id)", token: other.token, body: nil).status == .notFound)
            #expect(try await Self.scim(kith, .get, "/Users", token: created.token).status == .ok)

            #expect(try await kith.request(.delete, "/v1/organisation/scim-tokens/\(created.id)", as: .alex).status == .noContent)
            #expect(try await Self.scim(kith, .get, "/Users", token: created.token).status == .unauthorized)
            let events: Components.Schemas.AuditPage = try await kith.send(.get, "/v1/audit", as: .alex)
            #expect(events.items.filter { $0.entity == "scimToken" && $0.recordId == created.id }.map(\.reason)
                == ["SCIM token revoked", "SCIM token created, for 365 days"])

            // An expired one stops as a revoked one does.
            let expiring = try await Self.token(kith)
            try await kith.db.query(
                "UPDATE scim_tokens SET expires_at = now() - interval '1 second' WHERE id = \(UUID(uuidString: expiring.id)!)",
                logger: TestDatabase.logger)
            #expect(try await Self.scim(kith, .get, "/Users", token: expiring.token).status == .unauthorized)
        }
    }

    @Test func theProviderCreatesAWorkerAsAPractitionerInNoTeamAndFindsThemByUserName() async throws {
        try await Kith.run { kith in
            let token = try await Self.token(kith).token
            let created = try await Self.scim(kith, .post, "/Users", token: token, Self.entraUser("Jo.Bloggs@camden.gov.uk", externalId: "oid-jo"))
            #expect(created.status == .created)
            #expect(created.contentType == "application/scim+json")
            let id = try #require(created.json["id"] as? String)
            #expect(created.headers[.location]?.hasSuffix("/scim/v2/Users/\(id)") == true)
            #expect(created.json["userName"] as? String == "Jo.Bloggs@camden.gov.uk")
            #expect(created.json["externalId"] as? String == "oid-jo")
            #expect(created.json["name"] as? [String: String] == ["givenName": "Jo", "familyName": "Bloggs"])
            #expect(created.json["active"] as? Bool == true)
            #expect(created.json["emails"] == nil)

            // In Kith: a practitioner in no team, linked to the provider, with no password that could match.
            let workers: ItemList<Components.Schemas.Worker> = try await kith.send(.get, "/v1/workers", as: .alex)
            let jo = try #require(workers.items.first { $0.id == id })
            #expect(jo.name == "Jo Bloggs" && jo.roles == [.practitioner] && jo.teamIds.isEmpty && jo.ssoSubject == "oid-jo" && jo.leftOn == nil)
            let login = try await kith.request(.post, "/v1/auth/login", as: nil, json: ["email": "jo.bloggs@camden.gov.uk", "password": "none"])
            #expect(login.status == .unauthorized)
            let events: Components.Schemas.AuditPage = try await kith.send(.get, "/v1/audit", as: .alex)
            let event = try #require(events.items.first { $0.recordId == id })
            #expect(event.action == .administer && event.workerId == nil && event.scimTokenName == "Entra provisioning")

            // Found as a provider looks before creating: by userName, whatever its case; by externalId; paged.
            let found = try await Self.scim(kith, .get, "/Users?filter=" + "userName eq \"jo.bloggs@CAMDEN.gov.uk\"".query, token: token)
            #expect(found.json["totalResults"] as? Int == 1)
            #expect((found.json["Resources"] as? [[String: Any]])?.first?["id"] as? String == id)
            let byExternal = try await Self.scim(kith, .get, "/Users?filter=" + "externalId eq \"oid-jo\"".query, token: token)
            #expect(byExternal.json["totalResults"] as? Int == 1)
            let nobody = try await Self.scim(kith, .get, "/Users?filter=" + "userName eq \"nobody@camden.gov.uk\"".query, token: token)
            #expect(nobody.json["totalResults"] as? Int == 0 && (nobody.json["Resources"] as? [Any])?.isEmpty == true)
            let all = try await Self.scim(kith, .get, "/Users?startIndex=2&count=3", token: token)
            #expect(all.json["totalResults"] as? Int == 8 && all.json["itemsPerPage"] as? Int == 3 && all.json["startIndex"] as? Int == 2)
            let past = try await Self.scim(kith, .get, "/Users?startIndex=50", token: token)
            #expect(past.json["totalResults"] as? Int == 8 && past.json["itemsPerPage"] as? Int == 0)
            // The other organisation's workers are not the provider's to see.
            #expect(try await Self.scim(kith, .get, "/Users/\(kith.fixture.id(.zed))", token: token).status == .notFound)

            // What is wrong is said as SCIM says it, and changes nothing.
            let before = try await kith.fingerprint()
            let filter = try await Self.scim(kith, .get, "/Users?filter=" + "emails co \"camden\"".query, token: token)
            #expect(filter.status == .badRequest && filter.json["scimType"] as? String == "invalidFilter")
            let twice = try await Self.scim(kith, .post, "/Users", token: token, Self.entraUser("JO.BLOGGS@camden.gov.uk", externalId: "oid-other"))
            #expect(twice.status == .conflict && twice.json["scimType"] as? String == "uniqueness")
            var nameless = Self.entraUser("sam.new@camden.gov.uk", externalId: "oid-sam")
            nameless["displayName"] = nil
            let refused = try await Self.scim(kith, .post, "/Users", token: token, nameless)
            #expect(refused.status == .badRequest && refused.json["scimType"] as? String == "invalidValue")
            let notJSON = try await kith.client.execute(
                uri: "/scim/v2/Users", method: .post, headers: [.authorization: "Bearer \(token)", .contentType: "application/scim+json"],
                body: ByteBuffer(string: "{not json"))
            #expect(notJSON.status == .badRequest)
            #expect(try await kith.fingerprint() == before)
        }
    }

    /// Priya is switched off as Entra ID does it (`"False"` as a string): her session and her device are refused on
    /// their next request, her family raises `workerLeft`; switched on again she may sign in, but what ended stays ended.
    @Test func switchingAWorkerOffEndsTheirSessionsAndDevicesAtOnceAndOnAgainRestoresOnlySignIn() async throws {
        try await Kith.run { kith in
            let token = try await Self.token(kith).token
            let priya = kith.fixture.id(.priya).text
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            _ = try await device.pull(cursor: nil)
            let path = "/v1/continuity/families/\(family.id)"
            let left: Components.Schemas.FamilyContinuity = try await kith.send(.get, path, as: .sam)
            #expect(left.signals.first { $0.measure == "workerLeft" }?.raised == false)

            let off = try await Self.scim(kith, .patch, "/Users/\(priya)", token: token, [
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [["op": "Replace", "path": "active", "value": "False"]],
            ])
            #expect(off.status == .ok && off.json["active"] as? Bool == false)
            #expect(try await kith.request(.get, "/v1/me", as: .priya).status == .unauthorized)
            let pulled = try await device.post("/v1/sync/pull", ["protocol": SyncProtocolVersion.current, "deviceId": device.id, "limit": 10])
            #expect(pulled.status == .forbidden && String(buffer: pulled.body).contains("device_revoked"))
            let workers: ItemList<Components.Schemas.Worker> = try await kith.send(.get, "/v1/workers", as: .alex)
            #expect(workers.items.first { $0.id == priya }?.leftOn == CalendarDay.today.text)
            let flagged: Components.Schemas.FamilyContinuity = try await kith.send(.get, path, as: .sam)
            #expect(flagged.signals.first { $0.measure == "workerLeft" }?.raised == true)
            let login = try await kith.request(.post, "/v1/auth/login", as: nil, json: ["email": "priya@test.kith", "password": Fixture.password])
            #expect(login.status == .unauthorized)

            // On again, by a PATCH without a path: she signs in afresh; the old session and device stay ended.
            let on = try await Self.scim(kith, .patch, "/Users/\(priya)", token: token, [
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [["op": "replace", "value": ["active": true, "displayName": "Priya Shah-Khan"]]],
            ])
            #expect(on.status == .ok && on.json["active"] as? Bool == true && on.json["displayName"] as? String == "Priya Shah-Khan")
            let again = try await kith.request(.post, "/v1/auth/login", as: nil, json: ["email": "priya@test.kith", "password": Fixture.password])
            #expect(again.status == .ok)
            #expect(try await kith.request(.get, "/v1/me", as: .priya).status == .unauthorized)
            let stillRevoked = try await device.post("/v1/sync/pull", ["protocol": SyncProtocolVersion.current, "deviceId": device.id, "limit": 10])
            #expect(stillRevoked.status == .forbidden)

            // A leaving date an administrator set for later stands through the provider's writes while it keeps them on.
            let tom = kith.fixture.id(.tom).text
            let later = CalendarDay.today.adding(days: 14).text
            let _: Components.Schemas.Worker = try await kith.send(.patch, "/v1/workers/\(tom)", as: .alex, json: ["leftOn": later])
            let kept = try await Self.scim(kith, .put, "/Users/\(tom)", token: token, [
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "tom@test.kith", "displayName": "Tom Walsh",
                "active": true,
            ])
            #expect(kept.status == .ok && kept.json["active"] as? Bool == true)
            let staff: ItemList<Components.Schemas.Worker> = try await kith.send(.get, "/v1/workers", as: .alex)
            #expect(staff.items.first { $0.id == tom }?.leftOn == later)

            let events: Components.Schemas.AuditPage = try await kith.send(.get, "/v1/audit", as: .alex)
            #expect(events.items.filter { $0.recordId == priya && $0.scimTokenName != nil }.map(\.reason) == [
                "active again; name changed (SCIM)", "switched off: leaves today (SCIM)",
            ])
        }
    }

    /// DELETE never deletes: the worker leaves and the provider sees them no more; the same userName created again
    /// brings the same worker back, with their history.
    @Test func deletingAUserKeepsTheWorkerAndTheirRecordsAndCreatingThemAgainBringsThemBack() async throws {
        try await Kith.run { kith in
            let token = try await Self.token(kith).token
            let family = try await kith.openFamily()
            let created = try await Self.scim(kith, .post, "/Users", token: token, Self.entraUser("lee@camden.gov.uk", externalId: "oid-lee"))
            let id = try #require(created.json["id"] as? String)
            let _: Components.Schemas.Allocation = try await kith.send(
                .post, "/v1/families/\(family.id)/allocations", as: .sam,
                json: ["workerId": id, "role": "allocatedWorker", "startedOn": CalendarDay.today.text], expect: .created)

            #expect(try await Self.scim(kith, .delete, "/Users/\(id)", token: token).status == .noContent)
            #expect(try await Self.scim(kith, .get, "/Users/\(id)", token: token).status == .notFound)
            #expect(try await Self.scim(kith, .patch, "/Users/\(id)", token: token, [
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [["op": "replace", "path": "active", "value": true]],
            ]).status == .notFound)
            let listed = try await Self.scim(kith, .get, "/Users?filter=" + "userName eq \"lee@camden.gov.uk\"".query, token: token)
            #expect(listed.json["totalResults"] as? Int == 0)
            let workers: ItemList<Components.Schemas.Worker> = try await kith.send(.get, "/v1/workers", as: .alex)
            #expect(workers.items.first { $0.id == id }?.leftOn == CalendarDay.today.text)
            let allocations: ItemList<Components.Schemas.Allocation> = try await kith.send(.get, "/v1/families/\(family.id)/allocations", as: .sam)
            #expect(allocations.items.contains { $0.workerId == id })

            let back = try await Self.scim(kith, .post, "/Users", token: token, Self.entraUser("lee@camden.gov.uk", externalId: "oid-lee"))
            #expect(back.status == .created && back.json["id"] as? String == id && back.json["active"] as? Bool == true)
        }
    }

    /// scim2-tester, the SCIM compliance checker from PyPI, run whole against a real `kith-server` for the User
    /// resource: discovery, create, read, list, attributes, replace, delete, and PATCH add, replace and remove of
    /// every attribute.
    @Test func scim2TesterFindsNothingWrong() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                let fixture = try await Fixture.seed(db, logger: TestDatabase.logger)
                let server = try await ServerProcess(databaseURL: url)
                defer { server.kill() }
                let (status, body) = try await server.post(
                    "/v1/organisation/scim-tokens", token: fixture.tokens[.alex]!,
                    json: try JSONSerialization.data(withJSONObject: ["name": "scim2-tester"]))
                #expect(status == 201)
                let token = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])["token"] as? String
                let checker = Script.folder.deletingLastPathComponent().deletingLastPathComponent()
                    .appendingPathComponent("Tests/SCIM/check.py").path
                try await Script.run(
                    program: "/usr/bin/env", ["python3", "-W", "ignore", checker, server.base + "/scim/v2", try #require(token)],
                    label: "scim2-tester")
            }
        }
    }
}

private extension String {
    /// As a query's value.
    var query: String { addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? self }
}
