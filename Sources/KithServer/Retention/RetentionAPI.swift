import Foundation
import KithAPI
import KithCore

/// Retention rules, the rule a family follows, legal holds and what is due for disposal: information-governance
/// officers only, who read no family's record here, only its identity and dates. Each handler reaches the database in
/// one transaction of `records`.
extension KithService {
    func getRetentionRules(_ input: Operations.GetRetentionRules.Input) async throws -> Operations.GetRetentionRules.Output {
        _ = try governanceOfficer()
        return .ok(.init(body: .json(try await records { try await $0.retentionRules() })))
    }

    func putRetentionRules(_ input: Operations.PutRetentionRules.Input) async throws -> Operations.PutRetentionRules.Output {
        _ = try governanceOfficer()
        let rules = switch input.body { case .json(let body): body }
        var check = Validation()
        check.count("rules", rules.count, max: 50)
        for (index, rule) in rules.enumerated() {
            check.requiredText("[\(index)].description", rule.description, max: 500)
            check.range("[\(index)].years", rule.years, 0...150)
        }
        if rules.isEmpty { check.add("rules", "keeps at least one rule") }
        if Set(rules.map(\.code)).count != rules.count { check.add("rules", "names a code more than once") }
        try check.orThrow()
        let kept = try await records { records in
            try await records.setRetentionRules(rules)
            return try await records.retentionRules()
        }
        return .ok(.init(body: .json(kept)))
    }

    func chooseRetentionRule(_ input: Operations.ChooseRetentionRule.Input) async throws -> Operations.ChooseRetentionRule.Output {
        _ = try governanceOfficer()
        let familyId = try UUID(path: input.path.familyId)
        let body = switch input.body { case .json(let body): body }
        return .ok(.init(body: .json(try await records { try await $0.chooseRetentionRule(body.rule, for: familyId) })))
    }

    func placeLegalHold(_ input: Operations.PlaceLegalHold.Input) async throws -> Operations.PlaceLegalHold.Output {
        _ = try governanceOfficer()
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        let familyId = check.uuid("familyId", body.familyId), teamId = check.uuid("teamId", body.teamId)
        if (familyId == nil) == (teamId == nil) { check.add("familyId", "a hold is on a family or on a team, one of the two") }
        check.requiredText("reason", body.reason, max: 2000)
        try check.orThrow()
        return .created(.init(body: .json(try await records { try await $0.placeHold(familyId: familyId, teamId: teamId, reason: body.reason) })))
    }

    func listLegalHolds(_ input: Operations.ListLegalHolds.Input) async throws -> Operations.ListLegalHolds.Output {
        _ = try governanceOfficer()
        return .ok(.init(body: .json(.init(items: try await records { try await $0.holds() }))))
    }

    func releaseLegalHold(_ input: Operations.ReleaseLegalHold.Input) async throws -> Operations.ReleaseLegalHold.Output {
        _ = try governanceOfficer()
        let id = try UUID(path: input.path.holdId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.requiredText("reason", body.reason, max: 2000)
        try check.orThrow()
        return .ok(.init(body: .json(try await records { try await $0.releaseHold(id, reason: body.reason) })))
    }

    func listDisposalDue(_ input: Operations.ListDisposalDue.Input) async throws -> Operations.ListDisposalDue.Output {
        _ = try governanceOfficer()
        return .ok(.init(body: .json(.init(items: try await records { try await $0.disposalDue() }))))
    }
}
