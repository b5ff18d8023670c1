import Foundation
import HTTPTypes
import KithAPI
import OpenAPIRuntime

/// The two answers that carry many records, a sync pull's page and a family's timeline, written by
/// `JSONStreamEncoder`: the same JSON the generated serialiser writes, without Foundation's tree of values, which was
/// most of the server's time for a first sync's thousands of records and a fifth of a timeline page's (docs/benchmarks.md).
/// Each request is still answered by its `KithService` operation. Only plain requests come this way: a body that is
/// not JSON, an answer asked for in another type, or a path or query not in the simple form a client writes goes the
/// generated way, and gets the generated way's answer, refusals included.
struct StreamedAnswers: ServerMiddleware {
    let service: KithService
    private static let encoder = JSONStreamEncoder()

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard Self.acceptsJSON(request) else { return try await next(request, body, metadata) }
        switch operationID {
        case Operations.SyncPull.id:
            guard let body, Self.isJSON(request) else { break }
            let pull = try JSONDecoder().decode(Components.Schemas.PullRequest.self, from: try await Data(collecting: body, upTo: .max))
            switch try await service.syncPull(.init(body: .json(pull))) {
            case .ok(let ok):
                let page = switch ok.body { case .json(let page): page }
                return try Self.ok(page)
            case .default(let status, let problem): return try Self.problem(status, problem)
            }
        case Operations.GetTimeline.id:
            guard let familyId = metadata.pathParameters["familyId"].map(String.init), Self.isPlain(familyId),
                  let query = Self.query(of: request, names: ["limit", "after"])
            else { break }
            let limit = query["limit"].map { Int($0) }
            guard limit != .some(nil) else { break }
            let input = Operations.GetTimeline.Input(path: .init(familyId: familyId), query: .init(limit: limit ?? nil, after: query["after"]))
            switch try await service.getTimeline(input) {
            case .ok(let ok):
                let page = switch ok.body { case .json(let page): page }
                return try Self.ok(page)
            case .default(let status, let problem): return try Self.problem(status, problem)
            }
        default: break
        }
        return try await next(request, body, metadata)
    }

    private static func ok(_ value: some Encodable) throws -> (HTTPResponse, HTTPBody?) {
        answer(.ok, "application/json; charset=utf-8", try encoder.encode(value))
    }

    private static func problem(_ status: Int, _ problem: Components.Responses.Problem) throws -> (HTTPResponse, HTTPBody?) {
        let problem = switch problem.body { case .applicationProblemJson(let problem): problem }
        return answer(.init(code: status), "application/problem+json", try encoder.encode(problem))
    }

    private static func answer(_ status: HTTPResponse.Status, _ type: String, _ bytes: [UInt8]) -> (HTTPResponse, HTTPBody?) {
        var response = HTTPResponse(status: status)
        response.headerFields[.contentType] = type
        return (response, HTTPBody(bytes))
    }

    private static func isJSON(_ request: HTTPRequest) -> Bool {
        request.headerFields[.contentType].map { $0.lowercased().hasPrefix("application/json") } ?? true
    }

    private static func acceptsJSON(_ request: HTTPRequest) -> Bool {
        request.headerFields[.accept].map { $0.contains("application/json") || $0.contains("*/*") } ?? true
    }

    /// Letters, digits, `-` and `_`: what ids and cursors are made of, needing no decoding.
    private static func isPlain(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }

    /// The query's items when each is one of `names`, given once, with a plain value; nil otherwise.
    private static func query(of request: HTTPRequest, names: Set<String>) -> [String: String]? {
        guard let path = request.path, let mark = path.firstIndex(of: "?") else { return [:] }
        var items: [String: String] = [:]
        for item in path[path.index(after: mark)...].split(separator: "&", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, names.contains(String(parts[0])), items[String(parts[0])] == nil, isPlain(parts[1])
            else { return nil }
            items[String(parts[0])] = String(parts[1])
        }
        return items
    }
}
