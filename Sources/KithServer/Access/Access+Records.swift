import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension Records {
    /// Recorded, with its reason in the family's audit feed; it lasts `lifetime`.
    func openBreakGlass(access: FamilyAccess, reason: String, for lifetime: Duration) async throws -> Components.Schemas.BreakGlassGrant {
        let id = UUID()
        let openedAt = Date()
        let expiresAt = openedAt.addingTimeInterval(TimeInterval(lifetime.components.seconds))
        try await query(
            """
            INSERT INTO break_glass_grants (organisation_id, id, family_id, worker_id, reason, opened_at, expires_at)
            VALUES (\(principal.organisationId), \(id), \(access.familyId), \(principal.workerId), \(reason), \(openedAt), \(expiresAt))
            """)
        try await audit(.breakGlass, "family", recordId: access.familyId, access: access, reason: reason)
        return .init(id: id.text, familyId: access.familyId.text, reason: reason, openedAt: openedAt, expiresAt: expiresAt)
    }

    /// Openings of the team's families since a day, newest first; reading them is audited against each family.
    func breakGlassOpenings(team: UUID, since: CalendarDay) async throws -> [Components.Schemas.BreakGlassOpening] {
        let rows = try await query(
            """
            SELECT g.id, g.family_id, f.display_name, g.worker_id, w.name, g.reason, g.opened_at, g.expires_at
            FROM break_glass_grants g
            JOIN families f ON f.organisation_id = g.organisation_id AND f.id = g.family_id
            JOIN workers w ON w.organisation_id = g.organisation_id AND w.id = g.worker_id
            WHERE g.organisation_id = \(principal.organisationId) AND f.team_id = \(team)
              AND g.opened_at >= \(since.description)::date
            ORDER BY g.opened_at DESC, g.id
            """)
        var openings: [Components.Schemas.BreakGlassOpening] = []
        for try await (id, family, familyName, worker, workerName, reason, openedAt, expiresAt) in rows.decode(
            (UUID, UUID, String, UUID, String, String, Date, Date).self)
        {
            openings.append(.init(
                id: id.text, familyId: family.text, familyName: familyName, workerId: worker.text, workerName: workerName,
                reason: reason, openedAt: openedAt, expiresAt: expiresAt))
        }
        let families = Array(Set(openings.map(\.familyId))).compactMap(UUID.init(uuidString:))
        if !families.isEmpty { try await audit(.read, "breakGlass", familyIds: families) }
        return openings
    }

    /// Who can read the team's families today and why: its supervisors, current allocations, open break-glass.
    func accessReview(team: UUID) async throws -> [Components.Schemas.AccessReviewEntry] {
        let rows = try await query(
            """
            SELECT w.id, w.name, 'supervisor', NULL::uuid, NULL::text, NULL::timestamptz
            FROM team_members tm JOIN workers w ON w.organisation_id = tm.organisation_id AND w.id = tm.worker_id
            WHERE tm.organisation_id = \(principal.organisationId) AND tm.team_id = \(team) AND 'supervisor' = ANY(w.roles)
              AND (w.left_on IS NULL OR w.left_on > current_date)
            UNION ALL
            SELECT w.id, w.name, 'allocation', a.family_id, a.role, NULL
            FROM current_allocations a
            JOIN families f ON f.organisation_id = a.organisation_id AND f.id = a.family_id
            JOIN workers w ON w.organisation_id = a.organisation_id AND w.id = a.worker_id
            WHERE a.organisation_id = \(principal.organisationId) AND f.team_id = \(team)
            UNION ALL
            SELECT w.id, w.name, 'breakGlass', g.family_id, NULL, g.expires_at
            FROM break_glass_grants g
            JOIN families f ON f.organisation_id = g.organisation_id AND f.id = g.family_id
            JOIN workers w ON w.organisation_id = g.organisation_id AND w.id = g.worker_id
            WHERE g.organisation_id = \(principal.organisationId) AND f.team_id = \(team) AND g.expires_at > now()
            ORDER BY 2, 1, 3, 4
            """)
        var entries: [Components.Schemas.AccessReviewEntry] = []
        for try await (worker, name, reason, family, role, until) in rows.decode((UUID, String, String, UUID?, String?, Date?).self) {
            entries.append(.init(
                workerId: worker.text, workerName: name, reason: .init(rawValue: reason) ?? .allocation, familyId: family?.text,
                allocationRole: role.flatMap(Components.Schemas.AccessReviewEntry.AllocationRolePayload.init(rawValue:)), until: until))
        }
        try await auditAdministration("accessReview", recordId: team, teamIds: [team], reason: "access review read")
        return entries
    }

    func auditPage(_ feed: AuditFeed, before: Int64?, limit: Int, position: AuditPosition) async throws -> Components.Schemas.AuditPage {
        let events = try await auditEvents(feed, before: before, limit: limit + 1)
        let next = events.count > limit ? events[limit - 1].id : nil
        return .init(items: Array(events.prefix(limit)), next: next.map(position.after))
    }

    /// Newest first; `before` is the id of the last event a client saw.
    func auditEvents(_ feed: AuditFeed, before: Int64? = nil, limit: Int? = nil) async throws -> [Components.Schemas.AuditEvent] {
        let family: UUID? = if case .family(let id, _) = feed { id } else { nil }
        let leaveOut = if case .family(_, let leaving) = feed { leaving } else { false }
        let teams: [UUID]? = if case .organisation(let teams) = feed { teams } else { nil }
        let rows = try await query(
            """
            SELECT \(unescaped: AuditEventRow.columns)
            FROM audit_events e
            LEFT JOIN workers w ON w.organisation_id = e.organisation_id AND w.id = e.worker_id
            LEFT JOIN people p ON p.organisation_id = e.organisation_id AND p.id = e.person_id
            LEFT JOIN scim_tokens t ON t.organisation_id = e.organisation_id AND t.id = e.scim_token_id
            WHERE e.organisation_id = \(principal.organisationId)
              AND (\(family)::uuid IS NULL AND e.family_id IS NULL OR e.family_id = \(family))
              AND (\(teams == nil) OR e.team_id = ANY(\(teams ?? [])))
              AND (\(before)::bigint IS NULL OR e.id < \(before))
              AND NOT (\(leaveOut) AND e.action = 'read' AND e.worker_id IN (
                  SELECT a.worker_id FROM current_allocations a
                  WHERE a.organisation_id = e.organisation_id AND a.family_id = e.family_id AND a.role = 'allocatedWorker'))
            ORDER BY e.id DESC
            LIMIT \(limit)
            """)
        var events: [Components.Schemas.AuditEvent] = []
        for try await row in rows { events.append(try AuditEventRow.decode(row)) }
        return events
    }
}

/// An audit event with the names of who acted and about whom, read by name.
enum AuditEventRow {
    static let columns = """
        e.id, e.at, e.worker_id, w.name AS worker_name, e.person_id, p.name AS person_name, e.scim_token_id,
        t.name AS scim_token_name, e.action, e.entity, e.record_id, e.reason, e.break_glass, e.team_id, e.subject_access_request_id,
        e.search_length, e.search_hits
        """

    static func decode(_ row: PostgresRow) throws -> Components.Schemas.AuditEvent {
        let row = row.makeRandomAccess()
        return .init(
            id: String(try row.decode("id", as: Int64.self)), at: try row.decode("at"),
            workerId: try row.decode("worker_id", as: UUID?.self)?.text, workerName: try row.decode("worker_name"),
            personId: try row.decode("person_id", as: UUID?.self)?.text, personName: try row.decode("person_name"),
            scimTokenId: try row.decode("scim_token_id", as: UUID?.self)?.text, scimTokenName: try row.decode("scim_token_name"),
            action: .init(rawValue: try row.decode("action")) ?? .read, entity: try row.decode("entity"),
            recordId: try row.decode("record_id", as: UUID?.self)?.text, teamId: try row.decode("team_id", as: UUID?.self)?.text,
            reason: try row.decode("reason"), breakGlass: try row.decode("break_glass"),
            subjectAccessRequestId: try row.decode("subject_access_request_id", as: UUID?.self)?.text,
            search: try row.decode("search_length", as: Int?.self).map { .init(length: $0, hits: try row.decode("search_hits")) })
    }
}
