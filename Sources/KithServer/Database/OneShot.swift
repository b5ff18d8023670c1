import Logging
import PostgresNIO

/// Runs `body` with a started database pool, for one-shot commands (`migrate`, `create-admin`, `demo-data`).
public func withDatabase<Result: Sendable>(
    _ config: AppConfig, logger: Logger, _ body: @Sendable @escaping (PostgresClient) async throws -> Result
) async throws -> Result {
    let client = try PostgresClient.kith(config, logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        return try await body(client)
    }
}
