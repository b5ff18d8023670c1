import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

extension KithService {
    func login(_ input: Operations.Login.Input) async throws -> Operations.Login.Output {
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.text("email", body.email, min: 3, max: 320)
        check.text("password", body.password, min: 1, max: 200)
        try check.orThrow()

        let email = body.email.trimmingWhitespace().lowercased()
        let keys = [LoginThrottle.Key.account(email), .address(Principal.clientAddress)]
        let account = try await records { records in
            if let wait = try await LoginThrottle.retryAfter(keys, on: connection, logger: logger) {
                throw KithError.tooManyRequests(retryAfter: wait)
            }
            return try await records.connection.query(
                """
                SELECT organisation_id, id, password_hash FROM workers
                WHERE lower(email) = \(email) AND (left_on IS NULL OR left_on > current_date)
                """, logger: logger
            ).decode((UUID, UUID, String).self).first { _ in true }
        }

        guard try await Passwords.verify(body.password, hash: account?.2), let (organisation, workerId, _) = account else {
            try await records { try await LoginThrottle.recordFailure(keys, on: $0, logger: logger) }
            throw KithError(status: .unauthorized, code: "invalid_credentials", detail: "The email or password is not right.")
        }

        let token = Tokens.generate()
        let expiresAt = Date().addingTimeInterval(TimeInterval(config.sessionLifetime.components.seconds))
        let worker = try await records { records in
            try await LoginThrottle.recordSuccess(keys[0], on: connection, logger: logger)
            try await records.connection.query(
                """
                INSERT INTO sessions (organisation_id, id, worker_id, token_hash, expires_at)
                VALUES (\(organisation), \(UUID()), \(workerId), \(Tokens.hash(token)), \(expiresAt))
                """, logger: logger)
            return try await records.connection.worker(workerId, organisation: organisation, logger: logger)
        }
        logger.info("signed in", metadata: ["worker": .string(workerId.text)])
        return .ok(.init(body: .json(.init(token: token, expiresAt: expiresAt, worker: worker))))
    }

    func logout(_ input: Operations.Logout.Input) async throws -> Operations.Logout.Output {
        let principal = try Principal.required()
        try await records {
            try await $0.query(
                """
                UPDATE sessions SET revoked_at = now()
                WHERE organisation_id = \(principal.organisationId) AND id = \(principal.sessionId)
                """, logger: logger)
        }
        return .noContent(.init())
    }

    func getMe(_ input: Operations.GetMe.Input) async throws -> Operations.GetMe.Output {
        let principal = try Principal.required()
        let (worker, organisation, teams) = try await records { records in
            let worker = try await records.connection.worker(principal.workerId, organisation: principal.organisationId, logger: logger)
            let organisation = try await records.connection.query(
                "SELECT id, name FROM organisations WHERE id = \(principal.organisationId)", logger: logger
            ).decode((UUID, String).self).first { _ in true }
            let teams = try await records.connection.teams(principal.organisationId, ids: principal.teamIds, logger: logger)
            return (worker, organisation, teams)
        }
        guard let organisation else { throw KithError.unauthorized }
        return .ok(.init(body: .json(.init(
            worker: worker, organisation: .init(id: organisation.0.text, name: organisation.1), teams: teams))))
    }
}
