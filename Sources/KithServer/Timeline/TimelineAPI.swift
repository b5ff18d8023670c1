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

        let rows = try await inOneStatement(TimelineRead.self, family: familyId, for: .read) { _, access, acting in
            TimelineRead.statement(of: familyId, access: access, after: after, limit: limit, as: acting)
        }
        return .ok(.init(body: .json(try TimelineRead.page(rows, limit: limit))))
    }
}
