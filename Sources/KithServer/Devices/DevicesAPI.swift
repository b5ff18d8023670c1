import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// Field devices and terminal clients: each registered device gets a token of its own, bound to it, and its status is
/// checked on every request, so revoking a lost tablet takes effect on its next request (403 `device_revoked`).
extension KithService {
    static let deviceTokenLifetime: TimeInterval = 30 * 86_400

    /// With a worker's own sign-in token; the device then uses its own token.
    func registerDevice(_ input: Operations.RegisterDevice.Input) async throws -> Operations.RegisterDevice.Output {
        let principal = try Principal.required()
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.requiredText("name", body.name, max: 500)
        check.text("platform", body.platform, max: 100)
        check.text("clientVersion", body.clientVersion, max: 100)
        try check.orThrow()

        let token = Tokens.generate()
        let deviceId = try await records {
            try await $0.registerDevice(
                name: body.name, platform: body.platform, clientVersion: body.clientVersion, tokenHash: Tokens.hash(token),
                expiresAt: Date().addingTimeInterval(Self.deviceTokenLifetime))
        }
        logger.info("device registered", metadata: ["worker": .string(principal.workerId.text), "device": .string(deviceId.text)])
        return .created(.init(body: .json(.init(deviceId: deviceId.text, token: token))))
    }

    /// My devices; a supervisor also sees the devices of their teams' workers.
    func listDevices(_ input: Operations.ListDevices.Input) async throws -> Operations.ListDevices.Output {
        let devices = try await records { try await $0.visibleDevices() }
        return .ok(.init(body: .json(.init(items: devices))))
    }

    /// By the device's worker, a supervisor of one of their teams, or an administrator.
    func revokeDevice(_ input: Operations.RevokeDevice.Input) async throws -> Operations.RevokeDevice.Output {
        let principal = try Principal.required()
        let deviceId = try UUID(path: input.path.deviceId)
        let device = try await records { try await $0.revoke(device: deviceId) }
        logger.notice("device revoked", metadata: ["device": .string(deviceId.text), "by": .string(principal.workerId.text)])
        return .ok(.init(body: .json(device)))
    }
}
