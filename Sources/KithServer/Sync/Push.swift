import Crypto
import Foundation
import KithAPI
import KithCore
import Logging
import OpenAPIRuntime
import PostgresNIO

/// `POST /v1/sync/push`: a device's mutations, applied exactly once in its sequence order.
///
/// One transaction per push holds the device's row lock (so pushes from one device are serialised); each mutation runs
/// in a savepoint, so a rejected one is rolled back alone and kept whole as a review item, and the mutations' effects,
/// their stored results and the device's new `lastAppliedSeq` commit together or not at all. Here the handler and the
/// loop; the runs of new notes in `PushNoteRuns.swift`, what becomes of each mutation in `PushOutcomes.swift`, and the
/// device's standing in a family in `Access/SyncStanding.swift`.
extension KithService {
    func syncPush(_ input: Operations.SyncPush.Input) async throws -> Operations.SyncPush.Output {
        let principal = try Principal.required()
        let body = switch input.body { case .json(let body): body }
        let device = try SyncDevice(principal, claimed: body.deviceId)
        try syncRate.admit(device)
        try SyncProtocol.check(body._protocol, oldest: SyncProtocol.oldestPushed)
        guard body.mutations.count <= SyncProtocol.maxMutationsPerPush else {
            throw KithError(
                status: .contentTooLarge, code: "batch_too_large",
                detail: "A push carries at most \(SyncProtocol.maxMutationsPerPush) mutations; nothing was applied. Send them in smaller batches.")
        }
        var check = Validation()
        check.text("clientVersion", body.clientVersion, max: 100)
        for (index, mutation) in body.mutations.enumerated() {
            if mutation.seq < 1 { check.add("mutations.\(index).seq", "must be 1 or more") }
            // Any type of up to 50 characters: one this server does not know is refused alone, in the push's results.
            if mutation._type.unicodeScalars.count > 50 { check.add("mutations.\(index).type", "must have at most 50 characters") }
            _ = check.uuid("mutations.\(index).id", mutation.id)
            _ = check.uuid("mutations.\(index).grantId", mutation.grantId)
        }
        try check.orThrow()
        let response = try await records { try await $0.push(body.mutations, device: device) }
        return .ok(.init(body: .json(response)))
    }
}

extension Records {
    func push(
        _ mutations: [Components.Schemas.Mutation], device: SyncDevice
    ) async throws -> Components.Schemas.PushResponse {
        var last = try await lockDevice(device)
        try await reconcileGrants(device)
        // Round trips are what a push costs: earlier results are read in one query, the device's standing in a family
        // once, and the new sequence numbers written in one statement at the end (same transaction, same outcome).
        var earlier = try await storedResults(of: mutations, device: device)
        var standings: [String: Standing] = [:]
        var processed: [(seq: Int64, id: String, hash: Data, result: Components.Schemas.MutationResult)] = []
        var results: [Components.Schemas.MutationResult] = []
        // Each mutation is hashed and read as the write it asks for once, however it is then applied.
        let ordered = try mutations.sorted(by: { $0.seq < $1.seq }).map { mutation in
            let payload = try Self.payload(mutation)
            return PreparedMutation(
                mutation: mutation, hash: Data(SHA256.hash(data: payload)),
                write: Result { try DeviceWrite(type: mutation._type, json: payload, argsUnder: "args") })
        }
        var index = 0
        // After a run that could not go in one statement, its mutations go one by one (not in ever shorter runs).
        var oneByOneThrough: Int64 = 0
        while index < ordered.count {
            let (mutation, hash, write) = (ordered[index].mutation, ordered[index].hash, ordered[index].write)
            index += 1
            // A run of new notes (a week offline is mostly that) goes in one statement; should any of them be refused,
            // the run is undone and each mutation is applied on its own below, so a refusal is only ever that note's.
            let run = mutation.seq <= oneByOneThrough ? []
                : try await noteRun(ordered[(index - 1)...], after: last, stored: earlier, device: device, standings: &standings)
            if run.count > 1 {
                if try await applyInSavepoint(run) {
                    for entry in run {
                        let result = Components.Schemas.MutationResult(seq: entry.mutation.seq, id: entry.mutation.id, status: .applied)
                        earlier[entry.mutation.id.lowercased()] = result
                        processed.append((entry.mutation.seq, entry.mutation.id.lowercased(), entry.hash, result))
                        results.append(result)
                        last = entry.mutation.seq
                    }
                    index += run.count - 1
                    continue
                }
                oneByOneThrough = run[run.count - 1].mutation.seq
            }
            if mutation.seq <= last {
                if let same = processed.first(where: { $0.seq == mutation.seq }) {
                    results.append(same.id == mutation.id.lowercased() && same.hash == hash
                        ? same.result.asDuplicate(seq: mutation.seq) : seqConflict(mutation, device: device))
                } else {
                    results.append(try await resent(mutation, hash: hash, device: device))
                }
                continue
            }
            guard mutation.seq == last + 1 else { break }
            let id = mutation.id.lowercased()
            let result: Components.Schemas.MutationResult
            if let stored = earlier[id] {
                result = stored.asDuplicate(seq: mutation.seq)
            } else {
                result = try await applyInSavepoint(mutation, write: write, device: device, standings: &standings)
                earlier[id] = result
            }
            processed.append((mutation.seq, id, hash, result))
            results.append(result)
            last = mutation.seq
        }
        // The outcomes (encoded together, one array) and the device's new position in one statement.
        _ = try await query(
            MutationsRecorded.self,
            """
            WITH recorded AS (
                INSERT INTO sync_mutations (organisation_id, device_id, seq, mutation_id, payload_hash, status, result)
                SELECT \(device.organisationId), \(device.id), seq, id, decode(hash, 'hex'), status, result
                FROM unnest(\(processed.map(\.seq))::bigint[], \(processed.map(\.id))::uuid[], \(processed.map { $0.hash.hex })::text[],
                            \(processed.map(\.result.status.rawValue))::text[]) WITH ORDINALITY AS mutation(seq, id, hash, status, n)
                JOIN jsonb_array_elements(\(try KithJSON.text(processed.map(\.result)))::jsonb) WITH ORDINALITY AS outcome(result, n) USING (n)
            )
            UPDATE devices SET last_applied_seq = \(last), last_synced_at = now()
            WHERE organisation_id = \(device.organisationId) AND id = \(device.id)
            """)
        return .init(lastAppliedSeq: last, expectedSeq: last + 1, results: results)
    }

    /// A pushed mutation with what every path needs of it: what a re-send is compared by, and the write it asks for
    /// (or why it is not one).
    struct PreparedMutation {
        let mutation: Components.Schemas.Mutation
        let hash: Data
        let write: Result<DeviceWrite, any Error>
    }

    /// What a re-sent mutation is compared by, hashed: everything the device sent for it but its sequence number, as
    /// JSON with sorted keys (the same bytes as ever, so a re-send of a mutation stored by an earlier build still
    /// matches). Its `args` are read from these bytes too, under "args".
    static func payload(_ mutation: Components.Schemas.Mutation) throws -> Data {
        struct Payload: Encodable {
            let id: String
            let type: String
            let recordedAt: Date
            let grantId: String?
            let args: Components.Schemas.Mutation.ArgsPayload
        }
        let payload = Payload(
            id: mutation.id.lowercased(), type: mutation._type, recordedAt: mutation.recordedAt, grantId: mutation.grantId,
            args: mutation.args)
        return try KithJSON.encoder().encode(payload)
    }

    static func result(_ json: String) throws -> Components.Schemas.MutationResult {
        try KithJSON.decode(Components.Schemas.MutationResult.self, from: json)
    }
}

extension Components.Schemas.MutationResult {
    /// The stored outcome of a mutation, returned again for a re-send.
    func asDuplicate(seq: Int64) -> Self {
        var result = self
        result.seq = seq
        result.status = .duplicate
        return result
    }
}

/// The statements of every push.
enum StoredResults: HotStatement {}
enum MutationsRecorded: HotStatement {}
