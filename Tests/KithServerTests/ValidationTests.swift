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
                (kith.fixture.tokens[.priya]!, notes, #"{"body": "x", "sections": {"observed": "a", "observed": "b"}}"#, "observed"),
                (device.token, "/v1/sync/push", """
                    {"protocol": 1, "deviceId": "\(device.id)", "clientVersion": "1", "mutations": [{"seq": 1, "kind": "note.create",
                     "id": "\(UUID().text)", "args": {"familyId": "\(family.id)", "body": "x", "body": "y"}}]}
                    """, "body"),
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
