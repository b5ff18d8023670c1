import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// The family plan belongs to named people in the network: each item says who does what. Plans are versioned
/// (a change is a new version) and progress is appended, in the family's and the worker's words.
extension KithService {
    func listPlans(_ input: Operations.ListPlans.Input) async throws -> Operations.ListPlans.Output {
        let conferenceId = try UUID(path: input.path.conferenceId)
        let plans = try await records { records in
            let access = try await records.conferenceAccess(conferenceId)
            try await records.audit(.read, "plans", recordId: conferenceId, access: access)
            return try await records.plans(familyId: access.familyId, conferenceId: conferenceId)
        }
        return .ok(.init(body: .json(.init(items: plans))))
    }

    func createPlan(_ input: Operations.CreatePlan.Input) async throws -> Operations.CreatePlan.Output {
        let principal = try Principal.required()
        let conferenceId = try UUID(path: input.path.conferenceId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        let id = check.uuid("id", body.id) ?? UUID()
        check.count("items", body.items.count, max: 200)
        let items = body.items.enumerated().map { index, item in
            let itemId = check.uuid("items[\(index)].id", item.id) ?? UUID()
            let who = check.uuid("items[\(index)].who", item.who)
            check.requiredText("items[\(index)].what", item.what, max: 10_000)
            let byWhen = check.day("items[\(index)].byWhen", item.byWhen)
            return (id: itemId, who: who, what: item.what, byWhen: byWhen)
        }
        check.text("contingency", body.contingency, max: 65_536)
        let reviewOn = check.day("reviewOn", body.reviewOn)
        check.text("referrerReasoning", body.referrerReasoning, max: 65_536)
        try check.orThrow()

        let plan = try await records { records in
            let access = try await records.conferenceAccess(conferenceId)
            let whos = Array(Set(items.compactMap(\.who)))
            var people = Set<UUID>()
            for try await person in try await records.connection.query(
                "SELECT id FROM people WHERE organisation_id = \(principal.organisationId) AND family_id = \(access.familyId) AND id = ANY(\(whos))",
                logger: logger
            ).decode(UUID.self) { people.insert(person) }
            var workers = Set<UUID>()
            for try await worker in try await records.connection.query(
                "SELECT id FROM workers WHERE organisation_id = \(principal.organisationId) AND id = ANY(\(whos))", logger: logger
            ).decode(UUID.self) { workers.insert(worker) }
            var whoCheck = Validation()
            for (index, item) in items.enumerated() where !people.contains(item.who!) && !workers.contains(item.who!) {
                whoCheck.add("items[\(index)].who", "is neither someone in this family's network nor a worker here")
            }
            try whoCheck.orThrow()

            try await records.connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\(conferenceId.text), 1))", logger: logger)
            try await records.connection.insertNew(
                """
                INSERT INTO family_plans (organisation_id, id, conference_id, family_id, version, contingency, review_on,
                                          agreed_by_referrer, referrer_reasoning, created_by)
                SELECT \(principal.organisationId), \(id), \(conferenceId), \(access.familyId), coalesce(max(version), 0) + 1,
                       \(body.contingency.nilIfBlank), \(reviewOn?.description)::date, \(body.agreedByReferrer),
                       \(body.referrerReasoning.nilIfBlank), \(principal.workerId)
                FROM family_plans WHERE organisation_id = \(principal.organisationId) AND conference_id = \(conferenceId)
                """, record: "plan", logger: logger)
            try await records.connection.query(
                """
                INSERT INTO plan_items (organisation_id, id, plan_id, family_id, position, person_id, worker_id, what, by_when)
                SELECT \(principal.organisationId), i.id, \(id), \(access.familyId), i.position,
                       CASE WHEN i.who = ANY(\(Array(people))) THEN i.who END,
                       CASE WHEN i.who = ANY(\(Array(people))) THEN NULL ELSE i.who END,
                       i.what, nullif(i.by_when, '')::date
                FROM unnest(\(items.map(\.id))::uuid[], \(items.map { $0.who! })::uuid[], \(items.map(\.what))::text[],
                            \(items.map { $0.byWhen?.description ?? "" })::text[])
                     WITH ORDINALITY AS i (id, who, what, by_when, position)
                """, logger: logger)
            try await records.audit(.write, "plan", recordId: id, access: access)
            return try await records.plans(familyId: access.familyId, conferenceId: conferenceId, only: id)[0]
        }
        return .created(.init(body: .json(plan)))
    }

    func addPlanItemUpdate(_ input: Operations.AddPlanItemUpdate.Input) async throws -> Operations.AddPlanItemUpdate.Output {
        let body = switch input.body { case .json(let body): body }
        let draft = try NewPlanItemUpdate(planItemId: try UUID(path: input.path.planItemId), body)
        let update = try await records { records in
            let familyId = try await records.familyOf(.planItems, id: draft.planItemId)
            let access = try await records.access(familyId, for: .read)
            return try await records.save(draft, access: access)
        }
        return .created(.init(body: .json(update)))
    }
}
