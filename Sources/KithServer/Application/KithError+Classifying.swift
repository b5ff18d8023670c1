import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OpenAPIRuntime
import PostgresNIO

extension KithError {
    /// What an error means to whoever asked: an HTTP client (`ProblemMiddleware`), a family member on the page, or a
    /// pushed mutation, which is rejected and kept when the fault is its own (`isTheCallers`) and otherwise fails its
    /// push for the device to try again. Our own `KithError`s carry their status and code. Errors the generated code
    /// raises while decoding a request (bad JSON, a wrong type, an unknown enum value) are the caller's: 400
    /// `malformed_request`. Database constraint violations that validation should have caught are the caller's error
    /// they represent; a database that is gone, restarting or too slow is 503; any other failure is a 500 whose
    /// details stay in the log, never in the response. Logged here, once, by kind.
    static func classifying(_ error: any Error, logger: Logger) -> KithError {
        switch error {
        case let error as KithError:
            return error
        case let error as DecodingError:
            return .malformed("The request body does not match the contract: \(describe(error))")
        case let error as ServerError:
            // The runtime's own errors (wrong content type, missing body, a bad query value) are about the request.
            if String(describing: type(of: error.underlyingError)) == "RuntimeError" {
                return .malformed("The request does not match the contract: \(error.underlyingError)")
            }
            return classifying(error.underlyingError, logger: logger)
        case DatabaseUnavailable.noConnection:
            logger.warning("no database connection in time")
            return .databaseUnavailable
        case let error as PSQLError where error.serverInfo == nil:
            // The connection failed or was lost (the database restarted, crashed or failed over): the pool replaces it.
            // A write whose commit was under way when it was lost may have been made: a sync mutation, or a record
            // written with an id the client chose, is taken once however often it is sent.
            logger.warning("database connection lost", metadata: ["code": .string("\(error.code)")])
            return .databaseUnavailable
        case let error as PSQLError:
            switch error.serverInfo?[.sqlState] {
            case "KT401":
                // kith_acting_worker: the request's token stopped standing between its lookup and its one statement.
                return .unauthorized
            case "23505":
                return .conflict("conflict", "A record with this id or reference already exists.")
            case "23503":
                return .malformed("The request refers to a record that does not exist.")
            case let state? where state.hasPrefix("22") || state.hasPrefix("23"):
                return .malformed("The request has a value the database cannot store.")
            case "57014", "25P03", "55P03":
                // statement_timeout, idle_in_transaction_session_timeout or lock_timeout: nothing was changed.
                logger.warning("database statement timed out", metadata: ["sqlState": .string(error.serverInfo?[.sqlState] ?? "none")])
                return KithError(
                    status: .serviceUnavailable, code: "timeout", detail: "The database took too long; nothing was changed. Try again.",
                    retryAfterSeconds: KithError.retryAfterDatabase)
            case let state? where state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300":
                // The connection failed, the server is shutting down or starting (57P01–57P03), or it is full.
                logger.warning("database unavailable", metadata: ["sqlState": .string(state)])
                return .databaseUnavailable
            default:
                logger.error("database error", metadata: ["sqlState": .string(error.serverInfo?[.sqlState] ?? "none"), "code": .string("\(error.code)")])
                return KithError(status: .internalServerError, code: "internal_error", detail: "Something went wrong on the server.")
            }
        case let error as HTTPError:
            let code = switch error.status.code {
            case 404: "not_found"
            case 405: "method_not_allowed"
            case 413: "too_large"
            case 400: "malformed_request"
            default: "http_\(error.status.code)"
            }
            return KithError(status: error.status, code: code, detail: error.body ?? error.status.reasonPhrase)
        default:
            logger.error("unhandled error", metadata: ["type": .string(String(reflecting: type(of: error)))])
            return KithError(status: .internalServerError, code: "internal_error", detail: "Something went wrong on the server.")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
            return keys.isEmpty ? "the body" : keys.joined(separator: ".")
        }
        return switch error {
        case .keyNotFound(let key, let context): "\(path(context)).\(key.stringValue) is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): "\(path(context)) has the wrong type"
        case .dataCorrupted(let context): "\(path(context)) is not valid"
        @unknown default: "it cannot be read"
        }
    }

    /// The fault is the caller's (a 4xx): told to them, and for a pushed mutation, rejected and kept for review.
    var isTheCallers: Bool { status.code < 500 }
}
