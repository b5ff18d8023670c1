import Foundation
import KithAPI
import KithCore
import OpenAPIRuntime
import Testing
@testable import KithServer

/// Random interleavings of writes, pushes, lost responses, re-sends and pulls from three devices: in the end every
/// mutation took effect once or waits as a review item, and every device holds exactly what a fresh pull of its scope
/// would give it.
@Suite struct SyncPropertyTests {
    /// A device as a client keeps it: an outbox until `lastAppliedSeq` covers it, a cursor, and what it pulled.
    struct Replica {
        let device: FieldDevice
        var nextSeq: Int64 = 1
        var outbox: [(seq: Int64, id: String, body: Data)] = []
        var cursor: String?
        var records: [String: String] = [:]

        mutating func apply(_ page: Components.Schemas.PullResponse) throws {
            for change in page.changes {
                let key = "\(change.entity.rawValue):\(change.id)"
                switch change.op {
                case .upsert: records[key] = try change.record.map(Replica.canonical)
                case .delete: records[key] = nil
                }
            }
            cursor = page.cursor
        }

        static func canonical(_ data: any ChangeRecord) throws -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: try encoder.encode(data), as: UTF8.self)
        }
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func randomInterleavingsLoseNothingAndDuplicateNothing(seed: UInt64) async throws {
        try await Kith.run { kith in
            var random = SplitMix64(seed: seed)
            let priyas = try await kith.openFamily("The Ahmed family")
            let toms = try await kith.openFamily("The Brennan family", by: .tom)
            let shared = try await kith.openFamily("The Carter family")
            let _: Components.Schemas.Allocation = try await kith.send(
                .post, "/v1/families/\(shared.id)/allocations", as: .sam,
                json: ["workerId": kith.fixture.id(.tom).text, "role": "familySupport", "startedOn": CalendarDay.today.text], expect: .created)
            var replicas = [
                Replica(device: try await FieldDevice.register(kith, as: .priya, name: "tablet")),
                Replica(device: try await FieldDevice.register(kith, as: .tom, name: "phone")),
                Replica(device: try await FieldDevice.register(kith, as: .priya, name: "laptop")),
            ]
            let families = [[priyas.id, shared.id], [toms.id, shared.id], [priyas.id, shared.id]]
            var written: Set<String> = []

            for _ in 0..<60 {
                let index = Int.random(in: 0..<3, using: &random)
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<4:
                    // Write offline; one in eight is malformed (an audience the server does not know).
                    let family = families[index].randomElement(using: &random)!
                    var mutation = Mutation.note(replicas[index].nextSeq, family: family, body: "Note \(written.count)")
                    if Int.random(in: 0..<8, using: &random) == 0 {
                        mutation["args"] = ["familyId": family, "body": "?", "audience": "everyone"]
                    }
                    let id = mutation["id"] as! String
                    written.insert(id)
                    replicas[index].outbox.append((replicas[index].nextSeq, id, try JSONSerialization.data(withJSONObject: mutation)))
                    replicas[index].nextSeq += 1
                case 4..<7:
                    let lost = Int.random(in: 0..<3, using: &random) == 0
                    try await push(&replicas[index], responseLost: lost)
                default:
                    if Int.random(in: 0..<4, using: &random) == 0 {
                        _ = try await replicas[index].device.pull(cursor: replicas[index].cursor)
                    } else {
                        let (pages, _) = try await replicas[index].device.pullAll(from: replicas[index].cursor)
                        for page in pages { try replicas[index].apply(page) }
                    }
                }
            }
            for index in replicas.indices { try await push(&replicas[index], responseLost: false) }
            #expect(replicas.allSatisfy { $0.outbox.isEmpty })

            // Every mutation id: applied once, or rejected and kept; never both, never twice, never lost.
            let applied = try await ids(kith, "SELECT mutation_id::text FROM sync_mutations WHERE status = 'applied'")
            let rejected = try await ids(kith, "SELECT mutation_id::text FROM review_items WHERE kind = 'rejected'")
            #expect(applied.count == Set(applied).count && rejected.count == Set(rejected).count)
            #expect(Set(applied).isDisjoint(with: rejected))
            #expect(Set(applied).union(rejected) == written)
            #expect(try await kith.count("SELECT count(*) FROM notes") == applied.count)

            // Each device converges on a fresh pull of its scope (once the feed has passed every write).
            for (index, worker) in [Fixture.Who.priya, .tom, .priya].enumerated() {
                var fresh = Replica(device: try await FieldDevice.register(kith, as: worker, name: "fresh \(index)"))
                for page in try await fresh.device.pullAll(from: nil).pages { try fresh.apply(page) }
                for _ in 0..<200 where replicas[index].records != fresh.records {
                    for page in try await replicas[index].device.pullAll(from: replicas[index].cursor).pages { try replicas[index].apply(page) }
                    if replicas[index].records != fresh.records { try await Task.sleep(for: .milliseconds(25)) }
                }
                #expect(replicas[index].records == fresh.records, "device \(index) with seed \(seed)")
            }
        }
    }

    /// Pushes the outbox; a response that arrives confirms what `lastAppliedSeq` covers, a lost one confirms nothing.
    private func push(_ replica: inout Replica, responseLost: Bool) async throws {
        guard !replica.outbox.isEmpty else { return }
        let mutations = try replica.outbox.map { try JSONSerialization.jsonObject(with: $0.body) }
        let response = try await replica.device.push(mutations.map { $0 as! [String: Any] })
        #expect(response.results.allSatisfy { $0.status != .seqConflict })
        if !responseLost { replica.outbox.removeAll { $0.seq <= response.lastAppliedSeq } }
    }

    private func ids(_ kith: Kith, _ sql: String) async throws -> [String] {
        var ids: [String] = []
        for try await id in try await kith.db.query(.init(unsafeSQL: sql), logger: TestDatabase.logger).decode(String.self) {
            ids.append(id)
        }
        return ids
    }
}
