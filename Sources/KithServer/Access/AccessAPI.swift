import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// Break-glass: a worker outside the relationship opens a family's record with a stated reason. It is allowed,
/// time-boxed, audited, and visible in the family's audit feed to its allocated worker and supervisors.
extension KithService {
    func openBreakGlassAccess(_ input: Operations.OpenBreakGlassAccess.Input) async throws -> Operations.OpenBreakGlassAccess.Output {
        let principal = try Principal.required()
        let familyId = try UUID(path: input.path.familyId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.requiredText("reason", body.reason, max: 2000)
        if body.reason.trimmingWhitespace().count < 10 { check.add("reason", "must say why, in at least 10 characters") }
        try check.orThrow()

        let grant = try await records { records in
            try await records.openBreakGlass(
                access: try await records.access(familyId, for: .openBreakGlass), reason: body.reason, for: config.breakGlassLifetime)
        }
        logger.notice("break-glass access opened", metadata: ["worker": .string(principal.workerId.text), "family": .string(familyId.text)])
        return .created(.init(body: .json(grant)))
    }

    /// "Who viewed my family's record": the allocated worker and the team's supervisors.
    func getFamilyAudit(_ input: Operations.GetFamilyAudit.Input) async throws -> Operations.GetFamilyAudit.Output {
        let familyId = try UUID(path: input.path.familyId)
        let limit = try PageSize.resolve(input.query.limit)
        let position = AuditPosition(cursors: try cursors(), list: .familyAudit, principal: try Principal.required())
        let before = try position.parse(input.query.after)
        let page = try await records { records in
            _ = try await records.access(familyId, for: .readAudit)
            return try await records.auditPage(
                .family(familyId, leavingOutAllocatedReads: input.query.leaveOutAllocatedReads ?? false), before: before, limit: limit,
                position: position)
        }
        return .ok(.init(body: .json(page)))
    }

    /// Break-glass openings of a team's families, for the team's supervisors (a member who is not one hears 403).
    func listTeamBreakGlass(_ input: Operations.ListTeamBreakGlass.Input) async throws -> Operations.ListTeamBreakGlass.Output {
        let principal = try Principal.required()
        let team = try UUID(path: input.path.teamId)
        var check = Validation()
        let since = check.day("since", input.query.since) ?? CalendarDay.today.adding(days: -30)
        try check.orThrow()
        guard principal.supervises(team: team) else {
            guard principal.teamIds.contains(team) else { throw KithError.notFound }
            throw KithError.forbidden("Break-glass openings of a team are for its supervisors.")
        }
        let openings = try await records { try await $0.breakGlassOpenings(team: team, since: since) }
        return .ok(.init(body: .json(.init(items: openings))))
    }

    /// Who can read the team's families and why, for the periodic access review: the team's supervisors and
    /// administrators (a member who is not a supervisor hears 403, anyone else 404). Reading it is in the organisation's
    /// feed.
    func getTeamAccessReview(_ input: Operations.GetTeamAccessReview.Input) async throws -> Operations.GetTeamAccessReview.Output {
        let principal = try Principal.required()
        let team = try UUID(path: input.path.teamId)
        let entries = try await records { records in
            guard try await !records.teams(ids: [team]).isEmpty else { throw KithError.notFound }
            guard principal.supervises(team: team) || principal.has(.admin) else {
                guard principal.teamIds.contains(team) else { throw KithError.notFound }
                throw KithError.forbidden("A team's access review is for its supervisors and administrators.")
            }
            return try await records.accessReview(team: team)
        }
        return .ok(.init(body: .json(.init(items: entries))))
    }

    /// The organisation's own feed of administrative changes: administrators see all of it, supervisors their teams'.
    func getOrganisationAudit(_ input: Operations.GetOrganisationAudit.Input) async throws -> Operations.GetOrganisationAudit.Output {
        let principal = try Principal.required()
        let limit = try PageSize.resolve(input.query.limit)
        let position = AuditPosition(cursors: try cursors(), list: .organisationAudit, principal: principal)
        let before = try position.parse(input.query.after)
        let feed: AuditFeed
        if principal.has(.admin) { feed = .organisation(teams: nil) }
        else if principal.has(.supervisor) { feed = .organisation(teams: principal.teamIds) }
        else { throw KithError.forbidden("The organisation's audit feed is for administrators and supervisors.") }
        let page = try await records { try await $0.auditPage(feed, before: before, limit: limit, position: position) }
        return .ok(.init(body: .json(page)))
    }
}

/// Which audit events a page lists: one family's, or the organisation's administrative events (of some teams only).
enum AuditFeed {
    /// `leavingOutAllocatedReads`: "who else viewed this family", without its current allocated workers' own reads.
    case family(UUID, leavingOutAllocatedReads: Bool = false)
    case organisation(teams: [UUID]?)
}

/// `?after=` of an audit page: the id of the last event its caller saw, signed (`ListCursor`).
struct AuditPosition {
    let cursors: ListCursor
    let list: ListCursor.List
    let principal: Principal

    func parse(_ cursor: String?) throws -> Int64? {
        guard let keys = try cursors.read(cursor, keys: 1, list: list, for: principal) else { return nil }
        guard let id = Int64(keys[0]) else { throw ListCursor.notFromThisList() }
        return id
    }

    /// After the event whose id (as the page shows it) is `id`.
    func after(_ id: String) -> String { cursors.make([id], list: list, for: principal) }
}
