import Foundation
import KithCore
import PostgresNIO

extension Records {
    /// A worker's own figures and supervision are theirs and their supervisors' (a supervisor in one of their teams);
    /// anyone else, an administrator too (they name families and discuss them), is told the worker does not exist.
    func requireOversight(of workerId: UUID) async throws {
        if workerId == principal.workerId {
            _ = try await worker(workerId)
            return
        }
        guard principal.has(.supervisor) else { throw KithError.notFound }
        let shared = try await query(
            """
            SELECT count(*) FROM team_members
            WHERE organisation_id = \(principal.organisationId) AND worker_id = \(workerId) AND team_id = ANY(\(principal.teamIds))
            """).decode(Int.self).first { _ in true } ?? 0
        guard shared > 0 else { throw KithError.notFound }
    }
}
