import Foundation
import KithAPI
import OpenAPIRuntime

/// What got in the way, as the server keeps it: a worker's own with their answers, a team's for its supervisors, and
/// the organisation's counts (docs/voice.md). Telling one goes through the outbox (`Practice.tell`), so it works offline.
extension Office {
    package typealias Friction = Components.Schemas.Friction

    package func myFrictions() async throws -> [Friction] {
        try await client.listFrictions(query: .init(mine: true)).ok.body.json.items
    }

    package func teamFrictions(_ teamId: String, status: Components.Schemas.FrictionStatus?) async throws -> [Friction] {
        try await client.listFrictions(query: .init(teamId: teamId, status: status)).ok.body.json.items
    }

    /// One of the team's frictions whose id starts with `ref`, answered.
    package func answer(
        _ ref: String, in teamId: String, _ event: Components.Schemas.FrictionEventInput
    ) async throws -> Friction {
        let matches = try await teamFrictions(teamId, status: nil).filter { $0.id.hasPrefix(ref.lowercased()) }
        guard matches.count == 1, !ref.isEmpty else { throw CommandError.usage("'\(ref)' matches \(matches.count) of the team's frictions") }
        return try await client.recordFrictionEvent(path: .init(frictionId: matches[0].id), body: .json(event)).created.body.json
    }

    package func frictionSummary(from: String?, to: String?) async throws -> Components.Schemas.FrictionSummary {
        try await client.getFrictionSummary(query: .init(from: from, to: to)).ok.body.json
    }
}

/// The last refusal of the server's the person met in the terminal, kept so `kith blocked --last` can say what they were
/// trying to do with the problem attached: its status, code and detail and the command (never its arguments), in the
/// folder of kith's profiles, readable by its owner only.
package enum LastRefusal {
    static func file(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        try Profile(name: "default", environment: environment).directory.deletingLastPathComponent().appendingPathComponent("last-refusal.json")
    }

    /// Keeps a refusal (a 4xx) met by `command`; true when it was one worth offering `kith blocked --last` for.
    @discardableResult
    package static func keep(_ error: CommandError, command: String) -> Bool {
        guard case .refused(let status, let code, let detail) = error, (400...499).contains(status), let file = try? file() else { return false }
        let problem = Components.Schemas.FrictionProblem(
            status: status, code: code.map { String($0.prefix(100)) }, detail: detail.map { String($0.prefix(2000)) }, command: command)
        umask(0o077)
        try? FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        return (try? KithJSON.encoder().encode(problem).write(to: file, options: .atomic)) != nil
    }

    /// The refusal kept, if any.
    package static func read() throws -> Components.Schemas.FrictionProblem? {
        guard let data = try? Data(contentsOf: try file()) else { return nil }
        return try KithJSON.decoder().decode(Components.Schemas.FrictionProblem.self, from: data)
    }

    /// Forgets it once it was told.
    package static func forget() throws {
        try? FileManager.default.removeItem(at: try file())
    }
}
