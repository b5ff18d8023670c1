import Foundation
import KithCore

/// What a caller may do with one family's record, decided in this one place. Every gate asks it: REST handlers, sync
/// push and pull, review items and exports (through `Records.access`).
///
/// Access follows relationships: a current allocation, supervising the family's team, or open break-glass access.
/// Without one, the family answers exactly like a family that does not exist. An administrator without another role
/// manages the organisation and reads no case content, so every family answers 404 to them.
enum FamilyAction: Sendable {
    case read, write, allocate, export, readAudit
    /// Inviting a member of the network to the family's page, or revoking an invitation.
    case invite
    /// Break-glass: never refused for want of a relationship (that is what it is for), only to administrators.
    case openBreakGlass
}

/// How the caller relates to one family, as established in the transaction that uses it.
struct FamilyAccess: Sendable {
    let familyId: UUID
    let teamId: UUID
    let allocationRole: AllocationRole?
    let supervisesTeam: Bool
    let breakGlass: Bool
    let adminOnly: Bool

    /// Allocated or supervising: the relationship itself, without break-glass.
    var hasRelationship: Bool { !adminOnly && (allocationRole != nil || supervisesTeam) }

    /// Whether the caller may do `action`, counting break-glass or not.
    func allows(_ action: FamilyAction, throughBreakGlass: Bool = true) -> Bool {
        guard !adminOnly else { return false }
        let glass = throughBreakGlass && breakGlass
        switch action {
        case .read, .write: return hasRelationship || glass
        case .allocate: return supervisesTeam
        case .export, .readAudit, .invite: return allocationRole == .allocatedWorker || supervisesTeam
        case .openBreakGlass: return true
        }
    }

    /// Whether the caller sees the family at all (and so hears 403 rather than 404 for what they may not do). Break-glass
    /// not opened yet does not count.
    var seesFamily: Bool { allows(.read) }

    /// Restricted notes: the allocated worker, the team's supervisors, and break-glass (their author always, per note).
    func seesRestricted(throughBreakGlass: Bool = true) -> Bool {
        !adminOnly && (allocationRole == .allocatedWorker || supervisesTeam || (throughBreakGlass && breakGlass))
    }

    var seesRestricted: Bool { seesRestricted() }

    /// A note or a contact is corrected (a note withdrawn, refiled or its audience changed; a contact corrected or
    /// withdrawn) by whoever wrote it while they may write to the family, or by the family's supervisors; nobody else,
    /// whatever else they may write.
    func mayCorrect(recordBy author: UUID, caller: UUID) -> Bool {
        allows(.write) && (author == caller || supervisesTeam)
    }

    /// The read or write needs break-glass for what it touches: the audit trail marks it `breakGlass: true`.
    func needsBreakGlass(_ action: FamilyAction, restricted: Bool = false) -> Bool {
        if !allows(action, throughBreakGlass: false) { return true }
        return restricted && !seesRestricted(throughBreakGlass: false)
    }

    /// The answer for a caller who may not do `action`: 403 when they see the family, 404 (as for no family) otherwise.
    func refusal(_ action: FamilyAction) -> KithError {
        guard seesFamily else { return .notFound }
        return switch action {
        case .allocate: .forbidden("Only the family's team supervisors allocate workers.")
        case .export: .forbidden("A family's record is exported by its allocated worker or a supervisor.")
        case .readAudit: .forbidden("The audit trail is for the allocated worker and the team's supervisors.")
        case .invite: .forbidden("The family's allocated worker or a supervisor of its team invites people to the family's page.")
        case .read, .write, .openBreakGlass: .notFound
        }
    }

    /// Whether a review item about this family may be shown to the caller: they must be able to read everything it
    /// carries through their relationship (never through break-glass alone), and be one it is for.
    func receives(_ item: ReviewItemAddress) -> Bool {
        guard hasRelationship else { return false }
        if item.carriesRestricted && !seesRestricted(throughBreakGlass: false) && !item.isOwnWork { return false }
        if supervisesTeam { return true }
        switch item.kind {
        case .late, .proposal, .conflict, .familyWords, .handover: return item.isRecipient
        case .rejected: return item.isOwnWork
        case .quarantined, .accessGranted, .incident: return false
        }
    }
}

/// Where a search of notes may look: the policy above, for every family the caller may read at once. A supervisor
/// reads every family of the teams they supervise, restricted notes too (`FamilyAccess` with `supervisesTeam`), so
/// those are given as teams, not as thousands of families; every other family the caller relates to (an allocation,
/// open break-glass) is judged one by one. `SearchScopeTests` holds this to `FamilyAccess` for every kind of caller.
struct ReadingScope: Sendable {
    /// Every family of these teams: its notes, restricted ones too.
    let teams: [UUID]
    /// These families' notes.
    let families: [UUID]
    /// Of `families`, those whose restricted notes the caller sees.
    let restrictedFamilies: [UUID]

    init(_ principal: Principal, relationships: some Sequence<FamilyAccess>) {
        teams = principal.isAdminOnly ? [] : principal.teamIds.filter(principal.supervises(team:))
        let readable = relationships.filter { $0.allows(.read) }
        families = readable.map(\.familyId)
        restrictedFamilies = readable.filter(\.seesRestricted).map(\.familyId)
    }
}

extension Principal {
    /// Who may be allocated to a family, and by whom: an administrator-only account never is (it manages the
    /// organisation and reads no case content), and an administrator does not allocate themselves.
    func checkAllocating(_ workerId: UUID, roles: Set<Role>) throws {
        guard roles != [.admin] else {
            throw KithError.invalidField("workerId", "is an administrator's account, which is not allocated to families")
        }
        if workerId == self.workerId, has(.admin) {
            throw KithError.forbidden("An administrator does not allocate themselves; another supervisor does.")
        }
    }
}

/// What decides who a review item is for, as `FamilyAccess.receives` and `Principal.receives` need it.
struct ReviewItemAddress: Sendable {
    let kind: ReviewItemKind
    let carriesRestricted: Bool
    /// Named among the item's recipients when it was made.
    let isRecipient: Bool
    /// The caller's own device pushed the work the item carries.
    let isOwnWork: Bool
    /// The teams of the worker whose device pushed it, today.
    let ownerTeams: [UUID]
    /// The team an item about the team itself is for (a grant of case access), and the worker it is about.
    var team: UUID? = nil
    var aboutWorker: UUID? = nil
}

extension Principal {
    /// A review item naming no family: for the supervisors of the device owner's teams, and a rejection also for the
    /// worker whose own work it is. A grant of case access is for the supervisors of its team but the worker it names.
    func receives(_ item: ReviewItemAddress) -> Bool {
        if item.kind == .accessGranted {
            return item.team.map(supervises(team:)) == true && item.aboutWorker != workerId
        }
        if item.ownerTeams.contains(where: supervises(team:)) { return true }
        return item.kind == .rejected && item.isOwnWork
    }
}

/// A member of a family's network on the family's page: a principal of their own, never a worker, who reaches only
/// their family's page (nothing under `/v1`) and reads only what was written for the family there.
struct FamilyMember: Sendable {
    let organisationId: UUID
    let sessionId: UUID
    let invitationId: UUID
    let familyId: UUID
    let personId: UUID

    /// The one audience a family member reads: notes written for the family. Professional and restricted notes,
    /// other people's contact details, continuity measures and the audit trail never reach the page.
    static let noteAudience = "family"
}
