import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// The family network. A person needs only a name: no date of birth, surname or address is ever required.
extension KithService {
    func listPeople(_ input: Operations.ListPeople.Input) async throws -> Operations.ListPeople.Output {
        let familyId = try UUID(path: input.path.familyId)
        let people = try await readFamily(familyId, "people") { records, _ in
            try await records.people(of: [familyId])
        }
        return .ok(.init(body: .json(.init(items: people))))
    }

    func addPerson(_ input: Operations.AddPerson.Input) async throws -> Operations.AddPerson.Output {
        let body = switch input.body { case .json(let body): body }
        let draft = try NewPerson(familyId: try UUID(path: input.path.familyId), body)
        let person = try await records { records in
            let access = try await records.access(draft.familyId, for: .write)
            try await records.save(draft, access: access)
            return try await records.person(draft.id)
        }
        return .created(.init(body: .json(person)))
    }

    /// Per-field edits: each names the version it was read at. Online, a stale version changes nothing and answers
    /// 409 with the current values, so the person editing decides; edits of different fields never conflict.
    func updatePerson(_ input: Operations.UpdatePerson.Input) async throws -> Operations.UpdatePerson.Output {
        let personId = try UUID(path: input.path.personId)
        let body = switch input.body { case .json(let body): body }
        let edits = try PersonFieldEdit.all(from: body.fields)
        let person = try await records { records in
            let familyId = try await records.familyOf(.people, id: personId)
            let access = try await records.access(familyId, for: .write)
            try await records.setFields(personId, edits, access: access) { stale in
                guard stale.isEmpty else {
                    var error = KithError.conflict(
                        "version_conflict",
                        "Someone changed these fields since you read them; nothing was saved. Read the person again and decide.")
                    error.fieldErrors = stale.map { .init(field: $0.edit.key, message: "is at version \($0.current), not \($0.edit.baseVersion)") }
                    throw error
                }
            }
            return try await records.person(personId)
        }
        return .ok(.init(body: .json(person)))
    }
}
