import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import NIOCore
import Testing
@testable import KithServer

/// A field device as a test drives it: registered by a worker, pushing mutations it numbers itself and pulling its
/// change feed, with the JSON a real client would send.
struct FieldDevice: Sendable {
    let kith: Kith
    let id: String
    let token: String

    static func register(_ kith: Kith, as who: Fixture.Who, name: String = "tablet") async throws -> FieldDevice {
        let registration: Components.Schemas.DeviceRegistration = try await kith.send(
            .post, "/v1/devices", as: who, json: ["name": name, "platform": "test", "clientVersion": "1.0"], expect: .created)
        return FieldDevice(kith: kith, id: registration.deviceId, token: registration.token)
    }

    func post(_ path: String, _ body: [String: Any]) async throws -> TestResponse {
        try await post(path, raw: try JSONSerialization.data(withJSONObject: body))
    }

    func post(_ path: String, raw: Data) async throws -> TestResponse {
        try await kith.client.execute(
            uri: path, method: .post, headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
            body: ByteBuffer(bytes: raw))
    }

    /// Pushes mutations; the response must be 200.
    func push(_ mutations: [[String: Any]], protocol version: Int = SyncProtocolVersion.current, sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> Components.Schemas.PushResponse
    {
        let response = try await post(
            "/v1/sync/push", ["protocol": version, "deviceId": id, "clientVersion": "1.0", "mutations": mutations])
        #expect(response.status == .ok, "push: \(String(buffer: response.body))", sourceLocation: sourceLocation)
        return try Kith.decoder.decode(Components.Schemas.PushResponse.self, from: response.body)
    }

    func pull(cursor: String?, limit: Int = 1000, sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> Components.Schemas.PullResponse
    {
        var body: [String: Any] = ["protocol": SyncProtocolVersion.current, "deviceId": id, "limit": limit]
        if let cursor { body["cursor"] = cursor }
        let response = try await post("/v1/sync/pull", body)
        #expect(response.status == .ok, "pull: \(String(buffer: response.body))", sourceLocation: sourceLocation)
        return try Kith.decoder.decode(Components.Schemas.PullResponse.self, from: response.body)
    }

    /// Pulls until the feed has nothing more, returning every page and the last cursor.
    func pullAll(from cursor: String?) async throws -> (pages: [Components.Schemas.PullResponse], cursor: String) {
        var cursor = cursor
        var pages: [Components.Schemas.PullResponse] = []
        repeat {
            let page = try await pull(cursor: cursor)
            pages.append(page)
            cursor = page.cursor
        } while pages.last!.hasMore && pages.count < 100
        return (pages, cursor!)
    }

    /// Pulls until `done` holds for everything delivered so far, and fails the test if it never does. The feed only
    /// reaches below the oldest transaction still running anywhere in the cluster (other tests' too), so what was just
    /// written may take a moment.
    func pullUntil(
        _ what: String = "the pull to bring what was written", from cursor: String?,
        _ done: ([Components.Schemas.PullResponse]) -> Bool
    ) async throws -> (pages: [Components.Schemas.PullResponse], cursor: String) {
        var pages: [Components.Schemas.PullResponse] = []
        var cursor = cursor
        try await waitUntil(what) {
            let (more, next) = try await pullAll(from: cursor)
            pages += more
            cursor = next
            return done(pages)
        }
        return (pages, cursor!)
    }

    func ack(_ purged: [(familyId: String, grantId: String)]) async throws {
        let response = try await post("/v1/sync/ack", ["purged": purged.map { ["familyId": $0.familyId, "grantId": $0.grantId] }])
        #expect(response.status == .noContent)
    }
}

/// Mutations as a device writes them: the shared vocabulary's (as the terminal client writes them), or raw for
/// the wire's edge cases.
enum Mutation {
    static func note(
        _ seq: Int64, family: String, body: String = "Saw the children at home.", id: String = UUID().text,
        noteId: String = UUID().text, grant: String? = nil, recordedAt: Date = Date()
    ) -> [String: Any] {
        mutation(seq, id: id, .createNote(familyId: family, .init(id: noteId, body: body, audience: .professional)),
                 grant: grant, recordedAt: recordedAt)
    }

    static func setPhone(_ seq: Int64, person: String, phone: String, baseVersion: Int, grant: String? = nil) -> [String: Any] {
        mutation(seq, .setPersonFields(personId: person, .init(fields: .init(phone: .init(value: phone, baseVersion: baseVersion)))),
                 grant: grant)
    }

    static func mutation(
        _ seq: Int64, id: String = UUID().text, _ write: DeviceMutation, grant: String? = nil, recordedAt: Date = Date()
    ) -> [String: Any] {
        // The args as the client's encoder writes them, as plain JSON for the request body.
        let args = try! JSONSerialization.jsonObject(with: JSONEncoder().encode(write.args())) as! [String: Any]
        return mutation(seq, id: id, write.kind.rawValue, grant: grant, recordedAt: recordedAt, args: args)
    }

    static func mutation(
        _ seq: Int64, id: String = UUID().text, _ type: String, grant: String? = nil, recordedAt: Date = Date(), args: [String: Any]
    ) -> [String: Any] {
        var mutation: [String: Any] = [
            "seq": seq, "id": id, "type": type, "recordedAt": recordedAt.formatted(.iso8601), "args": args,
        ]
        if let grant { mutation["grantId"] = grant }
        return mutation
    }
}

extension Components.Schemas.PullResponse {
    func ids(_ entity: Components.Schemas.ChangeEntity) -> [String] {
        changes.filter { $0.entity == entity && $0.op == .upsert }.map(\.id)
    }
}
