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
                people: try await records.people(of: [familyId]),
                allocations: try await records.allocations(of: [familyId]),
                handovers: try await records.handoverVersions(in: familyId),
                contacts: try await records.contacts(of: [familyId]),
                notes: try await records.notes(of: [access])
                    .map { .init(note: $0, redactionSuggested: $0.audience == .restricted) },
                conferences: try await records.conferences(of: [familyId]),
                plans: try await records.plans(of: [familyId]),
                familyMessages: try await records.familyMessages(of: [familyId]),
                frictions: try await records.frictions(.family(familyId)),
                feedback: try await records.namedFeedback(.family(familyId)),
                audit: try await records.auditEvents(.family(familyId)))
        }
        return .ok(.init(body: .json(export)))
    }
}
