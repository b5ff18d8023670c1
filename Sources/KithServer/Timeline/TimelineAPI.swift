import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// One family's story, newest first: contacts, notes, allocations and handovers, conference stages, plan
/// versions and progress on plan items.
extension KithService {
    func getTimeline(_ input: Operations.GetTimeline.Input) async throws -> Operations.GetTimeline.Output {
        let familyId = try UUID(path: input.path.familyId)
        let limit = try PageSize.resolve(input.query.limit)
        let after = try KeysetPosition(input.query.after)

        let page = try await records { records in
            try await records.readTimeline(
                of: familyId, access: try await records.access(familyId, for: .read), after: after, limit: limit)
        }
        return .ok(.init(body: .json(page)))
    }
}
