import Foundation
import KithAPI
import KithCore

/// Certified disposal: proposed by one information-governance officer, approved by another, carried out by the
/// operator's `kith-server dispose` (`Disposer`). Each handler reaches the database in one transaction of `records`.
extension KithService {
    func proposeDisposal(_ input: Operations.ProposeDisposal.Input) async throws -> Operations.ProposeDisposal.Output {
        _ = try governanceOfficer()
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        let ids = check.uuids("familyIds", body.familyIds, max: 500)
        if ids.isEmpty { check.add("familyIds", "names at least one family") }
        try check.orThrow()
        let familyIds = Array(Set(ids))
        return .created(.init(body: .json(try await records { try await $0.proposeDisposal(familyIds) })))
    }

    func approveDisposal(_ input: Operations.ApproveDisposal.Input) async throws -> Operations.ApproveDisposal.Output {
        _ = try governanceOfficer()
        let id = try UUID(path: input.path.batchId)
        return .ok(.init(body: .json(try await records { try await $0.approveDisposal(id) })))
    }

    func listDisposalCertificates(_ input: Operations.ListDisposalCertificates.Input) async throws -> Operations.ListDisposalCertificates.Output {
        _ = try governanceOfficer()
        return .ok(.init(body: .json(.init(items: try await records { try await $0.disposalCertificates() }))))
    }
}
