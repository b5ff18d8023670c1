import KithAPI

/// Operations of the published contract that later work delivers (sync, resolving review items). Until then they
/// answer 501 `not_implemented` after authentication, so a client can tell "not offered yet" from "not allowed".
extension KithService {
    private func planned(_ feature: String) throws -> Never {
        _ = try Principal.required()
        throw KithError.notImplemented(feature)
    }

    func syncPull(_ input: Operations.SyncPull.Input) async throws -> Operations.SyncPull.Output { try planned("Sync") }
    func syncAck(_ input: Operations.SyncAck.Input) async throws -> Operations.SyncAck.Output { try planned("Sync") }
}
