import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// A timeline page is one statement that reads the page and writes the read's audit event (`kith_read_timeline`,
/// db/functions/).
extension Operations.GetTimeline: WorksInOneStatement {}

/// One family's story, newest first: contacts, notes, allocations and handovers, conference stages, plan
/// versions and progress on plan items.
extension KithService {
    func getTimeline(_ input: Operations.GetTimeline.Input) async throws -> Operations.GetTimeline.Output {
        let familyId = try UUID(path: input.path.familyId)
        let principal = try Principal.required()
        let limit = try PageSize.resolve(input.query.limit)
        let cursors = try cursors()
        let after = try KeysetPosition(input.query.after, in: .timeline, cursors: cursors, for: principal)

        let rows = try await inOneStatement(Operations.GetTimeline.self, TimelineRead.self, family: familyId, for: .read) { _, access, acting in
            TimelineRead.statement(of: familyId, access: access, after: after, limit: limit, as: acting)
        }
        let page = try TimelineRead.page(rows, limit: limit) { cursors.make([$0, $1], list: .timeline, for: principal) }
        return .ok(.init(body: .json(page)))
    }
}
