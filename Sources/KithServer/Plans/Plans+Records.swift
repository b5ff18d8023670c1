import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension Records {
    /// The plan's next version, with its items; every `who` must be in the family's network or a worker here.
    func save(_ plan: NewPlan, access: FamilyAccess) async throws -> Components.Schemas.FamilyPlan {
        let whos = Array(Set(plan.items.map(\.who)))
        var people = Set<UUID>()
        for try await person in try await query(
            "SELECT id FROM people WHERE organisation_id = \(principal.organisationId) AND family_id = \(access.familyId) AND id = ANY(\(whos))").decode(UUID.self) { people.insert(person) }
        var workers = Set<UUID>()
        for try await worker in try await query(
            "SELECT id FROM workers WHERE organisation_id = \(principal.organisationId) AND id = ANY(\(whos))").decode(UUID.self) { workers.insert(worker) }
        var check = Validation()
        for (index, item) in plan.items.enumerated() where !people.contains(item.who) && !workers.contains(item.who) {
            check.add("items[\(index)].who", "is neither someone in this family's network nor a worker here")
        }
        try check.orThrow()

        try await query("SELECT pg_advisory_xact_lock(hashtextextended(\(plan.conferenceId.text), 1))")
        try await connection.insertNew(
            """
            INSERT INTO family_plans (organisation_id, id, conference_id, family_id, version, contingency, review_on,
                                      agreed_by_referrer, referrer_reasoning, created_by)
            SELECT \(principal.organisationId), \(plan.id), \(plan.conferenceId), \(access.familyId), coalesce(max(version), 0) + 1,
                   \(plan.body.contingency.nilIfBlank), \(plan.reviewOn?.description)::date, \(plan.body.agreedByReferrer),
                   \(plan.body.referrerReasoning.nilIfBlank), \(principal.workerId)
            FROM family_plans WHERE organisation_id = \(principal.organisationId) AND conference_id = \(plan.conferenceId)
            """, record: "plan", logger: logger)
        let items = plan.items
        try await query(
            """
            INSERT INTO plan_items (organisation_id, id, plan_id, family_id, position, person_id, worker_id, what, by_when)
            SELECT \(principal.organisationId), i.id, \(plan.id), \(access.familyId), i.position,
                   CASE WHEN i.who = ANY(\(Array(people))) THEN i.who END,
                   CASE WHEN i.who = ANY(\(Array(people))) THEN NULL ELSE i.who END,
                   i.what, nullif(i.by_when, '')::date
            FROM unnest(\(items.map(\.id))::uuid[], \(items.map(\.who))::uuid[], \(items.map(\.what))::text[],
                        \(items.map { $0.byWhen?.description ?? "" })::text[])
                 WITH ORDINALITY AS i (id, who, what, by_when, position)
            """)
        if plan.body.carryOverItems == true {
            // The previous version's items still open (their latest status is neither done nor dropped), after these.
            try await query(
                """
                INSERT INTO plan_items (organisation_id, id, plan_id, family_id, position, person_id, worker_id, what, by_when)
                SELECT i.organisation_id, gen_random_uuid(), \(plan.id), i.family_id,
                       \(items.count) + row_number() OVER (ORDER BY i.position), i.person_id, i.worker_id, i.what, i.by_when
                FROM plan_items i
                WHERE i.organisation_id = \(principal.organisationId)
                  AND i.plan_id = (SELECT p.id FROM family_plans p
                                   WHERE p.organisation_id = \(principal.organisationId) AND p.conference_id = \(plan.conferenceId)
                                     AND p.id <> \(plan.id)
                                   ORDER BY p.version DESC LIMIT 1)
                  AND coalesce((SELECT u.status FROM plan_item_updates u
                                WHERE u.organisation_id = i.organisation_id AND u.plan_item_id = i.id AND u.status IS NOT NULL
                                ORDER BY u.created_at DESC, u.id DESC LIMIT 1), 'open') = 'open'
                """)
        }
        try await audit(.write, "plan", recordId: plan.id, access: access)
        return try await plans(of: [access.familyId], conferenceId: plan.conferenceId, only: [plan.id])[0]
    }

    func save(
        _ update: NewPlanItemUpdate, access: FamilyAccess
    ) async throws -> Components.Schemas.PlanItemUpdate {
        if let from = update.fromPersonId {
            try await requireMembers(personIds: [from], workerIds: [], familyId: access.familyId, personField: "fromPersonId")
        }
        let createdAt = try await query(
            """
            INSERT INTO plan_item_updates (organisation_id, id, plan_item_id, family_id, text, status, author_id, from_person_id)
            VALUES (\(principal.organisationId), \(update.id), \(update.planItemId), \(access.familyId), \(update.body.text),
                    \(update.body.status?.rawValue), \(principal.workerId), \(update.fromPersonId))
            ON CONFLICT DO NOTHING
            RETURNING created_at
            """).decode(Date.self).first { _ in true }
        guard let createdAt else { throw KithError.conflict("conflict", "An update with this id already exists.") }
        try await audit(.write, "planItemUpdate", recordId: update.id, access: access)
        return .init(
            id: update.id.text, planItemId: update.planItemId.text, text: update.body.text, status: update.body.status,
            authorId: principal.workerId.text, fromPersonId: update.fromPersonId?.text, createdAt: createdAt)
    }

    /// Plans of a family (or of one conference, or one plan), newest version first, with items and their progress.
    func plans(
        of families: [UUID], conferenceId: UUID? = nil, only ids: [UUID]? = nil
    ) async throws -> [Components.Schemas.FamilyPlan] {
        let org = principal.organisationId
        var updates: [UUID: [Components.Schemas.PlanItemUpdate]] = [:]
        for row in try await query(
            PlanItemUpdatesRead.self,
            """
            SELECT u.id, u.plan_item_id, u.text, u.status, u.author_id, u.person_id, u.from_person_id, u.created_at
            FROM plan_item_updates u JOIN plan_items i ON i.organisation_id = u.organisation_id AND i.id = u.plan_item_id
            WHERE u.organisation_id = \(org) AND u.family_id = ANY(\(families))
              AND (\(ids)::uuid[] IS NULL OR i.plan_id = ANY(\(ids)::uuid[]))
            ORDER BY u.created_at, u.id
            """) {
            let (uid, item, text, status, author, person, from, at) =
                try row.decode((UUID, UUID, String, String?, UUID?, UUID?, UUID?, Date).self)
            updates[item, default: []].append(.init(
                id: uid.text, planItemId: item.text, text: text, status: status.flatMap(Components.Schemas.PlanItemStatus.init(rawValue:)),
                authorId: author?.text, personId: person?.text, fromPersonId: from?.text, createdAt: at))
        }
        var items: [UUID: [Components.Schemas.PlanItem]] = [:]
        for row in try await query(
            PlanItemsRead.self,
            """
            SELECT id, plan_id, person_id, worker_id, what, by_when::text FROM plan_items
            WHERE organisation_id = \(org) AND family_id = ANY(\(families)) AND (\(ids)::uuid[] IS NULL OR plan_id = ANY(\(ids)::uuid[]))
            ORDER BY plan_id, position
            """) {
            let (iid, plan, person, worker, what, byWhen) = try row.decode((UUID, UUID, UUID?, UUID?, String, String?).self)
            let progress = updates[iid] ?? []
            items[plan, default: []].append(.init(
                id: iid.text, who: (person ?? worker!).text, whoKind: person != nil ? .person : .worker, what: what,
                byWhen: byWhen, status: progress.last(where: { $0.status != nil })?.status ?? .open, updates: progress))
        }
        var plans: [Components.Schemas.FamilyPlan] = []
        for row in try await query(
            PlansRead.self,
            """
            SELECT \(unescaped: PlanRow.columns)
            FROM family_plans
            WHERE organisation_id = \(org) AND family_id = ANY(\(families))
              AND (\(conferenceId)::uuid IS NULL OR conference_id = \(conferenceId)) AND (\(ids)::uuid[] IS NULL OR id = ANY(\(ids)::uuid[]))
            ORDER BY created_at DESC, version DESC
            """) {
            plans.append(try PlanRow.decode(row, items: items))
        }
        return plans
    }
}

/// A version of a family plan as `plans(…)` reads it, with its items.
enum PlanRow {
    static let columns = """
        id, family_id, conference_id, version, contingency, review_on::text AS review_on, agreed_by_referrer,
        referrer_reasoning, created_by, created_at
        """

    static func decode(_ row: PostgresRow, items: [UUID: [Components.Schemas.PlanItem]]) throws -> Components.Schemas.FamilyPlan {
        let row = row.makeRandomAccess()
        let id: UUID = try row.decode("id")
        return .init(
            id: id.text, conferenceId: try row.decode("conference_id", as: UUID.self).text,
            familyId: try row.decode("family_id", as: UUID.self).text, version: try row.decode("version"), items: items[id] ?? [],
            contingency: try row.decode("contingency"), reviewOn: try row.decode("review_on"),
            agreedByReferrer: try row.decode("agreed_by_referrer"), referrerReasoning: try row.decode("referrer_reasoning"),
            createdBy: try row.decode("created_by", as: UUID.self).text, createdAt: try row.decode("created_at"))
    }
}

/// The plans of a set of families, their items and the items' progress.
enum PlansRead: HotStatement {}
enum PlanItemsRead: HotStatement {}
enum PlanItemUpdatesRead: HotStatement {}
