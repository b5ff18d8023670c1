import Foundation
import HTTPTypes
import KithCore

/// A worker as SCIM's User resource (RFC 7643 §4.1) holds them: only what Kith keeps of a person. `userName` is the
/// worker's e-mail (the provider's user principal name), `externalId` their `ssoSubject`, `displayName` the name Kith
/// shows, `name` the given and family names beside it, `active` whether they have not left. Attributes Kith does not
/// keep (emails, phone numbers, the enterprise extension…) are ignored wherever they come, as RFC 7644 lets a service
/// provider do, so that a provider's default attribute mappings do not fail every request.
struct SCIMUser: Equatable, Sendable {
    var userName: String
    var displayName: String
    var givenName: String?
    var familyName: String?
    var externalId: String?
    var active: Bool

    static let schema = "urn:ietf:params:scim:schemas:core:2.0:User"

    /// The attributes a User has here, as their names are spelt; SCIM compares attribute names without case.
    enum Attribute: String, CaseIterable {
        case userName, displayName, name, externalId, active, id, meta, schemas

        init?(named name: String) {
            guard let found = Self.allCases.first(where: { $0.rawValue.caseInsensitiveCompare(name) == .orderedSame }) else { return nil }
            self = found
        }
    }

    enum NamePart: String, CaseIterable {
        case givenName, familyName

        init?(named name: String) {
            guard let found = Self.allCases.first(where: { $0.rawValue.caseInsensitiveCompare(name) == .orderedSame }) else { return nil }
            self = found
        }
    }

    /// A User sent whole (POST, PUT): `userName`, `displayName` and `active` are required here, since Kith shows every
    /// worker by a name and needs to know whether they may sign in; `id` and `meta` are the server's and ignored.
    init(_ body: [String: Any]) throws {
        let schemas = body.scim("schemas") as? [String] ?? []
        guard schemas.contains(where: { $0.caseInsensitiveCompare(Self.schema) == .orderedSame }) else {
            throw KithError.scim(.badRequest, "invalidSyntax", "`schemas` must name \(Self.schema).")
        }
        guard let userName = body.scim("userName") else { throw KithError.scim(.badRequest, "invalidValue", "`userName` is required.") }
        guard let displayName = body.scim("displayName") else {
            throw KithError.scim(.badRequest, "invalidValue", "`displayName` is required: it is the name Kith shows.")
        }
        guard let active = body.scim("active") else { throw KithError.scim(.badRequest, "invalidValue", "`active` is required.") }
        self.userName = ""
        self.displayName = ""
        self.active = true
        try set(.userName, to: userName)
        try set(.displayName, to: displayName)
        try set(.active, to: active)
        if let name = body.scim("name") { try set(.name, to: name) }
        if let externalId = body.scim("externalId") { try set(.externalId, to: externalId) }
    }

    init(userName: String, displayName: String, givenName: String?, familyName: String?, externalId: String?, active: Bool) {
        self.userName = userName
        self.displayName = displayName
        self.givenName = givenName
        self.familyName = familyName
        self.externalId = externalId
        self.active = active
    }

    // MARK: PATCH (RFC 7644 §3.5.2)

    /// The operations of a PatchOp body applied in order; all or nothing, as the caller writes the result in one go.
    mutating func apply(patch body: [String: Any]) throws {
        let schemas = body.scim("schemas") as? [String] ?? []
        guard schemas.contains("urn:ietf:params:scim:api:messages:2.0:PatchOp") else {
            throw KithError.scim(.badRequest, "invalidSyntax", "`schemas` must name urn:ietf:params:scim:api:messages:2.0:PatchOp.")
        }
        guard let operations = body.scim("Operations") as? [[String: Any]], !operations.isEmpty else {
            throw KithError.scim(.badRequest, "invalidSyntax", "`Operations` must list at least one operation.")
        }
        guard operations.count <= Self.maxOperations else {
            throw KithError.scim(.badRequest, "tooMany", "At most \(Self.maxOperations) operations in one PATCH.")
        }
        for operation in operations {
            let op = (operation.scim("op") as? String)?.lowercased()
            let path = operation.scim("path") as? String
            let value = operation.scim("value")
            switch (op, path) {
            case ("add", let path?), ("replace", let path?):
                try set(path: path, to: value)
            case ("add", nil), ("replace", nil):
                // Without a path the value is an object of attributes to set, each as if named by a path.
                guard let values = value as? [String: Any] else {
                    throw KithError.scim(.badRequest, "invalidValue", "Without a `path`, `value` must be an object of attributes.")
                }
                for (path, value) in values { try set(path: path, to: value) }
            case ("remove", let path?):
                try set(path: path, to: nil)
            case ("remove", nil):
                throw KithError.scim(.badRequest, "noTarget", "`remove` needs a `path`.")
            default:
                throw KithError.scim(.badRequest, "invalidSyntax", "`op` must be add, replace or remove.")
            }
        }
    }

    static let maxOperations = 100

    /// `path` as RFC 7644 §3.10 writes it (`displayName`, `name.givenName`, with or without the User schema's URN in
    /// front); nil `value` removes. A path to an attribute Kith does not keep changes nothing.
    private mutating func set(path: String, to value: Any?) throws {
        var path = path
        if path.lowercased().hasPrefix(Self.schema.lowercased() + ":") { path.removeFirst(Self.schema.count + 1) }
        if path.lowercased().hasPrefix("urn:") { return }
        let head = path.prefix { $0 != "." && $0 != "[" }
        guard let attribute = Attribute(named: String(head)) else { return }
        let rest = path.dropFirst(head.count)
        if rest.isEmpty {
            try set(attribute, to: value)
        } else if attribute == .name, rest.first == ".", let part = NamePart(named: String(rest.dropFirst())) {
            try set(part, to: value)
        } else {
            throw KithError.scim(.badRequest, "invalidPath", "`\(path)` names no attribute a User has here.")
        }
    }

    private mutating func set(_ attribute: Attribute, to value: Any?) throws {
        switch attribute {
        case .userName:
            guard let value else { throw KithError.scim(.badRequest, "mutability", "`userName` is required and cannot be removed.") }
            userName = try Self.text(value, "userName", pattern: Validation.visible(max: 320), shape: "3 to 320 characters, no spaces", min: 3)
        case .displayName:
            guard let value else { throw KithError.scim(.badRequest, "mutability", "`displayName` is required and cannot be removed.") }
            displayName = try Self.words(value, "displayName")
        case .active:
            guard let value else { throw KithError.scim(.badRequest, "mutability", "`active` is required and cannot be removed.") }
            active = try Self.boolean(value, "active")
        case .externalId:
            externalId = try value.map { try Self.text($0, "externalId", pattern: Validation.visible(max: 255), shape: "1 to 255 characters, no spaces") }
        case .name:
            guard let value else {
                givenName = nil
                familyName = nil
                return
            }
            guard let parts = value as? [String: Any] else { throw KithError.scim(.badRequest, "invalidValue", "`name` must be an object.") }
            // Sub-attributes not given are left as they were (RFC 7644 §3.5.2.1, §3.5.2.3).
            for (key, value) in parts {
                if let part = NamePart(named: key) { try set(part, to: value is NSNull ? nil : value) }
            }
        case .id, .meta, .schemas:
            // The server's own: ignored when sent (RFC 7643 §3.1).
            return
        }
    }

    private mutating func set(_ part: NamePart, to value: Any?) throws {
        let text = try value.map { try Self.words($0, "name.\(part.rawValue)") }
        switch part {
        case .givenName: givenName = text
        case .familyName: familyName = text
        }
    }

    private static func words(_ value: Any, _ field: String) throws -> String {
        guard let text = value as? String else { throw KithError.scim(.badRequest, "invalidValue", "`\(field)` must be a string.") }
        var check = Validation()
        check.requiredText(field, text, max: 500)
        guard check.isValid else { throw KithError.scim(.badRequest, "invalidValue", "`\(field)` \(check.problems[0].message).") }
        return text
    }

    private static func text(_ value: Any, _ field: String, pattern: String, shape: String, min: Int = 1) throws -> String {
        guard let text = value as? String, text.count >= min, text.range(of: pattern, options: .regularExpression) != nil else {
            throw KithError.scim(.badRequest, "invalidValue", "`\(field)` must be \(shape).")
        }
        return text
    }

    private static let booleanKind = type(of: NSNumber(value: true))

    /// A boolean, or the strings "True" and "False" that Entra ID's provisioning sends for one.
    private static func boolean(_ value: Any, _ field: String) throws -> Bool {
        // JSONSerialization reads true and false as NSNumber's boolean kind, and 1 and 0 as plain numbers.
        if let number = value as? NSNumber, type(of: number) == Self.booleanKind { return number.boolValue }
        if let text = (value as? String)?.lowercased(), text == "true" || text == "false" { return text == "true" }
        throw KithError.scim(.badRequest, "invalidValue", "`\(field)` must be true or false.")
    }

    // MARK: The resource as answered

    /// The User as JSON, with only the attributes asked for (`attributes`) or without those refused
    /// (`excludedAttributes`); `id` and `schemas` always (RFC 7644 §3.9).
    func json(id: UUID, meta: [String: Any], only: Set<String>?, excluding: Set<String>) -> [String: Any] {
        var name: [String: Any] = [:]
        if let givenName { name["givenName"] = givenName }
        if let familyName { name["familyName"] = familyName }
        var all: [String: Any] = ["userName": userName, "displayName": displayName, "active": active, "meta": meta]
        if !name.isEmpty { all["name"] = name }
        if let externalId { all["externalId"] = externalId }
        var kept: [String: Any] = ["schemas": [Self.schema], "id": id.text]
        for (key, value) in all {
            let lower = key.lowercased()
            if let only {
                if only.contains(lower) {
                    kept[key] = value
                } else if key == "name", let value = value as? [String: Any] {
                    let parts = value.filter { only.contains("name.\($0.key.lowercased())") }
                    if !parts.isEmpty { kept[key] = parts }
                }
            } else if !excluding.contains(lower) {
                if key == "name", let value = value as? [String: Any] {
                    let parts = value.filter { !excluding.contains("name.\($0.key.lowercased())") }
                    if !parts.isEmpty { kept[key] = parts }
                } else {
                    kept[key] = value
                }
            }
        }
        return kept
    }
}

/// The one filter a provider needs to find a person before creating them: `attribute eq "value"` on `userName`
/// (without case, as the schema says), `externalId` or `id`. Anything else is refused with `invalidFilter`.
struct SCIMFilter: Equatable, Sendable {
    enum Attribute: String { case userName, externalId, id }
    let attribute: Attribute
    let value: String

    init(_ text: String) throws {
        let refused = KithError.scim(
            .badRequest, "invalidFilter", "Kith filters Users by `userName eq \"…\"`, `externalId eq \"…\"` or `id eq \"…\"` only.")
        guard text.count <= 1_000,
              let match = text.firstMatch(of: #/^\s*([A-Za-z:.0-9]+)\s+[eE][qQ]\s+"((?:[^"\\]|\\.)*)"\s*$/#) else { throw refused }
        var name = String(match.1)
        if name.lowercased().hasPrefix(SCIMUser.schema.lowercased() + ":") { name.removeFirst(SCIMUser.schema.count + 1) }
        guard let attribute = [Attribute.userName, .externalId, .id].first(where: { $0.rawValue.caseInsensitiveCompare(name) == .orderedSame })
        else { throw refused }
        // The value is a JSON string (RFC 7644 §3.4.2.2): its escapes read as JSON reads them.
        guard let value = try? JSONDecoder().decode(String.self, from: Data("\"\(match.2)\"".utf8)) else { throw refused }
        self.attribute = attribute
        self.value = value
    }
}

extension Dictionary where Key == String, Value == Any {
    /// The value of a SCIM attribute or message field, its name compared without case (RFC 7643 §2.1); JSON's null
    /// is no value (RFC 7643 §2.5).
    func scim(_ name: String) -> Any? {
        guard let value = first(where: { $0.key.caseInsensitiveCompare(name) == .orderedSame })?.value, !(value is NSNull) else { return nil }
        return value
    }
}

extension KithError {
    /// An error as SCIM says it (RFC 7644 §3.12): its `scimType` is the code.
    static func scim(_ status: HTTPResponse.Status, _ scimType: String, _ detail: String) -> KithError {
        KithError(status: status, code: scimType, detail: detail)
    }
}
