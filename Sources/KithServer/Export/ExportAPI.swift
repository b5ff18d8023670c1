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
        let export = try await transaction { connection in
            let access = try await connection.familyAccess(familyId, for: principal, logger: logger)
            guard access.allocationRole == .allocatedWorker || access.supervisesTeam else {
                throw KithError.forbidden("A family's record is exported by its allocated worker or a supervisor.")
            }
            try await connection.audit(.export, "family", recordId: familyId, access: access, principal: principal, logger: logger)
            return Components.Schemas.FamilyExport(
                exportedAt: Date(),
                family: try await connection.family(familyId, principal: principal, logger: logger),
                people: try await connection.people(familyId: familyId, principal: principal, logger: logger),
                allocations: try await connection.allocations(familyId: familyId, principal: principal, logger: logger),
                contacts: try await connection.contacts(familyId: familyId, principal: principal, logger: logger),
                notes: try await connection.notes(familyId: familyId, access: access, principal: principal, logger: logger)
                    .map { .init(note: $0, redactionSuggested: $0.audience == .restricted) },
                conferences: try await connection.conferences(familyId: familyId, principal: principal, logger: logger),
                plans: try await connection.plans(familyId: familyId, principal: principal, logger: logger),
                audit: try await connection.auditEvents(familyId: familyId, principal: principal, logger: logger))
        }
        return .ok(.init(body: .json(export)))
    }
}
