import HTTPTypes

/// An error a client can act on; every error is classified as one in one place (`KithError.classifying`), for HTTP,
/// the family page and sync alike.
public struct KithError: Error, Sendable {
    public struct FieldError: Sendable, Codable, Equatable {
        public var field: String
        public var message: String
    }

    public var status: HTTPResponse.Status
    public var code: String
    public var detail: String
    public var fieldErrors: [FieldError] = []
    public var retryAfterSeconds: Int?

    static func malformed(_ detail: String, fields: [FieldError] = []) -> KithError {
        KithError(status: .badRequest, code: "malformed_request", detail: detail, fieldErrors: fields)
    }

    static func invalidField(_ field: String, _ message: String) -> KithError {
        .malformed("The request has a field that is not valid.", fields: [FieldError(field: field, message: message)])
    }

    /// Also what a caller gets for a record that exists but is outside their relationships.
    static let notFound = KithError(status: .notFound, code: "not_found", detail: "No such record.")

    static let unauthorized = KithError(
        status: .unauthorized, code: "unauthorized", detail: "Sign in: the bearer token is missing, expired or revoked.")

    static func forbidden(_ detail: String) -> KithError {
        KithError(status: .forbidden, code: "forbidden", detail: detail)
    }

    static func conflict(_ code: String, _ detail: String) -> KithError {
        KithError(status: .conflict, code: code, detail: detail)
    }

    /// The database could not be reached in time, or the connection to it was lost: the client tries again later.
    static let databaseUnavailable = KithError(
        status: .serviceUnavailable, code: "database_unavailable",
        detail: "The database cannot be reached just now. Try again shortly.", retryAfterSeconds: retryAfterDatabase)

    /// What a client is told to wait when the database is at fault: about how long a restart or a failover takes.
    static let retryAfterDatabase = 5

    static func tooManyRequests(retryAfter seconds: Int, _ detail: String) -> KithError {
        KithError(status: .tooManyRequests, code: "too_many_requests", detail: detail, retryAfterSeconds: seconds)
    }

    static func tooManySignIns(retryAfter seconds: Int) -> KithError {
        tooManyRequests(retryAfter: seconds, "Too many failed sign-ins; wait before trying again.")
    }
}
