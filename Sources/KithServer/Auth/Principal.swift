import Foundation
import KithCore

/// Who is making the request, as established from their bearer token on this request.
///
/// Generated OpenAPI handlers do not see the router's context, so `AuthMiddleware` hands the principal
/// over in a task-local (the pattern swift-openapi-hummingbird documents).
struct Principal: Sendable {
    let organisationId: UUID
    let workerId: UUID
    let sessionId: UUID
    let deviceId: UUID?
    let roles: Set<Role>
    let teamIds: [UUID]

    @TaskLocal static var current: Principal?
    @TaskLocal static var clientAddress: String?

    static func required() throws -> Principal {
        guard let current else { throw KithError.unauthorized }
        return current
    }

    func has(_ role: Role) -> Bool { roles.contains(role) }

    /// Supervisors see the families of the teams they belong to.
    func supervises(team: UUID) -> Bool { has(.supervisor) && teamIds.contains(team) }

    /// Administrators manage the organisation; without another role they read no case content.
    var isAdminOnly: Bool { roles == [.admin] }

    func require(_ role: Role, _ what: String) throws {
        guard has(role) else { throw KithError.forbidden("Only \(what) may do this.") }
    }
}
