import AsyncHTTPClient
import Foundation
import HTTPTypes
import KithAPI
import OpenAPIAsyncHTTPClient
import OpenAPIRuntime

/// The Kith server over HTTP: the generated client on async-http-client, with the bearer token on every request.
package enum Server {
    /// `patience`: seconds to wait for a connection before the server counts as unreachable (the work stays in the
    /// outbox); short when a sync only follows a write that is already saved.
    package static func with<T>(_ url: URL, token: String?, patience: Int64 = 10, _ body: (Client) async throws -> T) async throws -> T {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(patience)
        configuration.timeout.read = .seconds(60)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let client = Client(
            serverURL: url,
            configuration: KithJSON.configuration,
            transport: AsyncHTTPClientTransport(configuration: .init(client: http, timeout: .seconds(120))),
            middlewares: [Refusals(), WaitWhenTold()] + (token.map { [Bearer(token: $0)] } ?? []))
        do {
            let result = try await body(client)
            try await http.shutdown()
            return result
        } catch let error as ClientError where error.underlyingError is CommandError {
            try? await http.shutdown()
            throw error.underlyingError
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// The request never got an answer (no network, server down, a timeout), as opposed to an answer refusing it.
    package static func isUnreachable(_ error: any Error) -> Bool {
        guard let error = error as? ClientError else { return false }
        return !(error.underlyingError is DecodingError)
    }

    /// A problem answer (RFC 9457) as something to tell the person.
    package static func refusal(_ status: Int, _ response: Components.Responses.Problem) -> CommandError {
        refusal(status, try? response.body.applicationProblemJson)
    }

    /// The server could not answer just now (its database, a lock, many first syncs), after any waiting `WaitWhenTold`
    /// did.
    package static func refusal(_ response: Components.Responses.Unavailable) -> CommandError {
        refusal(503, try? response.body.applicationProblemJson)
    }

    static func refusal(_ status: Int, _ problem: Components.Schemas.Problem?) -> CommandError {
        .refused(status: status, code: problem?.code, detail: problem?.detail ?? problem?.title)
    }

    /// An answer the contract does not name (a 500, a proxy's page): said as it came.
    package static func undocumented(_ status: Int) -> CommandError {
        .refused(status: status, code: nil, detail: "The server answered \(status), which it never should.")
    }

    /// Every answer but a success becomes the refusal the person is told, before the generated code sees it, so that a
    /// call reads `try await client.operation(…).ok.body.json` and what a refusal means is said here once. Sync's own
    /// operations and the sign-in read their refusals' codes themselves (`SyncEngine`, `SignIn`).
    package struct Refusals: ClientMiddleware {
        static let readTheirOwn: Set<String> = WaitWhenTold.operations.union(["login"])

        package init() {}

        package func intercept(
            _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
            next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
        ) async throws -> (HTTPResponse, HTTPBody?) {
            let (response, answer) = try await next(request, body, baseURL)
            let status = response.status.code
            guard !(200..<300).contains(status), !Self.readTheirOwn.contains(operationID) else { return (response, answer) }
            let bytes: Data? = if let answer { try await Data(collecting: answer, upTo: 1 << 20) } else { nil }
            let problem = bytes.flatMap { try? KithJSON.requestDecoder().decode(Components.Schemas.Problem.self, from: $0) }
            guard (400..<500).contains(status) || status == 503 else { throw Server.undocumented(status) }
            throw Server.refusal(status, problem)
        }
    }

    /// A sync told to wait (429 when the device syncs too often, 503 while the server's database is restarting or many
    /// devices make their first sync) waits as long as `Retry-After` says and asks again, a few times: every sync request
    /// may be sent twice (mutations are applied once, by id; a pull's cursor moves only when its page is applied).
    package struct WaitWhenTold: ClientMiddleware {
        static let operations: Set<String> = ["syncPush", "syncPull", "syncAck"]
        static let attempts = 6
        static let longestWait = 60

        package init() {}

        package func intercept(
            _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
            next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
        ) async throws -> (HTTPResponse, HTTPBody?) {
            guard Self.operations.contains(operationID) else { return try await next(request, body, baseURL) }
            // A body can be read once; a request sent again needs its bytes.
            let bytes: Data? = if let body { try await Data(collecting: body, upTo: 16 << 20) } else { nil }
            var attempt = 1
            while true {
                let (response, answer) = try await next(request, bytes.map { HTTPBody($0) }, baseURL)
                guard [429, 503].contains(response.status.code), attempt < Self.attempts,
                      let wait = response.headerFields[.retryAfter].flatMap(Int.init), (0...Self.longestWait).contains(wait)
                else { return (response, answer) }
                try await Task.sleep(for: .seconds(wait))
                attempt += 1
            }
        }
    }

    struct Bearer: ClientMiddleware {
        let token: String

        func intercept(
            _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
            next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
        ) async throws -> (HTTPResponse, HTTPBody?) {
            var request = request
            request.headerFields[.authorization] = "Bearer \(token)"
            return try await next(request, body, baseURL)
        }
    }
}
