import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// The device grant Kith hosts for devices and terminals without a browser (shaped like RFC 8628): the device starts a
/// sign-in and polls; the person confirms its user code on Kith's page (`DeviceSignInPage`) and signs in at the
/// organisation's identity provider, whose answer approves the sign-in. Each handler reaches the database in
/// transactions of `db.transaction` for the provider's organisation: nobody is signed in yet.
extension KithService {
    func startDeviceSignIn(_ input: Operations.StartDeviceSignIn.Input) async throws -> Operations.StartDeviceSignIn.Output {
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.text("organisation", body.organisation, min: 2, max: 40)
        try check.orThrow()
        guard let provider = try await ProviderForSignIn.find(body.organisation, in: db) else {
            throw KithError.invalidField("organisation", "no organisation on this server signs in as \(body.organisation)")
        }
        let name = body.organisation.lowercased()
        let deviceCode = "\(name).\(Tokens.generate())", userCode = DeviceSignIns.newUserCode()
        let started = try await db.transaction(organisation: provider.organisation) { connection in
            try await DeviceSignIns.start(
                deviceCodeHash: Tokens.hash(deviceCode), userCode: userCode, organisation: provider.organisation,
                on: connection, logger: logger)
        }
        guard started else {
            throw KithError.tooManyRequests(retryAfter: 60, "Too many sign-ins are waiting for this organisation; try again in a minute.")
        }
        let page = config.publicBase.appendingPathComponent("sign-in").appendingPathComponent(name).appendingPathComponent("device")
        return .ok(.init(body: .json(.init(
            deviceCode: deviceCode, userCode: userCode, verificationUri: page.absoluteString,
            verificationUriComplete: page.absoluteString + "?code=\(userCode)", expiresIn: DeviceSignIns.lifetime,
            interval: DeviceSignIns.interval))))
    }

    func finishDeviceSignIn(_ input: Operations.FinishDeviceSignIn.Input) async throws -> Operations.FinishDeviceSignIn.Output {
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.matches("deviceCode", body.deviceCode, #"^[A-Za-z0-9_.-]{1,200}$"#, "the device code a sign-in was started with")
        try check.orThrow()
        let name = String(body.deviceCode.prefix { $0 != "." })
        guard let provider = try await ProviderForSignIn.find(name, in: db) else { throw DeviceSignIns.expired }
        let hash = Tokens.hash(body.deviceCode)
        let poll = try await db.transaction(organisation: provider.organisation) { connection in
            try await DeviceSignIns.poll(deviceCodeHash: hash, organisation: provider.organisation, on: connection, logger: logger)
        }
        let worker: UUID
        switch poll {
        case .approved(let approved): worker = approved
        case .refused(let refusal): throw refusal
        }
        let session = try await openSession(organisation: provider.organisation, worker: worker, way: .deviceGrant) { records in
            try await DeviceSignIns.collect(
                deviceCodeHash: hash, organisation: provider.organisation, on: records.connection, logger: logger)
        }
        guard let session else { throw DeviceSignIns.expired }
        return .ok(.init(body: .json(session)))
    }
}

/// The device grant's rows (`device_sign_ins`, migration 0024), behind the wall of the provider's organisation.
enum DeviceSignIns {
    /// Seconds a sign-in waits for its person (RFC 8628 suggests minutes), and between a device's polls.
    static let lifetime = 600, interval = 5
    /// Sign-ins waiting at once in one organisation: starting one needs no token, so their number has a bound.
    static let waitingAtMost = 1000

    /// Eight letters in two fours, from an alphabet without vowels (no words) and without letters read alike.
    static func newUserCode() -> String {
        let letters = Array("BCDFGHJKLMNPQRSTVWXZ")
        let code = String((0..<8).map { _ in letters.randomElement()! })
        return "\(code.prefix(4))-\(code.suffix(4))"
    }

    /// A new sign-in, unless too many are waiting.
    static func start(
        deviceCodeHash: Data, userCode: String, organisation: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        try await connection.query(
            """
            INSERT INTO device_sign_ins (organisation_id, id, device_code_hash, user_code, expires_at, interval_seconds)
            SELECT \(organisation), \(UUID()), \(deviceCodeHash), \(userCode), now() + make_interval(secs => \(lifetime)), \(interval)
            WHERE (SELECT count(*) FROM device_sign_ins
                   WHERE organisation_id = \(organisation) AND outcome IS NULL AND expires_at > now()) < \(waitingAtMost)
            RETURNING id
            """, logger: logger
        ).collect().count == 1
    }

    /// The waiting sign-in a user code names, if there is one.
    static func waiting(userCode: String, organisation: UUID, on connection: PostgresConnection, logger: Logger) async throws -> UUID? {
        try await connection.query(
            """
            SELECT id FROM device_sign_ins
            WHERE organisation_id = \(organisation) AND user_code = \(userCode) AND outcome IS NULL AND expires_at > now()
            """, logger: logger
        ).collect().first?.decode(UUID.self)
    }

    /// The person confirmed the code and goes to the provider with this state, nonce and PKCE verifier.
    static func sendToProvider(
        _ id: UUID, stateHash: Data, nonce: String, verifier: String, organisation: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            UPDATE device_sign_ins SET state_hash = \(stateHash), nonce = \(nonce), code_verifier = \(verifier)
            WHERE organisation_id = \(organisation) AND id = \(id) AND outcome IS NULL
            """, logger: logger)
    }

    /// The waiting sign-in the provider's answer is for (by its state): its id, nonce and verifier.
    static func answered(
        stateHash: Data, organisation: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> (id: UUID, nonce: String, verifier: String)? {
        try await connection.query(
            """
            SELECT id, nonce, code_verifier FROM device_sign_ins
            WHERE organisation_id = \(organisation) AND state_hash = \(stateHash) AND outcome IS NULL AND expires_at > now()
            """, logger: logger
        ).collect().first?.decode((UUID, String, String).self)
    }

    /// The provider's answer: approved for a worker, or denied.
    static func settle(_ id: UUID, worker: UUID?, organisation: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            UPDATE device_sign_ins SET outcome = CASE WHEN \(worker)::uuid IS NULL THEN 'denied' ELSE 'approved' END, worker_id = \(worker)
            WHERE organisation_id = \(organisation) AND id = \(id) AND outcome IS NULL
            """, logger: logger)
    }

    /// Where a device's poll stands: approved for a worker, or what the device is told (RFC 8628 3.5's codes).
    enum Poll {
        case approved(worker: UUID), refused(KithError)
    }

    static let pending = KithError(status: .badRequest, code: "authorization_pending", detail: "The person has not signed in yet.")
    static let slowDown = KithError(status: .badRequest, code: "slow_down", detail: "Polled too soon: wait five seconds longer between polls.")
    static let expired = KithError(status: .badRequest, code: "expired_token", detail: "This device code has lapsed or was used: start again.")
    static let denied = KithError(status: .badRequest, code: "access_denied", detail: "The sign-in was refused.")

    /// A device's poll, noted; polled sooner than its interval, the interval grows by five seconds (RFC 8628 3.5).
    static func poll(deviceCodeHash: Data, organisation: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Poll {
        let rows = try await connection.query(
            """
            WITH found AS (
                SELECT id, outcome, worker_id, expires_at <= now() AS lapsed,
                       coalesce(last_polled_at > now() - make_interval(secs => interval_seconds), false) AS too_soon
                FROM device_sign_ins WHERE organisation_id = \(organisation) AND device_code_hash = \(deviceCodeHash)
                FOR UPDATE
            ), noted AS (
                UPDATE device_sign_ins d SET last_polled_at = now(),
                    interval_seconds = CASE WHEN f.too_soon THEN least(d.interval_seconds + 5, 60) ELSE d.interval_seconds END
                FROM found f WHERE d.organisation_id = \(organisation) AND d.id = f.id
            )
            SELECT outcome, worker_id, lapsed, too_soon FROM found
            """, logger: logger
        ).collect()
        guard let (outcome, worker, lapsed, tooSoon) = try rows.first?.decode((String?, UUID?, Bool, Bool).self) else { return .refused(expired) }
        switch (outcome, worker) {
        case ("approved", let worker?): return lapsed ? .refused(expired) : .approved(worker: worker)
        case ("denied", _): return .refused(denied)
        case ("collected", _): return .refused(expired)
        default: return .refused(lapsed ? expired : tooSoon ? slowDown : pending)
        }
    }

    /// Housekeeping: sign-ins lapsed more than a day ago are deleted (`kith_forget_device_sign_ins`, db/functions/), so
    /// that sign-ins started without a token cannot pile up.
    static func forgetLapsed(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT kith_forget_device_sign_ins()", logger: logger)
    }

    /// Takes the approved sign-in's session, once: false when another poll took it first.
    static func collect(deviceCodeHash: Data, organisation: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await connection.query(
            """
            UPDATE device_sign_ins SET outcome = 'collected'
            WHERE organisation_id = \(organisation) AND device_code_hash = \(deviceCodeHash) AND outcome = 'approved'
            RETURNING id
            """, logger: logger
        ).collect().count == 1
    }
}
