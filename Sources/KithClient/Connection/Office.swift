import Foundation
import KithAPI
import OpenAPIRuntime

/// The work that needs the server now, because no copy of it lives on a device: allocating and reallocating,
/// supervision, a team's signals and review queue, devices, break-glass access, a family's audit trail and export,
/// and looking up colleagues and a team's families. Each answer is the record, or the server's refusal as the
/// `CommandError` the person is told.
package struct Office: Sendable {
    package let client: Client
    package let session: Session

    package init(client: Client, session: Session) {
        self.client = client
        self.session = session
    }

    // MARK: Looking up

    package func workers() async throws -> [Components.Schemas.Worker] {
        try await client.listWorkers().ok.body.json.items
    }

    /// A colleague by `me`, their email, a piece of their name or the start of their id, that only they match.
    package func worker(_ ref: String) async throws -> Components.Schemas.Worker {
        let workers = try await workers()
        if ref == "me", let me = workers.first(where: { $0.id == session.workerId }) { return me }
        return try Self.worker(ref, among: workers)
    }

    package static func worker(_ ref: String, among workers: [Components.Schemas.Worker]) throws -> Components.Schemas.Worker {
        let needle = ref.lowercased()
        if let exact = workers.first(where: { $0.email.lowercased() == needle || $0.name.lowercased() == needle || $0.id == needle }) {
            return exact
        }
        let matches = workers.filter { $0.id.hasPrefix(needle) || $0.name.lowercased().contains(needle) }
        guard matches.count == 1 else {
            throw CommandError.usage(
                "'\(ref)' matches \(matches.count) workers\(matches.isEmpty ? "" : ": " + matches.prefix(5).map(\.name).joined(separator: ", "))")
        }
        return matches[0]
    }

    /// The signed-in worker's teams, or the one `ref` names.
    package static func teams(_ ref: String?, from teams: [Components.Schemas.Team]) throws -> [Components.Schemas.Team] {
        guard !teams.isEmpty else { throw CommandError.usage("you are not in a team, so there is no team to show") }
        guard let ref else { return teams }
        let needle = ref.lowercased()
        let matches = teams.filter { $0.id.hasPrefix(needle) || $0.name.lowercased().contains(needle) }
        guard matches.count == 1 else {
            throw CommandError.usage("'\(ref)' matches \(matches.count) of your teams (\(teams.map(\.name).joined(separator: ", ")))")
        }
        return matches
    }

    /// The one team a command acts on: the only team the worker is in, or the one `ref` names.
    package static func team(_ ref: String?, from teams: [Components.Schemas.Team]) throws -> Components.Schemas.Team {
        let chosen = try self.teams(ref, from: teams)
        guard chosen.count == 1, let team = chosen.first else {
            throw CommandError.usage("you are in \(chosen.count) teams (\(teams.map(\.name).joined(separator: ", "))): say which with --team")
        }
        return team
    }

    /// The open families of the worker's teams.
    package func teamFamilies() async throws -> [Components.Schemas.Family] {
        var families: [Components.Schemas.Family] = []
        var after: String?
        repeat {
            let page = try await client.listFamilies(query: .init(scope: .team, status: .open, limit: 200, after: after)).ok.body.json
            families += page.items
            after = page.next
        } while after != nil
        return families
    }

    /// A family on this device, else among the team's (a supervisor's families need not be on the machine).
    package func family(_ ref: String, caseload: Caseload) async throws -> Components.Schemas.Family {
        if let here = try? caseload.family(ref) { return here }
        guard session.me.worker.roles.contains(.supervisor) else { return try caseload.family(ref) }
        return try Caseload.family(ref, among: try await teamFamilies())
    }

    // MARK: Families and allocations

    /// A new family of the worker's team; the server makes a practitioner or coordinator who opens it its worker.
    package func openFamily(_ family: Components.Schemas.CreateFamily) async throws -> Components.Schemas.Family {
        try await client.createFamily(body: .json(family)).created.body.json
    }

    package func allocate(
        _ family: Components.Schemas.Family, to worker: Components.Schemas.Worker, role: Components.Schemas.AllocationRole,
        on day: String
    ) async throws -> Components.Schemas.Allocation {
        try await client.createAllocation(
            path: .init(familyId: family.id), body: .json(.init(workerId: worker.id, role: role, startedOn: day))
        ).created.body.json
    }

    package func reallocate(
        _ family: Components.Schemas.Family, to worker: Components.Schemas.Worker, role: Components.Schemas.AllocationRole,
        reason: String, handoverNote: String?
    ) async throws -> Components.Schemas.Reallocation {
        try await client.reallocateFamily(
            path: .init(familyId: family.id),
            body: .json(.init(toWorkerId: worker.id, role: role, reason: reason, handoverNote: handoverNote))
        ).created.body.json
    }

    // MARK: Supervision and signals

    package func recordSupervision(
        with worker: Components.Schemas.Worker, on day: String, families: [Components.Schemas.Family], notes: String
    ) async throws -> Components.Schemas.SupervisionSession {
        try await client.createSupervisionSession(
            body: .json(.init(workerId: worker.id, heldOn: day, familyIds: families.map(\.id), notes: notes))
        ).created.body.json
    }

    package func supervisionSessions(of worker: Components.Schemas.Worker) async throws -> [Components.Schemas.SupervisionSession] {
        try await client.listSupervisionSessions(query: .init(workerId: worker.id)).ok.body.json.items
    }

    package func signalSettings(of team: Components.Schemas.Team) async throws -> Components.Schemas.SignalSettings {
        try await client.getSignalSettings(path: .init(teamId: team.id)).ok.body.json
    }

    /// The team's thresholds with `changes` (`noContactDays=21`) applied; the other thresholds stay as they are.
    package func setSignals(_ changes: [String], of team: Components.Schemas.Team) async throws -> Components.Schemas.SignalSettings {
        var settings = try await signalSettings(of: team)
        for change in changes {
            let parts = change.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let days = Int(parts[1]) else {
                throw CommandError.usage("'\(change)' is not NAME=NUMBER (for example noContactDays=21)")
            }
            switch parts[0] {
            case "noContactDays": settings.noContactDays = days
            case "childNotSeenDays": settings.childNotSeenDays = days
            case "planReviewOverdueDays": settings.planReviewOverdueDays = days
            case "workerChanges365": settings.workerChanges365 = days
            default:
                throw CommandError.usage(
                    "'\(parts[0])' is not a threshold: noContactDays, childNotSeenDays, planReviewOverdueDays or workerChanges365")
            }
        }
        return try await client.putSignalSettings(path: .init(teamId: team.id), body: .json(settings)).ok.body.json
    }

    /// Every open review item the server gives this worker: for a supervisor, their teams' too.
    package func reviewQueue() async throws -> [Components.Schemas.ReviewItem] {
        var items: [Components.Schemas.ReviewItem] = []
        var after: String?
        repeat {
            let page = try await client.listReviewItems(query: .init(limit: 200, after: after)).ok.body.json
            items += page.items
            after = page.next
        } while after != nil
        return items
    }

    // MARK: Devices

    package func devices() async throws -> [Components.Schemas.Device] {
        try await client.listDevices().ok.body.json.items
    }

    /// A device by the start of its id or a piece of its name, among those the worker may see.
    package func revokeDevice(_ ref: String) async throws -> Components.Schemas.Device {
        let needle = ref.lowercased()
        let matches = try await devices().filter { $0.id.hasPrefix(needle) || $0.name.lowercased().contains(needle) }
        guard matches.count == 1, let device = matches.first else {
            throw CommandError.usage("'\(ref)' matches \(matches.count) devices (`kith device list` shows them)")
        }
        _ = try await client.revokeDevice(path: .init(deviceId: device.id)).ok
        return device
    }

    // MARK: Break-glass, audit and export

    /// Break-glass to a family by its reference or name (on this device or, for a supervisor, in their teams) or by
    /// its id (a family with no relationship to the worker is on no list of theirs); then the family, now readable.
    /// Break-glass on a family by its id, by a reference or name of the worker's own caseload or teams, or by the
    /// reference the family finder gives for a family of the organisation they have no relationship with.
    package func openBreakGlass(
        _ ref: String, caseload: Caseload, reason: String
    ) async throws -> (Components.Schemas.Family, Components.Schemas.BreakGlassGrant) {
        let familyId: String
        if UUID(uuidString: ref) != nil {
            familyId = ref.lowercased()
        } else if let known = try? await family(ref, caseload: caseload) {
            familyId = known.id
        } else {
            let found = try await findFamilies(ref).filter { $0.reference?.lowercased() == ref.lowercased() }
            guard found.count == 1 else {
                throw CommandError.usage(
                    "no family has the reference '\(ref)'\(found.isEmpty ? "" : " alone"): `kith find NAME` shows families' references")
            }
            familyId = found[0].familyId
        }
        let grant: Components.Schemas.BreakGlassGrant = try await client.openBreakGlassAccess(
            path: .init(familyId: familyId), body: .json(.init(reason: reason))
        ).created.body.json
        return (try await client.getFamily(path: .init(familyId: familyId)).ok.body.json, grant)
    }

    // MARK: Search

    /// The notes the worker may read now that match `q`, best first, at most `limit` (pages of the server's search).
    package func searchNotes(_ q: String, familyId: String?, limit: Int) async throws -> [Components.Schemas.NoteSearchHit] {
        var hits: [Components.Schemas.NoteSearchHit] = []
        var cursor: String?
        repeat {
            let page = try await client.searchNotes(
                query: .init(q: q, familyId: familyId, limit: min(50, limit - hits.count), cursor: cursor)).ok.body.json
            hits += page.items
            cursor = page.nextCursor ?? nil
        } while cursor != nil && hits.count < limit
        return hits
    }

    /// Families of the organisation like `q`: their reference and name, and whether the worker relates to them.
    package func findFamilies(_ q: String) async throws -> [Components.Schemas.FoundFamily] {
        try await client.findFamilies(query: .init(q: q)).ok.body.json.items
    }

    /// The family's audit trail, newest first, up to `limit` events; `others`: without its allocated workers' own reads.
    package func audit(of family: Components.Schemas.Family, limit: Int, others: Bool = false) async throws -> [Components.Schemas.AuditEvent] {
        var events: [Components.Schemas.AuditEvent] = []
        var after: String?
        repeat {
            let page = try await client.getFamilyAudit(
                path: .init(familyId: family.id), query: .init(limit: min(200, limit), after: after, leaveOutAllocatedReads: others)
            ).ok.body.json
            events += page.items
            after = page.next
        } while after != nil && events.count < limit
        return Array(events.prefix(limit))
    }

    /// Break-glass openings of the team's families since a day (the server's default: 30 days).
    package func breakGlassOpenings(of team: Components.Schemas.Team, since day: String?) async throws -> [Components.Schemas.BreakGlassOpening] {
        try await client.listTeamBreakGlass(path: .init(teamId: team.id), query: .init(since: day)).ok.body.json.items
    }

    package func export(_ family: Components.Schemas.Family) async throws -> Components.Schemas.FamilyExport {
        try await client.exportFamily(path: .init(familyId: family.id)).ok.body.json
    }

    // MARK: Continuity

    package func continuity(of family: Components.Schemas.Family) async throws -> Components.Schemas.FamilyContinuity {
        try await client.getFamilyContinuity(path: .init(familyId: family.id)).ok.body.json
    }

    package func continuity(of worker: Components.Schemas.Worker) async throws -> Components.Schemas.WorkerContinuity {
        try await client.getWorkerContinuity(path: .init(workerId: worker.id)).ok.body.json
    }

    package func continuity(of team: Components.Schemas.Team) async throws -> Components.Schemas.TeamContinuity {
        try await client.getTeamContinuity(path: .init(teamId: team.id)).ok.body.json
    }

    // MARK: The family's page

    /// A new invitation for a person of the family's network: its link and the code to tell them in person.
    package func invite(_ person: Caseload.Person) async throws -> Components.Schemas.NewInvitation {
        try await client.invitePerson(path: .init(personId: person.id)).created.body.json
    }

    package func invitations(to family: Caseload.Family) async throws -> [Components.Schemas.Invitation] {
        try await client.listInvitations(path: .init(familyId: family.id)).ok.body.json.items
    }

    /// Withdraws the family's invitation whose id starts with `ref`; the family's invitations as they now stand.
    package func revokeInvitation(_ ref: String, to family: Caseload.Family) async throws -> [Components.Schemas.Invitation] {
        let invitations = try await invitations(to: family)
        let matches = invitations.filter { $0.id.hasPrefix(ref.lowercased()) }
        guard matches.count == 1, !ref.isEmpty else {
            throw CommandError.usage("'\(ref)' matches \(matches.count) of \(family.displayName)'s invitations")
        }
        let revoked: Components.Schemas.Invitation = try await client.revokeInvitation(path: .init(invitationId: matches[0].id)).ok.body.json
        return invitations.map { $0.id == revoked.id ? revoked : $0 }
    }

    // MARK: Review

    /// Settles a review item on the server now (a supervisor accepting or discarding what a device sent).
    package func resolve(
        _ item: Components.Schemas.PulledReviewItem, _ action: Components.Schemas.ResolveReviewItem.ActionPayload
    ) async throws {
        _ = try await client.resolveReviewItem(path: .init(reviewItemId: item.id), body: .json(.init(action: action))).ok
    }
}
