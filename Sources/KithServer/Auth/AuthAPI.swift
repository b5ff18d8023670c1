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
        case .wait(let seconds): throw KithError.tooManySignIns(retryAfter: seconds)
        case .check(let found, let at): (account, reservedAt) = (found, at)
        }
        // A wrong password leaves its reservation as the failure it is.
        guard try await Passwords.verify(body.password, hash: account?.passwordHash), let account else {
            throw KithError(status: .unauthorized, code: "invalid_credentials", detail: "The email or password is not right.")
        }

        let session = try await openSession(organisation: account.organisation, worker: account.worker, way: .password) { records in
            try await LoginThrottle.succeeded(
                email: email, address: Principal.clientAddress, reservedAt: reservedAt, on: records.connection, logger: logger)
            return try await records.passwordsAllowed()
        }
        guard let session else {
            throw KithError(
                status: .forbidden, code: "sso_required",
                detail: "This organisation signs in through its identity provider, not with a password: kith login SERVER --sso or --device.")
        }
        return .ok(.init(body: .json(session)))
    }

    /// The session every way in ends in, `{token, expiresAt, worker}`: only the token's hash is kept, and the sign-in is
    /// in the organisation's feed, in one transaction with what `first` does there; nil, with nothing but `first`'s
    /// work done, when `first` says no session may open.
    func openSession(
        organisation: UUID, worker: UUID, way: WayIn, first: (Records) async throws -> Bool = { _ in true }
    ) async throws -> Components.Schemas.LoginResponse? {
        let token = Tokens.generate()
        let expiresAt = Date().addingTimeInterval(TimeInterval(config.sessionLifetime.components.seconds))
        let session = Principal(organisationId: organisation, workerId: worker, sessionId: UUID(), deviceId: nil, roles: [], teamIds: [])
        let opened = try await db.transaction(organisation: organisation) { connection -> Components.Schemas.Worker? in
            let records = Records(connection: connection, principal: session, logger: logger)
            guard try await first(records) else { return nil }
            try await records.auditSignIn(way)
            return try await records.openSession(tokenHash: Tokens.hash(token), expiresAt: expiresAt)
        }
        guard let opened else { return nil }
        logger.info("signed in", metadata: ["worker": .string(worker.text), "way": .string(way.rawValue)])
        return .init(token: token, expiresAt: expiresAt, worker: opened)
    }

    func logout(_ input: Operations.Logout.Input) async throws -> Operations.Logout.Output {
        try await records { try await $0.endSession() }
        return .noContent(.init())
    }

    /// The worker's own password: the current one checked as a sign-in checks it (and throttled with sign-ins), the
    /// new one by `Passwords.problem`; the worker's other sessions end.
    func changePassword(_ input: Operations.ChangePassword.Input) async throws -> Operations.ChangePassword.Output {
        let principal = try Principal.required()
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.text("current", body.current, min: 1, max: Passwords.maximumCharacters)
        check.newPassword("new", body.new)
        try check.orThrow()

        let email = try await records { try await $0.worker(principal.workerId).email }.lowercased()
        let attempt = try await db.transaction(organisation: nil) { connection in
            try await LoginThrottle.begin(email: email, address: Principal.clientAddress, on: connection, logger: logger)
        }
        guard case .check(let account, let reservedAt) = attempt else {
            if case .wait(let seconds) = attempt { throw KithError.tooManySignIns(retryAfter: seconds) }
            throw KithError.unauthorized
        }
        guard let account, account.worker == principal.workerId, try await Passwords.verify(body.current, hash: account.passwordHash) else {
            throw KithError(status: .forbidden, code: "invalid_credentials", detail: "The current password is not right.")
        }
        let hash = try await Passwords.hash(body.new)
        try await records { records in
            try await LoginThrottle.succeeded(
                email: email, address: Principal.clientAddress, reservedAt: reservedAt, on: records.connection, logger: logger)
            try await records.setPassword(hash: hash, of: principal.workerId, keeping: principal.sessionId, reason: "password changed")
        }
        return .noContent(.init())
    }

    func getMe(_ input: Operations.GetMe.Input) async throws -> Operations.GetMe.Output {
        let me = try await records { try await $0.me() }
        return .ok(.init(body: .json(me)))
    }
}
