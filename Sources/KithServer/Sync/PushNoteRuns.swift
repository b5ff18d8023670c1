import Foundation
import KithAPI
import PostgresNIO

/// A push's runs of new notes (a week offline is mostly that): consecutive `note.create` mutations that go in one
/// statement, undone together should any of them be refused so that a refusal is only ever that note's.
extension Records {
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
    func noteRun(
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
    func applyInSavepoint(_ run: [RunNote]) async throws -> Bool {
        try await query("SAVEPOINT notes")
        do {
            if try await save(run.map { ($0.note, $0.access, $0.origin) }) != nil {
                try await query("RELEASE SAVEPOINT notes")
                return true
            }
        } catch {
            let problem = KithError.classifying(error, logger: logger)
            guard problem.isTheCallers else { throw problem }
        }
        try await query("ROLLBACK TO SAVEPOINT notes")
        return false
    }
}
