import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension KithService {
    /// The caller's caseload (`mine`: current allocations) or, for supervisors, their teams' families.
    func listFamilies(_ input: Operations.ListFamilies.Input) async throws -> Operations.ListFamilies.Output {
        let principal = try Principal.required()
        let limit = try PageSize.resolve(input.query.limit)
        // The cursor holds the last family's id only, never its name (URLs end up in logs), signed for this caller:
        // the page goes on after the name of a family they were shown, never one they could not see.
        let cursors = try cursors()
        var after: UUID?
        if let keys = try cursors.read(input.query.after, keys: 1, list: .families, for: principal) {
            guard let id = UUID(uuidString: keys[0]) else { throw ListCursor.notFromThisList() }
            after = id
        }
        let teamScope = input.query.scope == .team
        if teamScope { try principal.require(.supervisor, "supervisors (a team's caseload)") }

        var families = try await records {
            try await $0.caseload(team: teamScope, status: input.query.status?.rawValue, after: after, limit: limit + 1)
        }
        var next: String?
        if families.count > limit {
            families.removeLast()
            next = families.last.map { cursors.make([$0.id], list: .families, for: principal) }
        }
        return .ok(.init(body: .json(.init(items: families, next: next))))
    }

    func createFamily(_ input: Operations.CreateFamily.Input) async throws -> Operations.CreateFamily.Output {
        let principal = try Principal.required()
        guard !principal.isAdminOnly else {
            throw KithError.forbidden("Administrators manage the organisation; families are opened by practitioners, coordinators and supervisors.")
        }
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        let id = check.uuid("id", body.id) ?? UUID()
        let requestedTeam = check.uuid("teamId", body.teamId)
        check.requiredText("displayName", body.displayName, max: 500)
        check.text("reference", body.reference, max: 100)
        check.text("reasonForInvolvement", body.reasonForInvolvement, max: 10_000)
        let openedOn = check.day("openedOn", body.openedOn)
        let teamId = requestedTeam ?? principal.teamIds.first
        if let teamId, !principal.teamIds.contains(teamId) { check.add("teamId", "must be one of your teams") }
        if teamId == nil { check.add("teamId", "is needed: you belong to no team") }
        try check.orThrow()

        // A practitioner or coordinator who opens a family is its worker from today; a supervisor allocates.
        let ownRole: AllocationRole? =
            principal.has(.practitioner) ? .allocatedWorker : principal.has(.coordinator) ? .coordinator : nil

        let family = try await records {
            try await $0.openFamily(
                id, team: teamId!, displayName: body.displayName, reference: body.reference.nilIfBlank,
                reasonForInvolvement: body.reasonForInvolvement, openedOn: openedOn, ownRole: ownRole)
        }
        return .created(.init(body: .json(family)))
    }

    func getFamily(_ input: Operations.GetFamily.Input) async throws -> Operations.GetFamily.Output {
        let id = try UUID(path: input.path.familyId)
        let family = try await readFamily(id, "family", recordId: id) { records, _ in
            var family = try await records.family(id)
            family.retention = try await records.retention(of: [id]).first?.retention
            return family
        }
        return .ok(.init(body: .json(family)))
    }

    func updateFamily(_ input: Operations.UpdateFamily.Input) async throws -> Operations.UpdateFamily.Output {
        let id = try UUID(path: input.path.familyId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        if let name = body.displayName { check.requiredText("displayName", name, max: 500) }
        check.text("reference", body.reference, max: 100)
        check.text("reasonForInvolvement", body.reasonForInvolvement, max: 10_000)
        let closedOn = check.day("closedOn", body.closedOn)
        try check.orThrow()

        let family = try await records { try await $0.update(family: id, body, closedOn: closedOn) }
        return .ok(.init(body: .json(family)))
    }
}
