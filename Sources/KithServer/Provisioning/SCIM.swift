import Foundation
import HTTPTypes
import Hummingbird
import KithCore
import Logging
import NIOCore
import PostgresNIO

/// SCIM 2.0 (RFC 7643, RFC 7644) at `/scim/v2`: the identity provider's provisioning service creates, changes and
/// switches off workers with a token an administrator made for it (`POST /v1/organisation/scim-tokens`). Each request's
/// token is looked up on its own (`kith_scim_token`, before the organisation is known); its work is one transaction
/// behind the wall of the token's organisation (`Provisioner`). Answers and errors are `application/scim+json`.
struct SCIM: Sendable {
    let db: Database
    /// `KITH_PUBLIC_URL/scim/v2`, where `meta.location` points.
    let base: String
    let discovery: SCIMDiscovery
    let logger: Logger

    static let contentType = "application/scim+json"
    static let maxResults = 200

    init(db: Database, config: AppConfig, logger: Logger) throws {
        self.db = db
        self.base = config.publicBase.appendingPathComponent("scim/v2").absoluteString
        self.discovery = try SCIMDiscovery(base: base)
        self.logger = logger
    }

    func register(on router: Router<KithRequestContext>) {
        let scim = router.group("scim/v2")
        scim.get("ServiceProviderConfig") { request, _ in await answer(request) { _ in .init(.ok, data: discovery.serviceProviderConfig) } }
        scim.get("ResourceTypes") { request, _ in await answer(request) { _ in .init(.ok, data: discovery.resourceTypes) } }
        scim.get("Schemas") { request, _ in await answer(request) { _ in .init(.ok, data: discovery.schemas) } }
        for (path, documents) in [("ResourceTypes/:id", discovery.resourceType), ("Schemas/:id", discovery.schema)] {
            scim.get(RouterPath(path)) { request, context in
                let id = context.parameters.get("id") ?? ""
                return await answer(request) { _ in
                    guard let document = documents[id] else { throw Self.noSuchEndpoint }
                    return .init(.ok, data: document)
                }
            }
        }
        scim.get("Users") { request, _ in
            await answer(request) { provisioner in
                let query = try ListQuery(request.uri.queryParameters)
                let (total, page) = try await provisioner.users(query.filter, startIndex: query.startIndex, count: query.count)
                return .init(.ok, [
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": total,
                    "startIndex": query.startIndex, "itemsPerPage": page.count,
                    "Resources": page.map { json($0, query.returned) },
                ])
            }
        }
        scim.post("Users") { request, _ in
            let body = try await Self.body(request)
            return await answer(request) { provisioner in
                let created = try await provisioner.create(try SCIMUser(try Self.object(body)))
                return .init(.created, json(created, try Returned(request.uri.queryParameters)), location: location(created.id))
            }
        }
        scim.get("Users/:id") { request, context in
            await answer(request) { provisioner in
                .init(.ok, json(try await provisioner.user(try Self.id(context)), try Returned(request.uri.queryParameters)))
            }
        }
        scim.put("Users/:id") { request, context in
            let body = try await Self.body(request)
            return await answer(request) { provisioner in
                let before = try await provisioner.user(try Self.id(context), forUpdate: true)
                let after = try await provisioner.write(try SCIMUser(try Self.object(body)), over: before)
                return .init(.ok, json(after, try Returned(request.uri.queryParameters)))
            }
        }
        scim.patch("Users/:id") { request, context in
            let body = try await Self.body(request)
            return await answer(request) { provisioner in
                let before = try await provisioner.user(try Self.id(context), forUpdate: true)
                var user = before.user
                try user.apply(patch: try Self.object(body))
                let after = try await provisioner.write(user, over: before)
                return .init(.ok, json(after, try Returned(request.uri.queryParameters)))
            }
        }
        scim.delete("Users/:id") { request, context in
            await answer(request) { provisioner in
                try await provisioner.remove(try Self.id(context))
                return .init(.noContent, nil)
            }
        }
        // Another method at one of those addresses: 405, naming those it answers. POST /.search, which Kith does not
        // offer (a filter on /Users does what providers need): 501. Anywhere else under /scim/v2: 404.
        for (path, answers) in Self.addresses {
            for method in Self.methods where !answers.contains(method) {
                scim.on(RouterPath(path), method: method) { request, _ in
                    await answer(request) { _ in
                        throw KithError(
                            status: .methodNotAllowed, code: "method_not_allowed",
                            detail: "This address answers \(answers.map(\.rawValue).joined(separator: ", ")) only.")
                    }
                }
            }
        }
        for path in [".search", "Users/.search"] {
            scim.post(RouterPath(path)) { request, _ in
                await answer(request) { _ in
                    throw KithError(status: .notImplemented, code: "not_implemented", detail: "Kith does not search by POST: filter GET /Users.")
                }
            }
        }
        for method in Self.methods {
            scim.on("**", method: method) { request, _ in await answer(request) { _ in throw Self.noSuchEndpoint } }
        }
    }

    /// SCIM's addresses here and the methods each answers.
    private static let addresses: [(path: String, answers: [HTTPRequest.Method])] = [
        ("ServiceProviderConfig", [.get]), ("ResourceTypes", [.get]), ("ResourceTypes/:id", [.get]), ("Schemas", [.get]),
        ("Schemas/:id", [.get]), ("Users", [.get, .post]), ("Users/:id", [.get, .put, .patch, .delete]),
    ]
    private static let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete]

    // MARK: Answering

    /// What a handler answers: a status, a JSON object (none for 204) and, for a created User, its address.
    struct Reply: Sendable {
        let status: HTTPResponse.Status
        let body: Data?
        var location: String?

        init(_ status: HTTPResponse.Status, _ object: [String: Any]?, location: String? = nil) {
            self.init(status, data: object.flatMap { try? SCIM.data($0) }, location: location)
        }

        init(_ status: HTTPResponse.Status, data: Data?, location: String? = nil) {
            self.status = status
            self.body = data
            self.location = location
        }
    }

    /// The request's token looked up, then `work` in one transaction behind its organisation's wall; every error as
    /// SCIM says it (RFC 7644 §3.12), classified as every other error of Kith's is (`KithError.classifying`).
    private func answer(_ request: Request, _ work: @escaping @Sendable (Provisioner) async throws -> Reply) async -> Response {
        do {
            guard let token = SignIn.bearerToken(request.headers),
                  let row = try await db.definerLookup(
                    SCIMTokenLookup.self, "SELECT organisation_id, token_id FROM kith_scim_token(\(Tokens.hash(token)))")
            else { throw KithError.unauthorized }
            let (organisation, tokenId) = try row.decode((UUID, UUID).self)
            let reply = try await db.transaction(organisation: organisation) { connection in
                try await work(Provisioner(connection: connection, organisation: organisation, token: tokenId, logger: logger))
            }
            var headers: HTTPFields = [:]
            if reply.body != nil { headers[.contentType] = Self.contentType }
            if let location = reply.location { headers[.location] = location }
            return Response(status: reply.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: reply.body ?? Data())))
        } catch {
            return Self.response(KithError.classifying(error, logger: logger))
        }
    }

    /// The scimType values of RFC 7644 §3.12 (a `KithError`'s code when it is one of them).
    private static let scimTypes: Set<String> = [
        "invalidFilter", "tooMany", "uniqueness", "mutability", "invalidSyntax", "invalidPath", "noTarget", "invalidValue",
        "invalidVers", "sensitive",
    ]

    static func response(_ error: KithError) -> Response {
        var body: [String: Any] = [
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": String(error.status.code), "detail": error.detail,
        ]
        // A clash with another worker's userName or externalId, however it was found, is SCIM's `uniqueness`.
        if error.status == .conflict {
            body["scimType"] = "uniqueness"
        } else if scimTypes.contains(error.code) {
            body["scimType"] = error.code
        }
        var headers: HTTPFields = [.contentType: contentType]
        if let seconds = error.retryAfterSeconds { headers[.retryAfter] = String(seconds) }
        if error.status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        let data = (try? SCIM.data(body)) ?? Data()
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private static let noSuchEndpoint = KithError(status: .notFound, code: "not_found", detail: "SCIM has nothing at this address.")

    // MARK: Reading requests

    static func data(_ object: Any) throws -> Data {
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// The request's body, read already within the server's limit (`BodyLimitMiddleware`).
    private static func body(_ request: Request) async throws -> ByteBuffer {
        var request = request
        return try await request.collectBody(upTo: .max)
    }

    /// The body as a JSON object, read once the token has been looked up (so that a caller without one hears 401, not
    /// what was wrong with their body).
    private static func object(_ body: ByteBuffer) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
            throw KithError.scim(.badRequest, "invalidSyntax", "The body must be a JSON object.")
        }
        return object
    }

    private static func id(_ context: KithRequestContext) throws -> UUID {
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else {
            throw KithError(status: .notFound, code: "not_found", detail: "No such User.")
        }
        return id
    }

    private func location(_ id: UUID) -> String { "\(base)/Users/\(id.text)" }

    private func json(_ found: Provisioner.Found, _ returned: Returned) -> [String: Any] {
        found.user.json(
            id: found.id,
            meta: [
                "resourceType": "User", "created": found.created.formatted(.iso8601), "lastModified": found.changed.formatted(.iso8601),
                "location": location(found.id),
            ],
            only: returned.only, excluding: returned.excluding)
    }

    /// `attributes` and `excludedAttributes` (RFC 7644 §3.9): names without case or the User schema's URN.
    struct Returned: Sendable {
        var only: Set<String>?
        var excluding: Set<String> = []

        init(_ parameters: Hummingbird.Parameters) throws {
            func names(_ name: String) -> Set<String>? {
                parameters[Substring(name)].map { text in
                    Set(text.split(separator: ",").map { name in
                        var name = name.trimmingCharacters(in: .whitespaces).lowercased()
                        if name.hasPrefix(SCIMUser.schema.lowercased() + ":") { name.removeFirst(SCIMUser.schema.count + 1) }
                        return name
                    })
                }
            }
            only = names("attributes")
            excluding = names("excludedAttributes") ?? []
        }
    }

    /// A list's filter and page (RFC 7644 §3.4.2): `startIndex` from 1, `count` at most `maxResults`.
    struct ListQuery: Sendable {
        let filter: SCIMFilter?
        let startIndex: Int
        let count: Int
        let returned: Returned

        init(_ parameters: Hummingbird.Parameters) throws {
            func number(_ name: String) throws -> Int? {
                guard let text = parameters[Substring(name)] else { return nil }
                guard let value = Int(text), abs(value) < 1_000_000_000 else {
                    throw KithError.scim(.badRequest, "invalidValue", "`\(name)` must be a whole number.")
                }
                return value
            }
            filter = try parameters["filter"].map { try SCIMFilter(String($0)) }
            // Below 1 is read as 1, a negative count as 0, and more than the most as the most (RFC 7644 §3.4.2.4).
            startIndex = max(1, try number("startIndex") ?? 1)
            count = min(SCIM.maxResults, max(0, try number("count") ?? 100))
            returned = try Returned(parameters)
        }
    }
}

/// A SCIM request's token: which organisation it is for, if it still stands.
enum SCIMTokenLookup: HotStatement {}
