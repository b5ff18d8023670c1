import Crypto
import Foundation
import KithCore
import Synchronization

/// The `after` cursor of every list: the sort keys of the last item its caller was shown, signed for that list and
/// that caller (HMAC-SHA256 under the server's list-cursor key, migration 0018), as a pull cursor is signed. A
/// hand-made or altered cursor, or one made for another list or another worker, is refused with 400, so a cursor can
/// position a page only after something its caller saw: it never makes the server look up a record they may not see.
struct ListCursor: Sendable {
    enum List: String { case families, familyAudit, organisationAudit, reviewItems, timeline, noteSearch }

    let key: SymmetricKey

    /// `context` is signed but not carried: what else the page depends on and its caller must ask again (a search's
    /// question, which a cursor in a URL must not repeat).
    func make(_ keys: [String], list: List, for principal: Principal, context: String = "") -> String {
        PageCursor(keys + [Data(signature(keys, list: list, for: principal, context: context)).base64URL]).encoded
    }

    /// The keys of `value`, nil for no cursor; `field` names the parameter it came in.
    func read(
        _ value: String?, keys count: Int, list: List, for principal: Principal, context: String = "", field: String = "after"
    ) throws -> [String]? {
        guard let value else { return nil }
        guard let cursor = PageCursor(encoded: value, count: count + 1),
              let mac = Data(base64URL: Substring(cursor.keys[count])),
              HMAC<SHA256>.isValidAuthenticationCode(
                mac, authenticating: Self.message(Array(cursor.keys.prefix(count)), list: list, for: principal, context: context),
                using: key)
        else { throw Self.notFromThisList(field) }
        return Array(cursor.keys.prefix(count))
    }

    /// The refusal of a cursor this server did not make for this list and caller, naming the parameter it came in.
    static func notFromThisList(_ field: String = "after") -> KithError {
        KithError.invalidField(field, "is not a cursor from this list")
    }

    private func signature(_ keys: [String], list: List, for principal: Principal, context: String) -> HMAC<SHA256>.MAC {
        HMAC<SHA256>.authenticationCode(for: Self.message(keys, list: list, for: principal, context: context), using: key)
    }

    private static func message(_ keys: [String], list: List, for principal: Principal, context: String) -> Data {
        Data(([list.rawValue, principal.organisationId.text, principal.workerId.text, context] + keys)
            .joined(separator: "\u{0}").utf8)
    }
}

/// The server's list-cursor key, read from the database (`kith_list_cursor_key`) before the server listens and kept:
/// read in a request, it would take a second connection while the request holds one.
final class ListCursorKey: Sendable {
    private let key = Mutex<SymmetricKey?>(nil)

    func load(from db: Database) async throws {
        guard let bytes = try await db.definerLookup(ListCursorKeyRead.self, "SELECT kith_list_cursor_key()")?.decode(Data.self) else {
            throw AppConfig.Invalid(problems: ["the database has no list-cursor key: run `kith-server migrate`"])
        }
        key.withLock { $0 = SymmetricKey(data: bytes) }
    }

    var cursor: ListCursor {
        get throws {
            guard let known = key.withLock({ $0 }) else {
                throw KithError(status: .serviceUnavailable, code: "not_ready", detail: "The server is still starting.", retryAfterSeconds: 1)
            }
            return ListCursor(key: known)
        }
    }
}

enum ListCursorKeyRead: HotStatement {}
