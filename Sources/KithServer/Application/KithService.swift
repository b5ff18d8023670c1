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
    func transaction<Result>(_ body: (PostgresConnection) async throws -> sending Result) async throws -> sending Result {
        try await db.withTransaction(logger: logger, body)
    }
}
