import Foundation
import KithAPI
import KithCore
import PostgresNIO

/// Kith's retention rules until an organisation sets its own: practice, not law, and editable
/// (`PUT /v1/organisation/retention-rules`).
enum RetentionDefaults {
    static let rules: [Components.Schemas.RetentionRule] = [
        .init(code: "childInNeed", description: "Family support and child in need: kept until the youngest child in focus is 25",
              anchor: .youngestChildBirth, years: 25),
        .init(code: "closedSevenYears", description: "Kept for seven years after the family's record is closed", anchor: .familyClosed, years: 7),
        .init(code: "inactiveSevenYears", description: "Kept for seven years after the last contact, note or word from the family",
              anchor: .lastActivity, years: 7),
    ]
}

/// A family's retention as computed now, with what identifies it for disposal.
struct FamilyRetentionFacts: Sendable {
    let retention: Components.Schemas.FamilyRetention
    let reference: String?
    let displayName: String
    let closedOn: CalendarDay?
}

extension Records {
    func retentionRules() async throws -> [Components.Schemas.RetentionRule] {
        let rows = try await query(
            "SELECT code, description, anchor, years FROM retention_rules WHERE organisation_id = \(principal.organisationId) ORDER BY position")
        var rules: [Components.Schemas.RetentionRule] = []
        for try await (code, description, anchor, years) in rows.decode((String, String, String, Int).self) {
            rules.append(.init(code: code, description: description, anchor: .init(rawValue: anchor)!, years: years))
        }
        return rules.isEmpty ? RetentionDefaults.rules : rules
    }

    /// Replaces the organisation's rules; a rule a family follows stays. Audited in the organisation's feed.
    func setRetentionRules(_ rules: [Components.Schemas.RetentionRule]) async throws {
        let inUse = try await query(
            """
            SELECT DISTINCT retention_rule FROM families
            WHERE organisation_id = \(principal.organisationId) AND retention_rule IS NOT NULL AND NOT retention_rule = ANY(\(rules.map(\.code)))
            """).collect().map { try $0.decode(String.self) }
        guard inUse.isEmpty else {
            throw KithError.conflict("rule_in_use", "Families follow \(inUse.sorted().joined(separator: ", ")): choose another rule for them first.")
        }
        try await query("DELETE FROM retention_rules WHERE organisation_id = \(principal.organisationId)")
        try await query(
            """
            INSERT INTO retention_rules (organisation_id, code, position, description, anchor, years)
            SELECT \(principal.organisationId), r.code, r.position, r.description, r.anchor, r.years
            FROM unnest(\(rules.map(\.code)), \(Array(rules.indices)), \(rules.map(\.description)), \(rules.map(\.anchor.rawValue)),
                        \(rules.map(\.years))) AS r(code, position, description, anchor, years)
            """)
        try await auditAdministration("retentionRules", recordId: nil, reason: rules.map { "\($0.code): \($0.years) years from \($0.anchor.rawValue)" }.joined(separator: "; "))
    }

    /// Each family's retention now (the families asked for, or, with `closedOnly`, every closed family): its rule,
    /// the day it is kept until, and what holds it.
    func retention(of familyIds: [UUID]?, closedOnly: Bool = false) async throws -> [FamilyRetentionFacts] {
        let rules = try await retentionRules()
        let rows = try await query(
            """
            SELECT f.id, f.reference, f.display_name, f.closed_on::text, f.retention_rule,
                   (SELECT max(p.date_of_birth) FROM people p
                    WHERE p.organisation_id = f.organisation_id AND p.family_id = f.id AND p.is_child_in_focus)::text AS youngest,
                   (greatest((SELECT max(c.occurred_at) FROM contacts c WHERE c.organisation_id = f.organisation_id AND c.family_id = f.id),
                             (SELECT max(n.created_at) FROM notes n WHERE n.organisation_id = f.organisation_id AND n.family_id = f.id),
                             (SELECT max(m.created_at) FROM family_messages m WHERE m.organisation_id = f.organisation_id AND m.family_id = f.id),
                             f.created_at) AT TIME ZONE 'UTC')::date::text AS last_activity,
                   (SELECT coalesce(json_agg(json_build_object(
                               'kind', h.kind, 'id', h.id, 'reason', h.reason,
                               'since', to_char(h.since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) ORDER BY h.since, h.id), '[]')
                    FROM family_holds h WHERE h.organisation_id = f.organisation_id AND h.family_id = f.id)::text AS holds
            FROM families f
            WHERE f.organisation_id = \(principal.organisationId) AND (\(familyIds)::uuid[] IS NULL OR f.id = ANY(\(familyIds)::uuid[]))
              AND (NOT \(closedOnly) OR f.closed_on IS NOT NULL)
            """)
        var facts: [FamilyRetentionFacts] = []
        for try await row in rows {
            let row = row.makeRandomAccess()
            let chosen: String? = try row.decode("retention_rule")
            guard let rule = rules.first(where: { $0.code == chosen }) ?? rules.first else { continue }
            let closedOn = try row.decode("closed_on", as: String?.self).flatMap(CalendarDay.init)
            let from: CalendarDay? = switch rule.anchor {
            case .youngestChildBirth: try row.decode("youngest", as: String?.self).flatMap(CalendarDay.init)
            case .familyClosed: closedOn
            case .lastActivity: try row.decode("last_activity", as: String?.self).flatMap(CalendarDay.init)
            }
            let id: UUID = try row.decode("id")
            facts.append(FamilyRetentionFacts(
                retention: .init(
                    familyId: id.text, rule: rule.code, retainUntil: from?.sameDay(monthsLater: 12 * rule.years).description,
                    holds: try KithJSON.decode([Components.Schemas.FamilyRetention.HoldsPayloadPayload].self, from: try row.decode("holds"))),
                reference: try row.decode("reference"), displayName: try row.decode("display_name"), closedOn: closedOn))
        }
        return facts
    }

    /// The rule a family follows, chosen by an information-governance officer (who reads nothing else of it).
    func chooseRetentionRule(_ code: String, for familyId: UUID) async throws -> Components.Schemas.FamilyRetention {
        guard try await retentionRules().contains(where: { $0.code == code }) else {
            throw KithError.invalidField("rule", "is not one of the organisation's retention rules")
        }
        try await query(
            "UPDATE families SET retention_rule = \(code) WHERE organisation_id = \(principal.organisationId) AND id = \(familyId)")
        guard let retention = try await retention(of: [familyId]).first?.retention else { throw KithError.notFound }
        try await audit(.write, "retentionRule", recordId: familyId, familyIds: [familyId], reason: code)
        return retention
    }

    /// Closed families past their retention with nothing holding them, longest overdue first.
    func disposalDue() async throws -> [Components.Schemas.DisposalDue.ItemsPayloadPayload] {
        let today = CalendarDay.today
        return try await retention(of: nil, closedOnly: true).compactMap { facts in
            guard let until = facts.retention.retainUntil.flatMap(CalendarDay.init), until < today, facts.retention.holds.isEmpty,
                  let closedOn = facts.closedOn
            else { return nil }
            return .init(
                familyId: facts.retention.familyId, reference: facts.reference, displayName: facts.displayName, rule: facts.retention.rule,
                retainUntil: until.description, closedOn: closedOn.description)
        }.sorted { ($0.retainUntil, $0.familyId) < ($1.retainUntil, $1.familyId) }
    }

    func placeHold(familyId: UUID?, teamId: UUID?, reason: String) async throws -> Components.Schemas.LegalHold {
        if let familyId, try await retention(of: [familyId]).isEmpty { throw KithError.notFound }
        if let teamId {
            let known = try await query("SELECT count(*) FROM teams WHERE organisation_id = \(principal.organisationId) AND id = \(teamId)")
                .decode(Int.self).first { _ in true } ?? 0
            guard known == 1 else { throw KithError.notFound }
        }
        let id = UUID()
        try await query(
            """
            INSERT INTO legal_holds (organisation_id, id, family_id, team_id, reason, placed_by)
            VALUES (\(principal.organisationId), \(id), \(familyId), \(teamId), \(reason), \(principal.workerId))
            """)
        if let familyId {
            try await audit(.write, "legalHold", recordId: id, familyIds: [familyId], reason: reason)
        } else {
            try await auditAdministration("legalHold", recordId: id, teamIds: teamId.map { [$0] } ?? [], reason: reason)
        }
        return try await holds(only: id)[0]
    }

    func releaseHold(_ id: UUID, reason: String) async throws -> Components.Schemas.LegalHold {
        try await query("SELECT pg_advisory_xact_lock(hashtextextended(\(id.text), 0))")
        guard let hold = try await holds(only: id).first else { throw KithError.notFound }
        guard hold.released == nil else { throw KithError.conflict("already_released", "This hold was released already.") }
        try await query(
            """
            INSERT INTO legal_hold_releases (organisation_id, hold_id, reason, released_by)
            VALUES (\(principal.organisationId), \(id), \(reason), \(principal.workerId))
            """)
        if let family = hold.familyId.flatMap(UUID.init(uuidString:)) {
            try await audit(.write, "legalHoldRelease", recordId: id, familyIds: [family], reason: reason)
        } else {
            try await auditAdministration("legalHoldRelease", recordId: id, teamIds: hold.teamId.flatMap(UUID.init(uuidString:)).map { [$0] } ?? [], reason: reason)
        }
        return try await holds(only: id)[0]
    }

    /// Holds, open ones first, newest first.
    func holds(only id: UUID? = nil) async throws -> [Components.Schemas.LegalHold] {
        let rows = try await query(
            """
            SELECT l.id, l.family_id, l.team_id, l.reason, l.placed_by, l.placed_at, r.released_by, r.released_at, r.reason AS release_reason
            FROM legal_holds l
            LEFT JOIN legal_hold_releases r ON r.organisation_id = l.organisation_id AND r.hold_id = l.id
            WHERE l.organisation_id = \(principal.organisationId) AND (\(id)::uuid IS NULL OR l.id = \(id))
            ORDER BY r.hold_id IS NOT NULL, l.placed_at DESC, l.id
            LIMIT 1000
            """)
        var holds: [Components.Schemas.LegalHold] = []
        for try await row in rows {
            let row = row.makeRandomAccess()
            holds.append(.init(
                id: try row.decode("id", as: UUID.self).text, familyId: try row.decode("family_id", as: UUID?.self)?.text,
                teamId: try row.decode("team_id", as: UUID?.self)?.text, reason: try row.decode("reason"),
                placedBy: try row.decode("placed_by", as: UUID.self).text, placedAt: try row.decode("placed_at"),
                released: try row.decode("released_by", as: UUID?.self).map { by in
                    .init(by: by.text, at: try row.decode("released_at"), reason: try row.decode("release_reason"))
                }))
        }
        return holds
    }
}
