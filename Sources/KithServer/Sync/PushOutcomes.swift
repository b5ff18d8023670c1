import Foundation
import KithAPI
import PostgresNIO

/// What becomes of each pushed mutation: applied in its savepoint, rejected and kept for review (the fault its own), a
/// conflict or a proposal kept for people to decide, or the stored result of a re-send.
extension Records {
    /// A sequence number the device has used before: the same mutation again gets its stored result; anything else
    /// under a used number is refused and logged (by ids only).
    func resent(
        _ mutation: Components.Schemas.Mutation, hash: Data, device: SyncDevice
    ) async throws -> Components.Schemas.MutationResult {
        let stored = try await query(
            """
            SELECT mutation_id, payload_hash, result::text FROM sync_mutations
            WHERE organisation_id = \(device.organisationId) AND device_id = \(device.id) AND seq = \(mutation.seq)
            """).decode((UUID, Data, String).self).first { _ in true }
        if let (id, storedHash, result) = stored, id.text == mutation.id.lowercased(), storedHash == hash {
            return try Self.result(result).asDuplicate(seq: mutation.seq)
        }
        return seqConflict(mutation, device: device)
    }

    func seqConflict(
        _ mutation: Components.Schemas.Mutation, device: SyncDevice
    ) -> Components.Schemas.MutationResult {
        logger.warning(
            "sync sequence number reused for another mutation",
            metadata: ["device": "\(device.id)", "seq": "\(mutation.seq)", "mutation": "\(mutation.id)"])
        return .init(seq: mutation.seq, id: mutation.id, status: .seqConflict, reason: "sequence number already used by another mutation")
    }

    /// What the push's mutations already did, if any of them took effect before (under any sequence number).
    func storedResults(
        of mutations: [Components.Schemas.Mutation], device: SyncDevice
    ) async throws -> [String: Components.Schemas.MutationResult] {
        var stored: [String: Components.Schemas.MutationResult] = [:]
        for row in try await query(
            StoredResults.self,
            """
            SELECT mutation_id, result::text FROM sync_mutations
            WHERE organisation_id = \(device.organisationId) AND status <> 'duplicate'
              AND mutation_id = ANY(\(mutations.compactMap { UUID(uuidString: $0.id) }))
            """) {
            let (id, result) = try row.decode((UUID, String).self)
            stored[id.text] = try Self.result(result)
        }
        return stored
    }

    func applyInSavepoint(
        _ mutation: Components.Schemas.Mutation, write: Result<DeviceWrite, any Error>, device: SyncDevice,
        standings: inout [String: Standing]
    ) async throws -> Components.Schemas.MutationResult {
        try await query("SAVEPOINT mutation")
        do {
            let result = try await apply(mutation, write: try write.get(), device: device, standings: &standings)
            try await query("RELEASE SAVEPOINT mutation")
            return result
        } catch {
            let problem = KithError.classifying(error, logger: logger)
            guard problem.isTheCallers else { throw problem }
            try await query("ROLLBACK TO SAVEPOINT mutation")
            let reason = Self.reason(for: problem)
            // Addressed to the family's team when the mutation names a family that exists, else to the owner's teams.
            var known: FamilyAccess?
            if let write = try? write.get(), let family = try? await write.familyId(in: self) {
                known = try await relationships([family])[family]
            }
            let reviewItemId = try await addReviewItem(
                .rejected, familyId: known?.familyId, teamId: known?.teamId, deviceId: device.id,
                mutationId: UUID(uuidString: mutation.id),
                summary: "A \(mutation._type.prefix(50)) from a device could not be applied", reason: reason,
                payload: try KithJSON.text(mutation), carriesRestricted: try await carriesRestricted(mutation),
                recipients: [device.workerId])
            return .init(seq: mutation.seq, id: mutation.id, status: .rejected, reviewItemId: reviewItemId.text, reason: reason)
        }
    }

    /// One mutation, checked and applied as its device's worker, under the grant it was made under.
    func apply(
        _ mutation: Components.Schemas.Mutation, write: DeviceWrite, device: SyncDevice, standings: inout [String: Standing]
    ) async throws -> Components.Schemas.MutationResult {
        if case .resolveConflict(let conflictId, let value) = write {
            try await resolveConflict(conflictId, value: value)
            return .init(seq: mutation.seq, id: mutation.id, status: .applied)
        }
        // What got in the way is the worker's own account, told whoever now holds the family it names (a family they may
        // no longer read refuses it, kept whole for review).
        if case .friction(let friction) = write {
            try await save(friction, origin: .device(recordedAt: mutation.recordedAt, late: false))
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
            // A family disposed of stays gone: work naming it is refused as such, never re-creating it.
            if try await wasDisposed(familyId) {
                throw KithError(status: .gone, code: "family_disposed", detail: "This family's record was disposed of; the work is kept for review.")
            }
            throw KithError.notFound
        }

        let origin = WriteOrigin.device(recordedAt: mutation.recordedAt, late: late)
        var conflictIds: [UUID] = []
        switch write {
        case .contact(let contact): try await save(contact, access: access, origin: origin)
        case .contactCorrection(let correction): try await save(correction, access: access)
        case .contactWithdrawal(let withdrawal): try await save(withdrawal, access: access)
        case .note(let note): _ = try await save(note, access: access, origin: origin)
        case .amendment(let amendment): try await save(amendment, access: access)
        case .withdrawal(let withdrawal): try await save(withdrawal, access: access)
        case .refiling(let refiling): _ = try await save(refiling, from: access, to: try await self.access(refiling.familyId, for: .write))
        case .audience(let change): _ = try await save(change, access: access)
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
        case .resolveConflict, .friction: break
        }
        if late {
            let item = try await addReviewItem(
                .late, familyId: familyId, teamId: access.teamId, deviceId: device.id, mutationId: UUID(uuidString: mutation.id),
                summary: "Recorded offline by the family's previous worker and received after the family was reallocated",
                reason: "late_after_reallocation", payload: try KithJSON.text(mutation),
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
    func addConflict(
        _ stale: StaleFieldEdit, personId: UUID, access: FamilyAccess, device: SyncDevice
    ) async throws -> UUID {
        let payload = FieldConflict(personId: personId.text, field: stale.edit.key, values: [
            .init(value: stale.currentValue, workerId: stale.currentEditor, version: stale.current),
            .init(value: stale.edit.value, workerId: device.workerId, version: stale.current + 1),
        ])
        let recipients = [device.workerId] + (stale.currentEditor.map { [$0] } ?? [])
        return try await addReviewItem(
            .conflict, familyId: access.familyId, teamId: access.teamId, deviceId: device.id, mutationId: nil,
            summary: "Two edits of the same field of a person in the network; the later one is showing",
            reason: "field \(stale.edit.key) edited from version \(stale.edit.baseVersion), now \(stale.current)",
            payload: try KithJSON.text(payload), recipients: recipients)
    }

    func propose(
        _ mutation: Components.Schemas.Mutation, familyId: UUID, teamId: UUID, device: SyncDevice
    ) async throws -> Components.Schemas.MutationResult {
        let proposal = try await addReviewItem(
            .proposal, familyId: familyId, teamId: teamId, deviceId: device.id, mutationId: UUID(uuidString: mutation.id),
            summary: "An edit made offline after the family was reallocated, proposed for the family's worker to decide",
            reason: "family_reallocated", payload: try KithJSON.text(mutation), carriesRestricted: try await carriesRestricted(mutation),
            recipients: try await currentWorkers(of: familyId))
        return .init(seq: mutation.seq, id: mutation.id, status: .rejected, reviewItemId: proposal.text, reason: "proposal: the family was reallocated")
    }

    /// Whether the mutation carries a restricted note's text: a restricted note, or an amendment of one.
    func carriesRestricted(_ mutation: Components.Schemas.Mutation) async throws -> Bool {
        switch try? DeviceWrite(type: mutation._type, args: mutation.args.additionalProperties) {
        case .note(let note): return note.body.audience == .restricted
        case .amendment(let amendment):
            return try await query(
                "SELECT audience = 'restricted' FROM current_notes WHERE organisation_id = \(principal.organisationId) AND id = \(amendment.noteId)").decode(Bool.self).first { _ in true } ?? false
        default:
            return mutation.args.additionalProperties.value["audience"] as? String == "restricted"
        }
    }

    /// Why a mutation was rejected, in words its worker reads in their review queue.
    static func reason(for problem: KithError) -> String {
        let fields = problem.fieldErrors.map { "\($0.field) \($0.message)" }
        return ([problem.code == "not_found" ? "not allowed, or no such record" : problem.detail] + fields).joined(separator: "; ")
    }
}

/// A conflict review item's payload: the person's field and both values, each with who set it and its version (a value
/// or an editor that is not known is null).
struct FieldConflict: Encodable {
    struct Value: Encodable {
        let value: String?
        let workerId: String?
        let version: Int

        init(value: String?, workerId: UUID?, version: Int) {
            (self.value, self.workerId, self.version) = (value, workerId?.text, version)
        }

        enum CodingKeys: CodingKey { case value, workerId, version }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(value, forKey: .value)
            try container.encode(workerId, forKey: .workerId)
            try container.encode(version, forKey: .version)
        }
    }

    let personId: String
    let field: String
    let values: [Value]
}
