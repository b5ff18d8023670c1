import KithAPI
import Logging
import PostgresNIO

/// Implements the generated `APIProtocol`; each feature folder adds its operations in an extension.
struct KithService: APIProtocol {
    let db: PostgresClient
    let config: AppConfig
    let logger: Logger
    let throttle: LoginThrottle

    /// Every write runs in one transaction: its records, its audit event and its change-log rows commit together.
    /// The closure's own error (a `KithError`, say) comes out unwrapped, after the rollback.
    func transaction<Result>(_ body: (PostgresConnection) async throws -> sending Result) async throws -> sending Result {
        do {
            return try await db.withTransaction(logger: logger, body)
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.commitError ?? error.beginError ?? error
        }
    }
}
