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

/// A contact recorded wrongly is corrected, or withdrawn when it is on the wrong family: facts appended beside it,
/// never an edit. Each is one transaction through `records`, with its audit event.
extension KithService {
    func correctContact(_ input: Operations.CorrectContact.Input) async throws -> Operations.CorrectContact.Output {
        let body = switch input.body { case .json(let body): body }
        let correction = try ContactCorrection(contactId: try UUID(path: input.path.contactId), body)
        let contact = try await records { records in
            let access = try await records.access(try await records.familyOf(.contacts, id: correction.contactId), for: .write)
            try await records.save(correction, access: access)
            return try await records.contacts(of: [access.familyId], only: [correction.contactId])[0]
        }
        return .ok(.init(body: .json(contact)))
    }

    func withdrawContact(_ input: Operations.WithdrawContact.Input) async throws -> Operations.WithdrawContact.Output {
        let body = switch input.body { case .json(let body): body }
        let withdrawal = try ContactWithdrawal(contactId: try UUID(path: input.path.contactId), body)
        let contact = try await records { records in
            let access = try await records.access(try await records.familyOf(.contacts, id: withdrawal.contactId), for: .write)
            try await records.save(withdrawal, access: access)
            return try await records.contacts(of: [access.familyId], only: [withdrawal.contactId])[0]
        }
        return .ok(.init(body: .json(contact)))
    }
}
