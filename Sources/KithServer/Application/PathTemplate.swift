/// An address of the contract as a template (`/v1/families/{familyId}/notes`, as the document and the generated server
/// write it; `:familyId` as Hummingbird does), and whether a request's path is one of its addresses. Said once for the
/// 405 answer (`ContractMethods`) and the body check (`RequestBodies`).
struct PathTemplate: Sendable, Equatable {
    let segments: [Substring]

    init(_ template: String) { segments = template.split(separator: "/") }

    /// How many segments name a parameter: of two templates a path matches, the one with fewer is meant
    /// (`/v1/me/password` rather than `/v1/me/{x}`).
    var parameters: Int { segments.count(where: Self.isParameter) }

    func matches(_ path: [Substring]) -> Bool {
        segments.count == path.count && zip(segments, path).allSatisfy { template, given in Self.isParameter(template) || template == given }
    }

    private static func isParameter(_ segment: Substring) -> Bool { segment.hasPrefix(":") || segment.hasPrefix("{") }
}
