import Crypto
import Foundation
import Hummingbird
import KithCore

/// The page a worker opens from an administrator's reset link (`POST /v1/workers/{id}/password-reset`) to set their
/// own password: served with the family page's HTML, headers and form checks. The link's secret is in its path and
/// keys the form's token, so no other site can post the form; only its SHA-256 is kept.
extension FamilyPage {
    static let passwordResetLifetime: TimeInterval = 24 * 3600

    func registerPasswordReset(on router: Router<KithRequestContext>) {
        router.get("/password-reset/:link") { request, context in
            await respond(request) { _ in try await resetPage(link: try context.parameters.require("link")) }
        }
        router.post("/password-reset/:link") { request, context in
            await respond(request) { _ in try await setPassword(request, link: try context.parameters.require("link")) }
        }
    }

    struct ResetView { let title = "Choose your password"; let action: String; let csrf: String; let error: String? }
    struct ResetForm: Decodable { let password: String; let again: String; let csrf: String }

    /// The reset behind a link, if it is open; otherwise the polite refusal its state calls for.
    private func openReset(_ link: String) async throws -> (organisation: UUID, reset: UUID, worker: UUID) {
        let row = try await db.definerLookup(
            PasswordResetLookup.self,
            "SELECT organisation_id, reset_id, worker_id, state FROM kith_password_reset(\(Self.resetHash(link)))")
        guard let row else { throw FamilyPageRefusal(resetState: nil) }
        let (organisation, reset, worker, state) = try row.decode((UUID, UUID, UUID, String).self)
        guard state == "open" else { throw FamilyPageRefusal(resetState: state) }
        return (organisation, reset, worker)
    }

    private func resetPage(link: String, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        _ = try await openReset(link)
        return html(status, "password-reset", ResetView(
            action: "/password-reset/\(link)", csrf: Self.formToken(key: link, for: "password-reset"), error: error), workersWords)
    }

    private func setPassword(_ request: Request, link: String) async throws -> Response {
        let form = try await Self.form(ResetForm.self, request, base: base)
        guard Self.isFormToken(form.csrf, key: link, for: "password-reset") else { throw FamilyPageRefusal.forgedForm }
        let (organisation, reset, worker) = try await openReset(link)
        guard form.password == form.again else {
            return try await resetPage(
                link: link, error: "The two passwords are not the same. Please type them again.", status: .unprocessableContent)
        }
        if let problem = Passwords.problem(form.password) {
            return try await resetPage(link: link, error: "The password \(problem).", status: .unprocessableContent)
        }
        let hash = try await Passwords.hash(form.password)
        let principal = Principal(
            organisationId: organisation, workerId: worker, sessionId: UUID(), deviceId: nil, roles: [], teamIds: [])
        let set = try await db.transaction(organisation: organisation) { connection in
            let records = Records(connection: connection, principal: principal, logger: logger)
            guard try await records.usePasswordReset(reset) else { return false }
            try await records.setPassword(hash: hash, of: worker, keeping: nil, reason: "password set from a reset link")
            return true
        }
        guard set else { throw FamilyPageRefusal(resetState: "used") }
        return html(.ok, "notice", FamilyPageRefusal.passwordSet.view(workersWords), workersWords)
    }

    static func resetHash(_ link: String) -> Data { Data(SHA256.hash(data: Data("password-reset:\(link)".utf8))) }
}

enum PasswordResetLookup: HotStatement {}

extension Records {
    /// A new reset link for a worker of the organisation: its secret, shown once, and when it lapses.
    func createPasswordReset(for workerId: UUID, lifetime: TimeInterval) async throws -> (link: String, expiresAt: Date) {
        let target = try await worker(workerId)
        let link = Tokens.generate()
        let expiresAt = Date().addingTimeInterval(lifetime)
        try await query(
            """
            INSERT INTO password_resets (organisation_id, id, worker_id, link_hash, created_by, expires_at)
            VALUES (\(principal.organisationId), \(UUID()), \(workerId), \(FamilyPage.resetHash(link)), \(principal.workerId), \(expiresAt))
            """)
        try await auditAdministration(
            "worker", recordId: workerId, teamIds: target.teamIds.compactMap(UUID.init(uuidString:)), reason: "password reset link made")
        return (link, expiresAt)
    }

    /// Marks a reset used, if it still may be: false when another request used it first or it lapsed meanwhile.
    func usePasswordReset(_ reset: UUID) async throws -> Bool {
        try await query(
            """
            UPDATE password_resets SET used_at = now()
            WHERE organisation_id = \(principal.organisationId) AND id = \(reset) AND used_at IS NULL AND expires_at > now()
            RETURNING id
            """).decode(UUID.self).first { _ in true } != nil
    }
}
