import KithAPI
import Logging
import PostgresNIO

/// Implements the generated `APIProtocol`; each feature folder adds its operations in an extension.
struct KithService: APIProtocol {
    let db: Database
    let config: AppConfig
    let logger: Logger
    let throttle: LoginThrottle

    func transaction<Result>(_ body: (PostgresConnection) async throws -> sending Result) async throws -> sending Result {
        try await db.transaction(body)
    }

    func read<Result>(_ body: (PostgresConnection) async throws -> sending Result) async throws -> sending Result {
        try await db.read(body)
    }
}
