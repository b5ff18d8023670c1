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
/// their stored results and the device's new `lastAppliedSeq` commit together or not at all.
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
        _ = try await connection.query(
            MutationsRecorded.self,
            """
            WITH recorded AS (
                INSERT INTO sync_mutations (organisation_id, device_id, seq, mutation_id, payload_hash, status, result)
                SELECT \(device.organisationId), \(device.id), seq, id, decode(hash, 'hex'), status, result
                FROM unnest(\(processed.map(\.seq))::bigint[], \(processed.map(\.id))::uuid[], \(processed.map { $0.hash.hex })::text[],
                            \(processed.map(\.result.status.rawValue))::text[]) WITH ORDINALITY AS mutation(seq, id, hash, status, n)
                JOIN jsonb_array_elements(\(try Self.json(processed.map(\.result)))::jsonb) WITH ORDINALITY AS outcome(result, n) USING (n)
            )
            UPDATE devices SET last_applied_seq = \(last), last_synced_at = now()
            WHERE organisation_id = \(device.organisationId) AND id = \(device.id)
            """, logger: logger)
        return .init(lastAppliedSeq: last, expectedSeq: last + 1, results: results)
    }

    /// A pushed mutation with what every path needs of it: what a re-send is compared by, and the write it asks for
    /// (or why it is not one).
    struct PreparedMutation {
        let mutation: Components.Schemas.Mutation
        let hash: Data
        let write: Result<DeviceWrite, any Error>
    }

    /// A new note of a run: its mutation and payload hash, the note, the family's access, where it came from.
    struct RunNote {
        let mutation: Components.Schemas.Mutation
        let hash: Data
        let note: NewNote
        let access: FamilyAccess
        let origin: WriteOrigin
    }

    /// The consecutive `note.create` mutations from the start of `mutations` that can go in one statement: next in
    /// sequence, never applied before, well formed, and for a family the device's worker holds now (late work and
    /// proposals are decided one by one).
    private func noteRun(
        _ mutations: ArraySlice<PreparedMutation>, after last: Int64,
        stored: [String: Components.Schemas.MutationResult], device: SyncDevice, standings: inout [String: Standing]
    ) async throws -> [RunNote] {
        var run: [RunNote] = []
        var ids = Set<String>()
        for prepared in mutations {
            let mutation = prepared.mutation
            let id = mutation.id.lowercased()
            guard mutation.seq == last + 1 + Int64(run.count), stored[id] == nil, ids.insert(id).inserted,
                  case .note(let note)? = try? prepared.write.get(),
                  case .holds(let access) = try await standing(in: note.familyId, grantId: mutation.grantId, device: device, cached: &standings)
            else { break }
            run.append(RunNote(
                mutation: mutation, hash: prepared.hash, note: note, access: access,
                origin: .device(recordedAt: mutation.recordedAt, late: false)))
        }
        return run
    }

    /// The run in one savepoint: true when every note of it was written, false (nothing written) otherwise.
    private func applyInSavepoint(_ run: [RunNote]) async throws -> Bool {
        try await connection.query("SAVEPOINT notes", logger: logger)
        do {
            if try await save(run.map { ($0.note, $0.access, $0.origin) }) != nil {
                try await connection.query("RELEASE SAVEPOINT notes", logger: logger)
                return true
            }
        } catch let error where Self.isRejection(error) {}
        try await connection.query("ROLLBACK TO SAVEPOINT notes", logger: logger)
        return false
    }

    /// A sequence number the device has used before: the same mutation again gets its stored result; anything else
    /// under a used number is refused and logged (by ids only).
    private func resent(
        _ mutation: Components.Schemas.Mutation, hash: Data, device: SyncDevice
    ) async throws -> Components.Schemas.MutationResult {
        let stored = try await connection.query(
            """
            SELECT mutation_id, payload_hash, result::text FROM sync_mutations
            WHERE organisation_id = \(device.organisationId) AND device_id = \(device.id) AND seq = \(mutation.seq)
            """, logger: logger
        ).decode((UUID, Data, String).self).first { _ in true }
        if let (id, storedHash, result) = stored, id.text == mutation.id.lowercased(), storedHash == hash {
            return try Self.result(result).asDuplicate(seq: mutation.seq)
        }
        return seqConflict(mutation, device: device)
    }

    private func seqConflict(
        _ mutation: Components.Schemas.Mutation, device: SyncDevice
    ) -> Components.Schemas.MutationResult {
        logger.warning(
            "sync sequence number reused for another mutation",
            metadata: ["device": "\(device.id)", "seq": "\(mutation.seq)", "mutation": "\(mutation.id)"])
        return .init(seq: mutation.seq, id: mutation.id, status: .seqConflict, reason: "sequence number already used by another mutation")
    }

    /// What the push's mutations already did, if any of them took effect before (under any sequence number).
    private func storedResults(
        of mutations: [Components.Schemas.Mutation], device: SyncDevice
    ) async throws -> [String: Components.Schemas.MutationResult] {
        var stored: [String: Components.Schemas.MutationResult] = [:]
        for row in try await connection.query(
            StoredResults.self,
            """
            SELECT mutation_id, result::text FROM sync_mutations
            WHERE organisation_id = \(device.organisationId) AND status <> 'duplicate'
              AND mutation_id = ANY(\(mutations.compactMap { UUID(uuidString: $0.id) }))
            """, logger: logger
        ) {
            let (id, result) = try row.decode((UUID, String).self)
            stored[id.text] = try Self.result(result)
        }
        return stored
    }

    private func applyInSavepoint(
        _ mutation: Components.Schemas.Mutation, write: Result<DeviceWrite, any Error>, device: SyncDevice,
        standings: inout [String: Standing]
    ) async throws -> Components.Schemas.MutationResult {
        try await connection.query("SAVEPOINT mutation", logger: logger)
        do {
            let result = try await apply(mutation, write: try write.get(), device: device, standings: &standings)
            try await connection.query("RELEASE SAVEPOINT mutation", logger: logger)
            return result
        } catch let error where Self.isRejection(error) {
            try await connection.query("ROLLBACK TO SAVEPOINT mutation", logger: logger)
            let reason = Self.reason(for: error)
            // Addressed to the family's team when the mutation names a family that exists, else to the owner's teams.
            var known: FamilyAccess?
            if let write = try? write.get(), let family = try? await write.familyId(in: self) {
                known = try await relationships([family])[family]
            }
            let reviewItemId = try await addReviewItem(
                .rejected, familyId: known?.familyId, teamId: known?.teamId, deviceId: device.id,
                mutationId: UUID(uuidString: mutation.id),
                summary: "A \(mutation._type.prefix(50)) from a device could not be applied", reason: reason,
                payload: try Self.json(mutation), carriesRestricted: try await carriesRestricted(mutation),
                recipients: [device.workerId])
            return .init(seq: mutation.seq, id: mutation.id, status: .rejected, reviewItemId: reviewItemId.text, reason: reason)
        }
    }

    /// One mutation, checked and applied as its device's worker, under the grant it was made under.
    private func apply(
        _ mutation: Components.Schemas.Mutation, write: DeviceWrite, device: SyncDevice, standings: inout [String: Standing]
    ) async throws -> Components.Schemas.MutationResult {
        if case .resolveConflict(let conflictId, let value) = write {
            try await resolveConflict(conflictId, value: value)
            return .init(seq: mutation.seq, id: mutation.id, status: .applied)
        }
        guard let familyId = try await write.familyId(in: self) else { throw KithError.notFound }
        let standing = try await self.standing(in: familyId, grantId: mutation.grantId, device: device, cached: &standings)
        var late = false
        let access: FamilyAccess
        switch standing {
        case .holds(let held):
            access = held
        case .endedGrant(let teamId, let endedAt) where write.recordsPractice:
            // Practice recorded offline before the family moved on is kept, for a while: beyond the window a device
            // that sat in a drawer is told so, and its work waits whole in a review item for a person.
            guard endedAt.addingTimeInterval(Self.lateWriteWindow) > Date() else {
                throw KithError.forbidden(
                    "The family was reallocated more than \(Int(Self.lateWriteWindow / 86_400)) days ago; the work is kept for review.")
            }
            // An amendment of a note written after the reallocation would replace what the new worker wrote: it is
            // proposed to them instead.
            if case .amendment(let amendment) = write, try await noteWritten(amendment.noteId, after: endedAt) {
                return try await propose(mutation, familyId: familyId, teamId: teamId, device: device)
            }
            late = true
            access = FamilyAccess(
                familyId: familyId, teamId: teamId, allocationRole: nil, supervisesTeam: false, breakGlass: false, adminOnly: false)
        case .endedGrant(let teamId, _):
            return try await propose(mutation, familyId: familyId, teamId: teamId, device: device)
        case .none:
            throw KithError.notFound
        }

        let origin = WriteOrigin.device(recordedAt: mutation.recordedAt, late: late)
        var conflictIds: [UUID] = []
        switch write {
        case .contact(let contact): try await save(contact, access: access, origin: origin)
        case .note(let note): _ = try await save(note, access: access, origin: origin)
        case .amendment(let amendment): try await save(amendment, access: access)
        case .person(let person): try await save(person, access: access)
        case .planItemUpdate(let update): _ = try await save(update, access: access)
        case .handover(let handover): try await save(handover, access: access)
        case .conference(let conference): _ = try await save(conference, access: access)
        case .stage(let stage): _ = try await save(stage, access: access)
        case .participant(let change): _ = try await save(change, access: access)
        case .meeting(let meeting): _ = try await save(meeting, access: access)
        case .plan(let plan): _ = try await save(plan, access: access)
        case .fields(let personId, let edits):
            let stale = try await setFields(personId, edits, access: access) { _ in }
            for conflict in stale {
                conflictIds.append(try await addConflict(conflict, personId: personId, access: access, device: device))
            }
        case .resolveConflict: break
        }
        if late {
            let item = try await addReviewItem(
                .late, familyId: familyId, teamId: access.teamId, deviceId: device.id, mutationId: UUID(uuidString: mutation.id),
                summary: "Recorded offline by the family's previous worker and received after the family was reallocated",
                reason: "late_after_reallocation", payload: try Self.json(mutation),
                carriesRestricted: try await carriesRestricted(mutation), recipients: try await currentWorkers(of: familyId))
            return .init(seq: mutation.seq, id: mutation.id, status: .applied, reviewItemId: item.text, reason: "late_after_reallocation")
        }
        if let first = conflictIds.first {
            return .init(
                seq: mutation.seq, id: mutation.id, status: .appliedWithConflict, conflictId: first.text,
                conflictIds: conflictIds.map(\.text))
        }
        return .init(seq: mutation.seq, id: mutation.id, status: .applied)
    }

    /// A stale field edit was applied in arrival order; both values are kept for the two editors and the supervisor.
    private func addConflict(
        _ stale: StaleFieldEdit, personId: UUID, access: FamilyAccess, device: SyncDevice
    ) async throws -> UUID {
        let payload: [String: Any] = [
            "personId": personId.text, "field": stale.edit.key,
            "values": [
                ["value": stale.currentValue as Any, "workerId": stale.currentEditor?.text as Any, "version": stale.current],
                ["value": stale.edit.value as Any, "workerId": device.workerId.text, "version": stale.current + 1],
            ],
        ]
        let recipients = [device.workerId] + (stale.currentEditor.map { [$0] } ?? [])
        return try await addReviewItem(
            .conflict, familyId: access.familyId, teamId: access.teamId, deviceId: device.id, mutationId: nil,
            summary: "Two edits of the same field of a person in the network; the later one is showing",
            reason: "field \(stale.edit.key) edited from version \(stale.edit.baseVersion), now \(stale.current)",
            payload: try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys]).utf8Text,
            recipients: recipients)
    }

    /// How long after the worker's allocation ended their device's late notes and contacts are still taken.
    static let lateWriteWindow: TimeInterval = 30 * 86_400

    enum Standing {
        case holds(FamilyAccess)
        case endedGrant(teamId: UUID, endedAt: Date)
        case none
    }

    private func propose(
        _ mutation: Components.Schemas.Mutation, familyId: UUID, teamId: UUID, device: SyncDevice
    ) async throws -> Components.Schemas.MutationResult {
        let proposal = try await addReviewItem(
            .proposal, familyId: familyId, teamId: teamId, deviceId: device.id, mutationId: UUID(uuidString: mutation.id),
            summary: "An edit made offline after the family was reallocated, proposed for the family's worker to decide",
            reason: "family_reallocated", payload: try Self.json(mutation), carriesRestricted: try await carriesRestricted(mutation),
            recipients: try await currentWorkers(of: familyId))
        return .init(seq: mutation.seq, id: mutation.id, status: .rejected, reviewItemId: proposal.text, reason: "proposal: the family was reallocated")
    }

    /// Written by someone else since the device's worker stopped working with the family.
    private func noteWritten(_ noteId: UUID, after moment: Date) async throws -> Bool {
        try await connection.query(
            """
            SELECT created_at >= \(moment) AND author_id <> \(principal.workerId)
            FROM notes WHERE organisation_id = \(principal.organisationId) AND id = \(noteId)
            """, logger: logger
        ).decode(Bool.self).first { _ in true } ?? false
    }

    /// Whether the mutation carries a restricted note's text: a restricted note, or an amendment of one.
    func carriesRestricted(_ mutation: Components.Schemas.Mutation) async throws -> Bool {
        switch try? DeviceWrite(type: mutation._type, args: mutation.args.additionalProperties) {
        case .note(let note): return note.body.audience == .restricted
        case .amendment(let amendment):
            return try await connection.query(
                "SELECT audience = 'restricted' FROM notes WHERE organisation_id = \(principal.organisationId) AND id = \(amendment.noteId)",
                logger: logger
            ).decode(Bool.self).first { _ in true } ?? false
        default:
            return mutation.args.additionalProperties.value["audience"] as? String == "restricted"
        }
    }

    /// The device's standing in a family under a grant, asked once per push.
    private func standing(
        in familyId: UUID, grantId: String?, device: SyncDevice, cached standings: inout [String: Standing]
    ) async throws -> Standing {
        let key = "\(familyId.text) \(grantId ?? "")"
        if let known = standings[key] { return known }
        let standing = try await standing(in: familyId, grantId: grantId, device: device)
        standings[key] = standing
        return standing
    }

    /// Whether the device's worker may write to the family now, or held it under a grant that has since ended.
    private func standing(in familyId: UUID, grantId: String?, device: SyncDevice) async throws -> Standing {
        if let access = try await accessIfAny(familyId) {
            return .holds(access)
        }
        guard let grantId, let grant = UUID(uuidString: grantId) else { return .none }
        // When the worker's allocation ended (the grant only ends when the server next hears from the device).
        let ended = try await connection.query(
            """
            SELECT f.team_id,
                   coalesce((SELECT max(a.ended_on)::timestamptz FROM allocations a
                              WHERE a.organisation_id = g.organisation_id AND a.family_id = g.family_id
                                AND a.worker_id = \(device.workerId) AND a.ended_on IS NOT NULL), g.ended_at)
            FROM device_grants g
            JOIN families f ON f.organisation_id = g.organisation_id AND f.id = g.family_id
            WHERE g.organisation_id = \(device.organisationId) AND g.id = \(grant) AND g.device_id = \(device.id)
              AND g.family_id = \(familyId) AND g.ended_at IS NOT NULL
            """, logger: logger
        ).decode((UUID, Date).self).first { _ in true }
        return ended.map { .endedGrant(teamId: $0.0, endedAt: $0.1) } ?? .none
    }

    func currentWorkers(of familyId: UUID) async throws -> [UUID] {
        try await connection.query(
            """
            SELECT DISTINCT worker_id FROM current_allocations
            WHERE organisation_id = \(principal.organisationId) AND family_id = \(familyId)
            """, logger: logger
        ).collect().map { try $0.decode(UUID.self) }
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
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let payload = Payload(
            id: mutation.id.lowercased(), type: mutation._type, recordedAt: mutation.recordedAt, grantId: mutation.grantId,
            args: mutation.args)
        return try encoder.encode(payload)
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(value).utf8Text
    }

    private static func result(_ json: String) throws -> Components.Schemas.MutationResult {
        try JSONDecoder().decode(Components.Schemas.MutationResult.self, from: Data(json.utf8))
    }

    /// Errors that are about the mutation itself (its shape, its values, what it refers to): it is rejected and kept.
    /// Anything else (the database going away, say) fails the whole push, which the device retries.
    static func isRejection(_ error: any Error) -> Bool {
        switch error {
        case let error as KithError: error.status.code < 500
        case is DecodingError: true
        case let error as PSQLError:
            error.serverInfo?[.sqlState].map { $0.hasPrefix("22") || $0.hasPrefix("23") } ?? false
        default: false
        }
    }

    static func reason(for error: any Error) -> String {
        let problem = ProblemMiddleware<KithRequestContext>.problem(for: error, logger: Logger(label: "kith.sync"))
        let fields = problem.fieldErrors.map { "\($0.field) \($0.message)" }
        return ([problem.code == "not_found" ? "not allowed, or no such record" : problem.detail] + fields).joined(separator: "; ")
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
