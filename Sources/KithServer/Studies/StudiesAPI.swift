import Foundation
import HTTPTypes
import KithAPI
import KithCore
import OpenAPIRuntime

/// Studying practice: managers mark the changes they make to how teams work, administrators propose a study and another
/// approves it, and an approved study draws pseudonymised extracts (`ResearchExtract`). Each handler reaches the
/// database in one transaction of `records`.
extension KithService {
    func createPracticeChange(_ input: Operations.CreatePracticeChange.Input) async throws -> Operations.CreatePracticeChange.Output {
        _ = try Principal.required()
        let body = switch input.body { case .json(let body): body }
        let change = try PracticeChangeDraft(body)
        return .created(.init(body: .json(try await records { try await $0.save(change) })))
    }

    func listPracticeChanges(_ input: Operations.ListPracticeChanges.Input) async throws -> Operations.ListPracticeChanges.Output {
        let principal = try Principal.required()
        guard principal.oversees else {
            throw KithError.forbidden("Changes of practice are for supervisors and administrators.")
        }
        var check = Validation()
        let team = check.uuid("teamId", input.query.teamId)
        try check.orThrow()
        return .ok(.init(body: .json(.init(items: try await records { try await $0.practiceChanges(team: team) }))))
    }

    /// The caller, who must be an administrator: studies are the organisation's to run.
    private func studyAdministrator() throws {
        try Principal.required().require(.admin, "administrators")
    }

    func createResearchStudy(_ input: Operations.CreateResearchStudy.Input) async throws -> Operations.CreateResearchStudy.Output {
        try studyAdministrator()
        let body = switch input.body { case .json(let body): body }
        let study = try ResearchStudyDraft(body)
        return .created(.init(body: .json(try await records { try await $0.save(study) })))
    }

    func listResearchStudies(_ input: Operations.ListResearchStudies.Input) async throws -> Operations.ListResearchStudies.Output {
        try studyAdministrator()
        return .ok(.init(body: .json(.init(items: try await records { try await $0.researchStudies() }))))
    }

    func approveResearchStudy(_ input: Operations.ApproveResearchStudy.Input) async throws -> Operations.ApproveResearchStudy.Output {
        try studyAdministrator()
        let id = try UUID(path: input.path.studyId)
        return .created(.init(body: .json(try await records { try await $0.approveStudy(id) })))
    }

    func createResearchExtract(_ input: Operations.CreateResearchExtract.Input) async throws -> Operations.CreateResearchExtract.Output {
        try studyAdministrator()
        let id = try UUID(path: input.path.studyId)
        let extract = try await records { try await $0.drawExtract(id) }
        return .created(.init(headers: .init(kithExtractSHA256: extract.sha256.hex), body: .csv(HTTPBody(extract.csv))))
    }
}
