import Foundation
import KithAPI
import KithCore
import PostgresNIO

/// Which frictions a read is about.
enum FrictionSelection {
    /// What the caller told.
    case mine
    /// A team's, for its supervisors.
    case team(UUID)
    /// Those naming a family, as part of its record.
    case family(UUID)
    case one(UUID)
}

extension Records {
    /// What got in the way, told by the caller: answered by the named family's team, else by the caller's own team (the
    /// first by name when they are in several), and audited as a write of the family it names, or in the
    /// organisation's feed for the team when it names none.
    func save(_ friction: NewFriction, origin: WriteOrigin) async throws {
        var access: FamilyAccess?
        if let familyId = friction.familyId { access = try await self.access(familyId, for: .read) }
        let teamId = if let access { access.teamId } else { try await ownTeam() }
        let body = friction.body
        try await connection.insertNew(
            """
            INSERT INTO frictions (organisation_id, id, fell_on, text, kind, cost, did_it_anyway, family_id, team_id, filed_by, problem,
                                   recorded_at)
            VALUES (\(principal.organisationId), \(friction.id), 'worker', \(body.text), \(body.kind?.rawValue), \(body.cost),
                    \(body.didItAnyway?.rawValue), \(friction.familyId), \(teamId), \(principal.workerId),
                    \(try body.problem.map { try KithJSON.text($0) })::jsonb, coalesce(\(origin.deviceRecordedAt)::timestamptz, now()))
            """, record: "friction", logger: logger)
        if let access {
            try await audit(.write, "friction", recordId: friction.id, access: access)
        } else {
            try await auditAdministration("friction", recordId: friction.id, teamIds: teamId.map { [$0] } ?? [], reason: "what got in the way")
        }
    }

    /// The team a friction naming no family is told to: the caller's, the first by name.
    private func ownTeam() async throws -> UUID? {
        try await query(
            """
            SELECT t.id FROM team_members m JOIN teams t ON t.organisation_id = m.organisation_id AND t.id = m.team_id
            WHERE m.organisation_id = \(principal.organisationId) AND m.worker_id = \(principal.workerId)
            ORDER BY t.name, t.id LIMIT 1
            """).decode(UUID.self).first { _ in true }
    }

    /// Frictions with their events, newest first (at most 200), as the API shows them. Who may see them is the caller's
    /// to decide (`friction(_:)`, the handlers); reads of a family's are audited there.
    func frictions(_ selection: FrictionSelection, status: Components.Schemas.FrictionStatus? = nil) async throws -> [Components.Schemas.Friction] {
        var mine = false, team: UUID?, family: UUID?, one: UUID?
        switch selection {
        case .mine: mine = true
        case .team(let id): team = id
        case .family(let id): family = id
        case .one(let id): one = id
        }
        let rows = try await query(
            """
            SELECT json_strip_nulls(json_build_object(
                       'id', x.id, 'fellOn', x.fell_on, 'text', x.text, 'kind', x.kind, 'cost', x.cost, 'didItAnyway', x.did_it_anyway,
                       'familyId', x.family_id, 'teamId', x.team_id, 'filedBy', x.filed_by, 'problem', x.problem,
                       'recordedAt', to_char(x.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                       'createdAt', to_char(x.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                       'status', coalesce(ev.latest, 'open'), 'events', coalesce(ev.list, '[]')))::text
            FROM frictions x
            LEFT JOIN LATERAL (
                SELECT json_agg(json_build_object('id', e.id, 'kind', e.kind, 'text', e.text, 'by', e.recorded_by,
                                                  'at', to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
                                ORDER BY e.recorded_at, e.id) AS list,
                       (array_agg(e.kind ORDER BY e.recorded_at DESC, e.id DESC))[1] AS latest
                FROM friction_events e WHERE e.organisation_id = x.organisation_id AND e.friction_id = x.id) ev ON true
            WHERE x.organisation_id = \(principal.organisationId)
              AND (NOT \(mine) OR x.filed_by = \(principal.workerId))
              AND (\(team)::uuid IS NULL OR x.team_id = \(team))
              AND (\(family)::uuid IS NULL OR x.family_id = \(family))
              AND (\(one)::uuid IS NULL OR x.id = \(one))
              AND (\(status?.rawValue)::text IS NULL OR coalesce(ev.latest, 'open') = \(status?.rawValue))
            ORDER BY x.created_at DESC, x.id DESC
            LIMIT 200
            """)
        var frictions: [Components.Schemas.Friction] = []
        for try await json in rows.decode(String.self) { frictions.append(try KithJSON.decode(Components.Schemas.Friction.self, from: json)) }
        return frictions
    }

    /// One friction, for its teller, the supervisors of its team and, when it names one, whoever may read its family
    /// (a read of the family, audited); 404 for anyone else.
    func friction(_ id: UUID) async throws -> Components.Schemas.Friction {
        guard let friction = try await frictions(.one(id)).first else { throw KithError.notFound }
        if let family = friction.familyId.flatMap(UUID.init(uuidString:)) {
            if friction.filedBy == principal.workerId.text || supervisesTeam(of: friction) {
                try await audit(.read, "friction", recordId: id, familyIds: [family])
            } else {
                try await audit(.read, "friction", recordId: id, access: try await access(family, for: .read))
            }
        } else if friction.filedBy != principal.workerId.text && !supervisesTeam(of: friction) {
            throw KithError.notFound
        }
        return friction
    }

    func supervisesTeam(of friction: Components.Schemas.Friction) -> Bool {
        friction.teamId.flatMap(UUID.init(uuidString:)).map { principal.supervises(team: $0) } ?? false
    }

    /// A supervisor of the friction's team answers it: appended, and audited as a write of the family it names, or in
    /// the organisation's feed for the team.
    func save(_ event: FrictionEventDraft) async throws -> Components.Schemas.Friction {
        let friction = try await friction(event.frictionId)
        guard supervisesTeam(of: friction) else {
            throw KithError.forbidden("The supervisors of the team it was told to answer what got in the way.")
        }
        try await query(
            """
            INSERT INTO friction_events (organisation_id, id, friction_id, kind, text, recorded_by)
            VALUES (\(principal.organisationId), \(UUID()), \(event.frictionId), \(event.body.kind.rawValue), \(event.body.text),
                    \(principal.workerId))
            """)
        if let family = friction.familyId.flatMap(UUID.init(uuidString:)) {
            try await audit(.write, "frictionEvent", recordId: event.frictionId, familyIds: [family], reason: event.body.kind.rawValue)
        } else {
            try await auditAdministration(
                "frictionEvent", recordId: event.frictionId, teamIds: friction.teamId.flatMap(UUID.init(uuidString:)).map { [$0] } ?? [],
                reason: event.body.kind.rawValue)
        }
        return try await frictions(.one(event.frictionId))[0]
    }

    /// The caller's own frictions, or a team's for its supervisors: each naming a family audited as a read of it.
    func listedFrictions(_ selection: FrictionSelection, status: Components.Schemas.FrictionStatus?) async throws -> [Components.Schemas.Friction] {
        let frictions = try await frictions(selection, status: status)
        let families = Array(Set(frictions.compactMap { $0.familyId.flatMap(UUID.init(uuidString:)) }))
        if !families.isEmpty { try await audit(.read, "friction", familyIds: families) }
        return frictions
    }

    /// The organisation's frictions told from `from` to `to` (days in UTC), counted: no text, no teller, no family.
    func frictionSummary(from: CalendarDay, to: CalendarDay) async throws -> Components.Schemas.FrictionSummary {
        var byKind: [String?: Int] = [:], byTeam: [UUID?: (name: String?, count: Int)] = [:], anyway: [String: Int] = [:]
        var total = 0, fellOnFamily = 0
        for try await (kind, didItAnyway, family, team, name, count) in try await query(
            """
            SELECT x.kind, x.did_it_anyway, x.fell_on = 'family', x.team_id, t.name, count(*)::bigint FROM frictions x
            LEFT JOIN teams t ON t.organisation_id = x.organisation_id AND t.id = x.team_id
            WHERE x.organisation_id = \(principal.organisationId)
              AND (x.created_at AT TIME ZONE 'UTC')::date BETWEEN \(from.description)::date AND \(to.description)::date
            GROUP BY 1, 2, 3, 4, 5
            """).decode((String?, String?, Bool, UUID?, String?, Int).self) {
            total += count
            byKind[kind, default: 0] += count
            byTeam[team, default: (name, 0)].count += count
            anyway[didItAnyway ?? "unsaid", default: 0] += count
            if family { fellOnFamily += count }
        }
        var named: [Components.Schemas.FrictionSummary.NamedMostPayloadPayload] = []
        // Words are grouped by their English stem (interpreter, interpreters) and shown as most often written.
        for try await (kind, word, count) in try await query(
            """
            SELECT kind, word, frictions FROM (
                SELECT kind, mode() WITHIN GROUP (ORDER BY word) AS word, count(DISTINCT id) AS frictions,
                       row_number() OVER (PARTITION BY kind ORDER BY count(DISTINCT id) DESC, stem) AS place
                FROM (SELECT x.kind, x.id, w.word, (ts_lexize('english_stem', w.word))[1] AS stem
                      FROM frictions x
                      CROSS JOIN LATERAL (SELECT lower(m[1]) AS word FROM regexp_matches(x.text, '([[:alpha:]]{3,})', 'g') m) w
                      WHERE x.organisation_id = \(principal.organisationId) AND x.kind IN ('rule', 'system')
                        AND (x.created_at AT TIME ZONE 'UTC')::date BETWEEN \(from.description)::date AND \(to.description)::date) words
                WHERE stem IS NOT NULL
                GROUP BY kind, stem
                HAVING count(DISTINCT id) >= \(Self.namedWordFloor)::integer) ranked
            WHERE place <= 10
            ORDER BY kind, frictions DESC, word
            """).decode((String, String, Int).self) {
            if let kind = Components.Schemas.FrictionSummary.NamedMostPayloadPayload.KindPayload(rawValue: kind) {
                named.append(.init(kind: kind, word: word, frictions: count))
            }
        }
        // Most first; ties by name, so the answer is the same each time.
        let kinds: [Components.Schemas.FrictionSummary.ByKindPayloadPayload] = byKind
            .sorted { $0.value != $1.value ? $0.value > $1.value : ($0.key ?? "") < ($1.key ?? "") }
            .map { .init(kind: $0.key.flatMap(Components.Schemas.FrictionKind.init(rawValue:)), count: $0.value) }
        let teams: [Components.Schemas.FrictionSummary.ByTeamPayloadPayload] = byTeam
            .sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : ($0.value.name ?? "") < ($1.value.name ?? "") }
            .map { .init(teamId: $0.key?.text, name: $0.value.name, count: $0.value.count) }
        let done = Components.Schemas.FrictionSummary.DidItAnywayPayload(
            yes: anyway["yes"] ?? 0, no: anyway["no"] ?? 0, partly: anyway["partly"] ?? 0, unsaid: anyway["unsaid"] ?? 0)
        return .init(
            from: from.description, to: to.description, total: total, byKind: kinds, byTeam: teams, didItAnyway: done,
            fellOnFamily: fellOnFamily, namedMost: named)
    }

    /// A word of a friction's text is listed only when this many frictions name it, so a family's or a person's name
    /// told once does not show.
    static let namedWordFloor = 3
}
