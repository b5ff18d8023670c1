import Foundation
import HTTPTypes
import KithAPI
import OpenAPIRuntime

/// Answers `POST /v1/sync/pull` with its page written by `JSONStreamEncoder`, the same JSON the generated serialiser
/// would write: a first sync's page holds thousands of records, and Foundation's `JSONEncoder` was most of the server's
/// time for it. The request is read, checked and answered by `KithService.syncPull` as ever; a request in any other
/// content type, or asking for a response the page is not, goes the generated way and gets its usual answer.
struct PullPage: ServerMiddleware {
    let service: KithService
    private static let encoder = JSONStreamEncoder()

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard operationID == Operations.SyncPull.id, let body, Self.isPlainJSON(request) else {
            return try await next(request, body, metadata)
        }
        let pull = try JSONDecoder().decode(
            Components.Schemas.PullRequest.self, from: try await Data(collecting: body, upTo: .max))
        switch try await service.syncPull(.init(body: .json(pull))) {
        case .ok(let ok):
            let page = switch ok.body { case .json(let page): page }
            return Self.response(.ok, "application/json; charset=utf-8", try Self.encoder.encode(page))
        case .default(let status, let problem):
            let problem = switch problem.body { case .applicationProblemJson(let problem): problem }
            return Self.response(.init(code: status), "application/problem+json", try Self.encoder.encode(problem))
        }
    }

    private static func response(_ status: HTTPResponse.Status, _ type: String, _ bytes: [UInt8]) -> (HTTPResponse, HTTPBody?) {
        var response = HTTPResponse(status: status)
        response.headerFields[.contentType] = type
        return (response, HTTPBody(bytes))
    }

    /// A JSON request that takes a JSON answer (the body's size was limited before it got here).
    private static func isPlainJSON(_ request: HTTPRequest) -> Bool {
        let type = request.headerFields[.contentType]?.lowercased()
        let accept = request.headerFields[.accept]?.lowercased()
        return (type == nil || type!.hasPrefix("application/json"))
            && (accept == nil || accept!.contains("application/json") || accept!.contains("*/*"))
    }
}
