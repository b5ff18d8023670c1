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
        let attempt = try await db.transaction(organisation: nil) { connection in
            try await LoginThrottle.begin(email: email, address: Principal.clientAddress, on: connection, logger: logger)
        }
        let account: (organisation: UUID, worker: UUID, passwordHash: String)?
        let reservedAt: Date
        switch attempt {
        case .wait(let seconds): throw KithError.tooManyRequests(retryAfter: seconds)
        case .check(let found, let at): (account, reservedAt) = (found, at)
        }
        // A wrong password leaves its reservation as the failure it is.
        guard try await Passwords.verify(body.password, hash: account?.passwordHash), let account else {
            throw KithError(status: .unauthorized, code: "invalid_credentials", detail: "The email or password is not right.")
        }

        let token = Tokens.generate()
        let expiresAt = Date().addingTimeInterval(TimeInterval(config.sessionLifetime.components.seconds))
        let session = Principal(
            organisationId: account.organisation, workerId: account.worker, sessionId: UUID(), deviceId: nil, roles: [], teamIds: [])
        let worker = try await db.transaction(organisation: account.organisation) { connection in
            try await LoginThrottle.succeeded(
                email: email, address: Principal.clientAddress, reservedAt: reservedAt, on: connection, logger: logger)
            return try await Records(connection: connection, principal: session, logger: logger)
                .openSession(tokenHash: Tokens.hash(token), expiresAt: expiresAt)
        }
        logger.info("signed in", metadata: ["worker": .string(account.worker.text)])
        return .ok(.init(body: .json(.init(token: token, expiresAt: expiresAt, worker: worker))))
    }

    func logout(_ input: Operations.Logout.Input) async throws -> Operations.Logout.Output {
        try await records { try await $0.endSession() }
        return .noContent(.init())
    }

    func getMe(_ input: Operations.GetMe.Input) async throws -> Operations.GetMe.Output {
        let me = try await records { try await $0.me() }
        return .ok(.init(body: .json(me)))
    }
}
