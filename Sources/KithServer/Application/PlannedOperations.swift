import KithAPI

/// Operations of the published contract that later work delivers (sync and devices, resolving review items). Until then they answer 501 `not_implemented` after authentication, so a client
/// can tell "not offered yet" from "not allowed" or "not found".
extension KithService {
    private func planned(_ feature: String) throws -> Never {
        _ = try Principal.required()
        throw KithError.notImplemented(feature)
    }

    func listDevices(_ input: Operations.ListDevices.Input) async throws -> Operations.ListDevices.Output { try planned("Devices") }
    func registerDevice(_ input: Operations.RegisterDevice.Input) async throws -> Operations.RegisterDevice.Output { try planned("Devices") }
    func revokeDevice(_ input: Operations.RevokeDevice.Input) async throws -> Operations.RevokeDevice.Output { try planned("Devices") }
    func syncPush(_ input: Operations.SyncPush.Input) async throws -> Operations.SyncPush.Output { try planned("Sync") }
    func syncPull(_ input: Operations.SyncPull.Input) async throws -> Operations.SyncPull.Output { try planned("Sync") }
    func syncAck(_ input: Operations.SyncAck.Input) async throws -> Operations.SyncAck.Output { try planned("Sync") }
    func resolveReviewItem(_ input: Operations.ResolveReviewItem.Input) async throws -> Operations.ResolveReviewItem.Output {
        try planned("Resolving review items")
    }
}
