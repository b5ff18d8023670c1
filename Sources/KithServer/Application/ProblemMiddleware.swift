import Foundation
import HTTPTypes
import Hummingbird
import KithAPI
import Logging

/// The one place errors become RFC 9457 `application/problem+json` responses, as `KithError.classifying` says what
/// each means.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return KithError.classifying(error, logger: context.logger).response()
        }
    }
}

extension KithError {
    struct Body: Encodable {
        var type: String
        var title: String
        var status: Int
        var detail: String
        var code: String
        var errors: [FieldError]?
    }

    func response() -> Response {
        let body = Body(
            type: "urn:kith:problem:\(code)", title: status.reasonPhrase, status: status.code, detail: detail,
            code: code, errors: fieldErrors.isEmpty ? nil : fieldErrors)
        let data = (try? KithJSON.encoder().encode(body)) ?? Data()
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
