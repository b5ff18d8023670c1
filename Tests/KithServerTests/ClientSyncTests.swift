import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import KithClient
import KithCore
import NIOCore
import OpenAPIRuntime
import Testing
@testable import KithServer

/// The generated client's requests, answered by the application in-process (the same router a server runs).
struct RouterTransport: ClientTransport {
    let client: any TestClientProtocol
    let token: String

    func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
        var headers = request.headerFields
        headers[.authorization] = "Bearer \(token)"
        var bytes: ByteBuffer?
        if let body { bytes = ByteBuffer(bytes: try await Data(collecting: body, upTo: 2 << 20)) }
        let response = try await client.execute(uri: request.path ?? "/", method: request.method, headers: headers, body: bytes)
        return (HTTPResponse(status: response.status, headerFields: response.headers), HTTPBody(Array(buffer: response.body)))
    }
}

/// The client side of sync against the real server: a week offline, then one sync.
@Suite struct ClientSyncTests {
    @Test func aWeekOfflineThenOneSyncAppliesEverythingOnceAndAReallocationPurgesAfterPushing() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let device = try await FieldDevice.register(kith, as: .priya)
            let store = try LocalStore()
            let engine = SyncEngine(
                client: Client(serverURL: URL(string: "http://kith.test")!, transport: RouterTransport(client: kith.client, token: device.token)),
                store: store, deviceId: device.id)
            try await engine.sync()
            #expect(try store.records(.family, as: Components.Schemas.Family.self).map(\.id) == [family.id])

            // Offline: a visit, three notes, and an amendment of a note never pushed.
            let note = UUID().uuidString.lowercased(), revision = UUID().uuidString.lowercased()
            try store.enqueue("contact.record", familyId: family.id, args: [
                "familyId": family.id, "occurredAt": Date().formatted(.iso8601), "kind": "homeVisit", "childSeen": true])
            try store.enqueue("note.create", familyId: family.id, args: [
                "id": note, "revisionId": revision, "familyId": family.id, "body": "Monday", "audience": "professional"])
            for day in ["Tuesday", "Wednesday"] {
                try store.enqueue("note.create", familyId: family.id, args: ["familyId": family.id, "body": day, "audience": "professional"])
            }
            try store.enqueue("note.amend", familyId: family.id, args: [
                "noteId": note, "supersedes": revision, "body": "Monday, after school", "reason": "time of visit"])
            #expect(try store.pending()[family.id] == 5)

            let week = try await engine.sync()
            #expect(week.pushed == 5 && week.rejected == 0)
            #expect(try store.pending().isEmpty)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 3)
            #expect(try await kith.count("SELECT count(*) FROM note_revisions") == 4)
            #expect(try await kith.count("SELECT count(*) FROM contacts") == 1)
            let again = try await engine.sync()
            #expect(again.pushed == 0)
            #expect(try await kith.count("SELECT count(*) FROM notes") == 3)

            // Reallocated while offline: the note written meanwhile is pushed first, then the family is purged.
            let allocations: ItemList<Components.Schemas.Allocation> = try await kith.send(.get, "/v1/families/\(family.id)/allocations", as: .sam)
            let _: Components.Schemas.Allocation = try await kith.send(
                .post, "/v1/allocations/\(allocations.items[0].id)/end", as: .sam,
                json: ["endedOn": CalendarDay.today.text, "reason": "caseload rebalanced"])
            try store.enqueue("note.create", familyId: family.id, args: ["familyId": family.id, "body": "Thursday", "audience": "professional"])
            let moved = try await engine.sync()
            #expect(moved.pushed == 1 && moved.purged == 1)
            #expect(try await kith.count("SELECT count(*) FROM notes WHERE late_after_reallocation") == 1)
            #expect(try store.records(.note, as: Components.Schemas.JudgmentNote.self).isEmpty)
            #expect(try store.records(.family, as: Components.Schemas.Family.self).isEmpty)
            #expect(try await kith.count("SELECT count(*) FROM audit_events WHERE entity = 'devicePurge'") == 1)
        }
    }
}
