import Foundation
import HTTPTypes
import KithAPI
import OpenAPIRuntime

/// A sync pull's page, thousands of records on a first sync, written by `JSONStreamEncoder`: the same JSON the generated
/// serialiser writes, without Foundation's tree of values, which was most of the server's time for such a page
/// (docs/benchmarks.md). The request is still read by its generated type and answered by `KithService.syncPull`. Only
/// plain requests come this way: a body that is not JSON, or an answer asked for in another type, goes the generated way
/// and gets its answer, refusals included. (A timeline page written this way was no faster outside the noise.)
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
        let pull = try KithJSON.requestDecoder().decode(Components.Schemas.PullRequest.self, from: try await Data(collecting: body, upTo: .max))
        switch try await service.syncPull(.init(body: .json(pull))) {
        case .ok(let ok):
            let page = switch ok.body { case .json(let page): page }
            return Self.answer(.ok, "application/json; charset=utf-8", try Self.encoder.encode(page))
        case .clientError(let status, let problem):
            let problem = switch problem.body { case .applicationProblemJson(let problem): problem }
            return Self.answer(.init(code: status), "application/problem+json", try Self.encoder.encode(problem))
        case .serviceUnavailable(let unavailable):
            let problem = switch unavailable.body { case .applicationProblemJson(let problem): problem }
            var answer = Self.answer(.serviceUnavailable, "application/problem+json", try Self.encoder.encode(problem))
            answer.0.headerFields[.retryAfter] = String(unavailable.headers.retryAfter)
            return answer
        case .undocumented(let status, _):
            return Self.answer(.init(code: status), "application/problem+json", [])
        }
    }

    private static func answer(_ status: HTTPResponse.Status, _ type: String, _ bytes: [UInt8]) -> (HTTPResponse, HTTPBody?) {
        var response = HTTPResponse(status: status)
        response.headerFields[.contentType] = type
        return (response, HTTPBody(bytes))
    }

    /// A JSON body (its size was limited before it got here) asking for a JSON answer.
    private static func isPlainJSON(_ request: HTTPRequest) -> Bool {
        let json = request.headerFields[.contentType].map { $0.lowercased().hasPrefix("application/json") } ?? true
        let takesJSON = request.headerFields[.accept].map { $0.lowercased().contains("application/json") || $0.contains("*/*") } ?? true
        return json && takesJSON
    }
}
