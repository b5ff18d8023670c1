import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// A family's whole record for a subject access request: every revision of every note (restricted ones flagged
/// for redaction, not removed), and the audit of who accessed it.
extension KithService {
    func exportFamily(_ input: Operations.ExportFamily.Input) async throws -> Operations.ExportFamily.Output {
        let familyId = try UUID(path: input.path.familyId)
        let export = try await records { records in
            let access = try await records.access(familyId, for: .export)
            try await records.audit(.export, "family", recordId: familyId, access: access)
            return Components.Schemas.FamilyExport(
                exportedAt: Date(),
                family: try await records.family(familyId),
                people: try await records.people(familyId: familyId),
                allocations: try await records.allocations(familyId: familyId),
                contacts: try await records.contacts(familyId: familyId),
                notes: try await records.notes(familyId: familyId, access: access)
                    .map { .init(note: $0, redactionSuggested: $0.audience == .restricted) },
                conferences: try await records.conferences(familyId: familyId),
                plans: try await records.plans(familyId: familyId),
                familyMessages: try await records.familyMessages(familyId: familyId),
                audit: try await records.auditEvents(.family(familyId)))
        }
        return .ok(.init(body: .json(export)))
    }
}
