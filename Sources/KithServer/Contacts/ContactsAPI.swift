import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// Visits and other contacts. Only attribution is required (who recorded it, which family, when it happened):
/// a contact with no note, no duration and nobody listed as present still saves.
extension KithService {
    func recordContact(_ input: Operations.RecordContact.Input) async throws -> Operations.RecordContact.Output {
        let body = switch input.body { case .json(let body): body }
        let draft = try NewContact(familyId: try UUID(path: input.path.familyId), body)
        let contact = try await records { records in
            let access = try await records.access(draft.familyId, for: .write)
            try await records.save(draft, access: access, origin: .online)
            return try await records.contacts(of: [draft.familyId], only: [draft.id])[0]
        }
        return .created(.init(body: .json(contact)))
    }
}
