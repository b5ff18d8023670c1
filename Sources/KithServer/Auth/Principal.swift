import Foundation
import KithCore
import NIOCore

/// Who is making the request, as established from their bearer token on this request.
///
/// Generated OpenAPI handlers do not see the router's context, so `SignIn` hands the principal over in a task-local
/// (the pattern swift-openapi-hummingbird documents).
struct Principal: Sendable {
    let organisationId: UUID
    let workerId: UUID
    let sessionId: UUID
    let deviceId: UUID?
    let roles: Set<Role>
    let teamIds: [UUID]
    /// The SHA-256 of the bearer token this request came with; nil for a principal made on the server (a device
    /// owner's quarantined work, applied when a supervisor accepts it).
    var tokenHash: Data? = nil

    @TaskLocal static var current: Principal?
    @TaskLocal static var clientAddress: String?

    static func required() throws -> Principal {
        guard let current else { throw KithError.unauthorized }
        return current
    }

    func has(_ role: Role) -> Bool { roles.contains(role) }

    /// Supervisors see the families of the teams they belong to.
    func supervises(team: UUID) -> Bool { has(.supervisor) && teamIds.contains(team) }

    /// Supervisors and administrators see across the organisation's work in counts and lists (data incidents, what got in
    /// the way, changes of practice).
    var oversees: Bool { has(.supervisor) || has(.admin) }

    /// Administrators manage the organisation; without another role they read no case content.
    var isAdminOnly: Bool { roles == [.admin] }

    /// Who a statement that enters the wall itself acts as (`kith_acting_worker`): from this request's token.
    var actingAlone: ActingWorker { ActingWorker(tokenHash: tokenHash.map { ByteBuffer(bytes: $0) }, worker: workerId) }

    /// Who a statement run in a transaction already behind the wall acts as: this worker.
    var acting: ActingWorker { ActingWorker(tokenHash: nil, worker: workerId) }

    func require(_ role: Role, _ what: String) throws {
        guard has(role) else { throw KithError.forbidden("Only \(what) may do this.") }
    }
}

/// The arguments of `kith_acting_worker` (`db/functions/`), which every `kith_read_…` and `kith_write_…` statement
/// reads its worker from: with a token, it enters the wall for the token's session and acts as its worker; without,
/// it acts as `worker` in a transaction already behind the wall, and refuses anywhere else.
struct ActingWorker: Sendable {
    let tokenHash: ByteBuffer?
    let worker: UUID
}
