import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// A family's whole record for a subject access request: every revision of every note (restricted ones flagged
/// for redaction, not removed), and the audit of who accessed it.
extension KithService {
    func exportFamily(_ input: Operations.ExportFamily.Input) async throws -> Operations.ExportFamily.Output {
        let principal = try Principal.required()
        let familyId = try UUID(path: input.path.familyId)
        let export = try await records { records in
            let access = try await records.access(familyId, for: .read)
            guard access.allocationRole == .allocatedWorker || access.supervisesTeam else {
                throw KithError.forbidden("A family's record is exported by its allocated worker or a supervisor.")
            }
            try await records.audit(.export, "family", recordId: familyId, access: access)
            return Components.Schemas.FamilyExport(
                exportedAt: Date(),
                family: try await records.connection.family(familyId, principal: principal, logger: logger),
                people: try await records.connection.people(familyId: familyId, principal: principal, logger: logger),
                allocations: try await records.connection.allocations(familyId: familyId, principal: principal, logger: logger),
                contacts: try await records.connection.contacts(familyId: familyId, principal: principal, logger: logger),
                notes: try await records.connection.notes(familyId: familyId, access: access, principal: principal, logger: logger)
                    .map { .init(note: $0, redactionSuggested: $0.audience == .restricted) },
                conferences: try await records.connection.conferences(familyId: familyId, principal: principal, logger: logger),
                plans: try await records.connection.plans(familyId: familyId, principal: principal, logger: logger),
                audit: try await records.connection.auditEvents(familyId: familyId, principal: principal, logger: logger))
        }
        return .ok(.init(body: .json(export)))
    }
}
