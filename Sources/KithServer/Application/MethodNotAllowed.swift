import Hummingbird
import HTTPTypes
import OpenAPIHummingbird
import OpenAPIRuntime
import Synchronization

/// The contract's paths and the methods each answers, learnt as the generated server registers its operations: a request
/// for one of those paths with another method is answered 405 with `Allow` (RFC 9110), not 404 as if the path were
/// unknown.
final class ContractMethods: Sendable {
    private let routes = Mutex<[(template: PathTemplate, methods: Set<HTTPRequest.Method>)]>([])

    /// The methods `path` answers, if it is one of the contract's.
    func allowed(at path: String) -> Set<HTTPRequest.Method>? {
        let segments = path.split(separator: "/")
        return routes.withLock { routes in routes.first { $0.template.matches(segments) }?.methods }
    }

    fileprivate func add(_ method: HTTPRequest.Method, at path: String) {
        let template = PathTemplate(path)
        routes.withLock { routes in
            if let index = routes.firstIndex(where: { $0.template == template }) {
                routes[index].methods.insert(method)
            } else {
                routes.append((template, [method]))
            }
        }
    }
}

/// The router as the generated server sees it, noting each operation's path and method in `ContractMethods`.
struct RecordingTransport: ServerTransport {
    let router: Router<KithRequestContext>
    let methods: ContractMethods

    func register(
        _ handler: @Sendable @escaping (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?),
        method: HTTPRequest.Method, path: String
    ) throws {
        methods.add(method, at: path)
        router.register(handler, method: method, path: path)
    }
}

struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let methods: ContractMethods

    /// Asked only of what the router found no route for, so a request that has one pays nothing.
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard let allowed = methods.allowed(at: request.uri.path), !allowed.contains(request.method) else { throw error }
            return refusal(request.method, allowed: allowed)
        }
    }

    private func refusal(_ method: HTTPRequest.Method, allowed: Set<HTTPRequest.Method>) -> Response {
        var response = KithError(
            status: .methodNotAllowed, code: "method_not_allowed", detail: "This address does not answer \(method.rawValue)."
        ).response()
        response.headers[.allow] = allowed.map(\.rawValue).sorted().joined(separator: ", ")
        return response
    }
}
