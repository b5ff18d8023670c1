import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import PostgresNIO
import Testing
@testable import KithServer

/// Malformed input gets a clear problem+json answer with the right status, and changes nothing.
@Suite struct ValidationTests {
    /// Rows in every table a write could touch.
    func snapshot(_ kith: Kith) async throws -> [Int] {
        var counts: [Int] = []
        for table in ["families", "people", "allocations", "contacts", "notes", "note_revisions", "conferences", "family_plans",
                      "plan_items", "audit_events", "sync_changes", "break_glass_grants"] {
            counts.append(try await kith.count("SELECT count(*) FROM \(table)"))
        }
        return counts
    }

    /// A key named twice in one object would mean whichever value the decoder kept: refused, whatever the escaping,
    /// at any depth (a push's mutation arguments among them), and nothing is written. One key in two objects is fine.
    @Test func aJSONBodyNamingAKeyTwiceIsRefused() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let before = try await snapshot(kith)
            let notes = "/v1/families/\(family.id)/notes"
            let cases: [(String, String, String, String)] = [
                (kith.fixture.tokens[.priya]!, notes, #"{"body": "x", "audience": "family", "audience": "restricted"}"#, "audience"),
                (kith.fixture.tokens[.priya]!, notes, #"{"body": "x", "audi\u0065nce": "family", "audience": "restricted"}"#, "audience"),
                (kith.fixture.tokens[.priya]!, notes, #"{"body": "x", "sections": {"observed": "a", "observed": "b"}}"#, "sections.observed"),
                (device.token, "/v1/sync/push", """
                    {"protocol": 1, "deviceId": "\(device.id)", "clientVersion": "1", "mutations": [{"seq": 1, "kind": "note.create",
                     "id": "\(UUID().text)", "args": {"familyId": "\(family.id)", "body": "x", "body": "y"}}]}
                    """, "mutations[0].args.body"),
            ]
            for (token, path, body, key) in cases {
                let response = try await kith.request(.post, path, token: token, body: Data(body.utf8))
                #expect(response.status == .badRequest, "\(body)")
                #expect(try kith.problem(response).errors?.map(\.field) == [key], "\(body)")
            }
            #expect(try await snapshot(kith) == before)
            // Every mutation of a push names "seq", "kind" and "args": one key in many objects.
            let pushed = try await device.push([Mutation.note(1, family: family.id), Mutation.note(2, family: family.id)])
            #expect(pushed.results.map(\.status) == [.applied, .applied])
        }
    }

    /// An optional property is left out, not sent as null: `{"closedOn": null}` meant to clear a date would otherwise
    /// change nothing and answer 200. Null stays where the document has it (a field edit's value, which clears the
    /// field; a pull's cursor) and where it leaves the value open (a pushed mutation's arguments, a key it does not
    /// name).
    @Test func nullIsRefusedWhereTheContractHasNone() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let person: Components.Schemas.Person = try await kith.send(
                .post, "/v1/families/\(family.id)/people", as: .priya, json: ["name": "Nan"], expect: .created)
            let device = try await FieldDevice.register(kith, as: .priya)
            let before = try await snapshot(kith)
            let cases: [(HTTPRequest.Method, String, String, String)] = [
                (.post, "/v1/families/\(family.id)/notes", #"{"body": "x", "audience": null}"#, "audience"),
                (.post, "/v1/families/\(family.id)/notes", #"{"body": "x", "sections": {"observed": null}}"#, "sections.observed"),
                (.patch, "/v1/families/\(family.id)", #"{"closedOn": null}"#, "closedOn"),
                (.patch, "/v1/people/\(person.id)", #"{"fields": {"phone": null}}"#, "fields.phone"),
                (.post, "/v1/conferences/\(UUID().text)/plans", #"{"items": [{"what": "x", "who": null}]}"#, "items[0].who"),
                (.post, "/v1/families/\(family.id)/contacts", #"{"occurredAt": "2026-01-01T00:00:00Z", "kind": "phone", "presentPersonIds": [null]}"#, "presentPersonIds[0]"),
            ]
            for (method, path, body, field) in cases {
                let response = try await kith.request(method, path, as: .priya, raw: body)
                #expect(response.status == .badRequest, "\(body)")
                let errors = try kith.problem(response).errors ?? []
                #expect(errors.map(\.field) == [field] && errors.map(\.message) == ["must not be null"], "\(body)")
            }
            #expect(try await snapshot(kith) == before)

            let cleared = try await kith.request(
                .patch, "/v1/people/\(person.id)", as: .priya, raw: #"{"fields": {"phone": {"value": null, "baseVersion": 0}}}"#)
            #expect(cleared.status == .ok, "\(String(buffer: cleared.body))")
            let pulled = try await device.post("/v1/sync/pull", ["protocol": SyncProtocolVersion.current, "deviceId": device.id, "cursor": NSNull()])
            #expect(pulled.status == .ok, "\(String(buffer: pulled.body))")
            var note = Mutation.note(1, family: family.id)
            note["args"] = ["familyId": family.id, "body": "Seen at school", "contactId": NSNull()]
            #expect(try await device.push([note]).results.map(\.status) == [.applied])
            let unknown = try await kith.request(
                .post, "/v1/families/\(family.id)/notes", as: .priya, raw: #"{"body": "Seen at school", "mood": null}"#)
            #expect(unknown.status == .created, "\(String(buffer: unknown.body))")
        }
    }

    /// Bounds the document states that the contract run found the server not holding: each is refused now, whole.
    @Test func theDocumentsBoundsAreHeld() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let before = try await snapshot(kith)
            let grants = Array(repeating: #"{"familyId": "\#(family.id)", "grantId": "\#(UUID().text)"}"#, count: 1001).joined(separator: ", ")
            let cases: [(Fixture.Who?, HTTPRequest.Method, String, String, String?)] = [
                (.alex, .post, "/v1/workers", #"{"name": "Jo", "email": "jo@example.org", "password": "a long enough passphrase", "roles": ["admin", "admin", "admin", "admin", "admin", "admin"], "teamIds": []}"#, "roles"),
                (.sam, .post, "/v1/review-items/\(UUID().text)/resolve", #"{"action": "accept", "value": "\#(String(repeating: "a", count: 65_537))"}"#, "value"),
                (nil, .post, "/v1/sync/ack", #"{"purged": [\#(grants)]}"#, "purged"),
                (nil, .post, "/v1/sync/push", #"{"protocol": 1, "deviceId": "\#(device.id)", "clientVersion": "1\u0001", "mutations": []}"#, "clientVersion"),
                (nil, .post, "/v1/sync/push", #"{"protocol": 1, "deviceId": "\#(device.id)", "clientVersion": "1", "mutations": [{"seq": 0, "id": "\#(UUID().text)", "type": "note.create", "recordedAt": "2026-01-01T09:00:00Z", "args": {"familyId": "\#(family.id)", "body": "x"}}]}"#, "mutations.0.seq"),
                (.priya, .post, "/v1/families/\(family.id)/contacts", #"{"occurredAt": "2026-01-01T09:00:00Z*", "kind": "phone"}"#, nil),
                (.priya, .post, "/v1/families/\(family.id)/contacts", #"{"occurredAt": "2026-02-30T09:00:00Z", "kind": "phone"}"#, nil),
                (.alex, .put, "/v1/organisation/holidays", "[" + Array(repeating: #""1900-01-01""#, count: 401).joined(separator: ", ") + "]", "days"),
            ]
            for (who, method, path, body, field) in cases {
                let response = if let who {
                    try await kith.request(method, path, as: who, raw: body)
                } else {
                    try await device.post(path, raw: Data(body.utf8))
                }
                #expect(response.status == .badRequest, "\(path): \(String(buffer: response.body).prefix(300))")
                if let field { #expect(try kith.problem(response).errors?.map(\.field) == [field], "\(path)") }
            }
            #expect(try await snapshot(kith) == before)
        }
    }

    @Test func aMethodAnAddressDoesNotAnswerIs405WithWhatItDoes() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            for (method, path, allowed) in [
                (HTTPRequest.Method.trace, "/v1/me", "GET"), (.delete, "/v1/families", "GET, POST"),
                (.get, "/v1/families/\(family.id)/notes", "POST"), (.put, "/v1/families/\(family.id)", "GET, PATCH"),
            ] {
                let response = try await kith.request(method, path, as: .priya)
                #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                #expect(response.headers[.allow] == allowed, "\(method) \(path)")
                #expect(try kith.problem(response).code == "method_not_allowed")
            }
            // An address that is not the contract's is still unknown, and a right method still answers.
            #expect(try await kith.request(.trace, "/v1/nowhere", as: .priya).status == .notFound)
            #expect(try await kith.request(.get, "/v1/families/\(family.id)", as: .priya).status == .ok)
        }
    }

    @Test func malformedRequestsAnswer400AndChangeNothing() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let before = try await snapshot(kith)
            let cases: [(String, String, String?)] = [
                ("/v1/families/\(family.id)/notes", #"{"body": "x", "audience": "everyone"}"#, nil),
                ("/v1/families/\(family.id)/notes", #"{"body": "x", "audience": "professional""#, nil),
                ("/v1/families/\(family.id)/notes", #"{"body": "x", "audience": "professional", "contactId": "nope"}"#, "contactId"),
                ("/v1/families/\(family.id)/notes", #"{"body": "x", "audience": "professional", "contactId": "\#(UUID().text)"}"#, "contactId"),
                ("/v1/families/\(family.id)/contacts", #"{"occurredAt": "yesterday", "kind": "phone"}"#, nil),
                // A contact a year from now, whatever the day the tests run.
                ("/v1/families/\(family.id)/contacts", #"{"occurredAt": "\#(Date().addingTimeInterval(366 * 86_400).formatted(.iso8601))", "kind": "phone"}"#, "occurredAt"),
                ("/v1/families/\(family.id)/contacts", #"{"occurredAt": "2026-01-01T00:00:00Z", "kind": "phone", "durationMinutes": 5000}"#, "durationMinutes"),
                ("/v1/families/\(family.id)/contacts", #"{"occurredAt": "2026-01-01T00:00:00Z", "kind": "phone", "childSeen": false, "childSeenAlone": true}"#, "childSeenAlone"),
                ("/v1/families/\(family.id)/people", #"{"name": "   "}"#, "name"),
                ("/v1/families/\(family.id)/people", #"{"name": "Amy\u0000"}"#, "name"),
                ("/v1/families/\(family.id)/people", #"{"name": "Amy", "dateOfBirth": "2023-02-30"}"#, "dateOfBirth"),
                ("/v1/families", #"{"displayName": "\#(String(repeating: "x", count: 501))"}"#, "displayName"),
                ("/v1/families", #"[]"#, nil),
            ]
            for (path, body, field) in cases {
                let response = try await kith.request(.post, path, as: .priya, raw: body)
                #expect(response.status == .badRequest, "\(path) \(body): \(String(buffer: response.body))")
                let problem = try kith.problem(response)
                #expect(problem.code == "malformed_request" && problem.status == 400)
                if let field { #expect(problem.errors?.map(\.field) == [field], "\(body)") }
            }
            #expect(try await snapshot(kith) == before)
        }
    }

    @Test func everyProblemWithARequestIsListedAtOnce() async throws {
        try await Kith.run { kith in
            let response = try await kith.request(
                .post, "/v1/families", as: .priya, raw: #"{"displayName": "", "reference": "\#(String(repeating: "r", count: 101))", "openedOn": "soon"}"#)
            #expect(Set(try kith.problem(response).errors?.map(\.field) ?? []) == ["displayName", "reference", "openedOn"])
        }
    }

    @Test func oversizedBodiesAre413AndNothingIsRead() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let huge = #"{"body": "\#(String(repeating: "a", count: 1_100_000))", "audience": "professional"}"#
            let response = try await kith.request(.post, "/v1/families/\(family.id)/notes", as: .priya, raw: huge)
            #expect(response.status == .contentTooLarge)
            #expect(try kith.problem(response).code == "too_large")
            let tooLongNote = #"{"body": "\#(String(repeating: "a", count: 70_000))", "audience": "professional"}"#
            let long = try await kith.request(.post, "/v1/families/\(family.id)/notes", as: .priya, raw: tooLongNote)
            #expect(long.status == .badRequest)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 0)
        }
    }

    @Test func idsThatAreNotUUIDsNameNothing() async throws {
        try await Kith.run { kith in
            let response = try await kith.request(.get, "/v1/families/not-a-uuid", as: .priya)
            #expect(response.status == .notFound)
            #expect(try kith.problem(response).code == "not_found")
            #expect(try await kith.request(.get, "/v1/nowhere", as: .priya).status == .notFound)
        }
    }

    @Test func aClientChosenIdIsUsedAndNeverOverwritesAnotherRecord() async throws {
        try await Kith.run { kith in
            let id = UUID().text
            let family: Components.Schemas.Family = try await kith.send(
                .post, "/v1/families", as: .priya, json: ["id": id, "displayName": "Offline family"], expect: .created)
            #expect(family.id == id)
            let again = try await kith.request(.post, "/v1/families", as: .tom, json: ["id": id, "displayName": "Someone else's"])
            #expect(again.status == .conflict)
            let read: Components.Schemas.Family = try await kith.send(.get, "/v1/families/\(id)", as: .priya)
            #expect(read.displayName == "Offline family")
        }
    }

    @Test func syncNeedsADeviceToken() async throws {
        try await Kith.run { kith in
            let pull = #"{"protocol": 1, "deviceId": "\#(UUID().text)"}"#
            let response = try await kith.request(.post, "/v1/sync/pull", as: .priya, raw: pull)
            #expect(response.status == .forbidden)
            #expect(try kith.problem(response).code == "forbidden")
            #expect(try await kith.request(.post, "/v1/sync/pull", as: nil, raw: pull).status == .unauthorized)
            let items: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: .sam)
            #expect(items.items.isEmpty && items.next == nil)
        }
    }
}
