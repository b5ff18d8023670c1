import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// A new person in a family's network, checked. Only a name is required.
struct NewPerson: Sendable {
    let id: UUID
    let familyId: UUID
    let dateOfBirth: CalendarDay?
    let body: Components.Schemas.CreatePerson

    init(familyId: UUID, _ body: Components.Schemas.CreatePerson) throws {
        var check = Validation()
        id = check.uuid("id", body.id) ?? UUID()
        check.requiredText("name", body.name, max: 500)
        check.text("relationshipToChild", body.relationshipToChild, max: 500)
        dateOfBirth = check.day("dateOfBirth", body.dateOfBirth)
        check.text("contact.phone", body.contact?.phone, max: 100)
        check.text("contact.email", body.contact?.email, max: 320)
        check.text("contact.address", body.contact?.address, max: 1000)
        check.text("language", body.language, max: 100)
        try check.orThrow()
        self.familyId = familyId
        self.body = body
    }
}

/// A field edit whose base version was not the field's version when it arrived, and who had set the field.
struct StaleFieldEdit: Sendable {
    let edit: PersonFieldEdit
    let current: Int
    let currentValue: String?
    let currentEditor: UUID?
}

/// One field edit, its column and the value as text for one typed bind.
struct PersonFieldEdit {
    let key: String
    let column: String
    let cast: String
    let value: String?
    let baseVersion: Int

    static let editableKeys = [
        "name", "relationshipToChild", "isChildInFocus", "dateOfBirth", "phone", "email", "address", "language",
        "interpreterNeeded", "leftNetworkOn",
    ]

    static func all(from fields: Components.Schemas.PersonFieldEdits) throws -> [PersonFieldEdit] {
        var check = Validation()
        var edits: [PersonFieldEdit] = []
        func text(_ key: String, _ column: String, _ edit: Components.Schemas.TextFieldEdit?, max: Int, required: Bool = false) {
            guard let edit else { return }
            if required, edit.value.nilIfBlank == nil { check.add("fields.\(key)", "must not be blank") }
            check.text("fields.\(key)", edit.value, max: max)
            check.range("fields.\(key).baseVersion", edit.baseVersion, 0...Int(Int32.max))
            edits.append(.init(key: key, column: column, cast: "::text", value: edit.value.nilIfBlank, baseVersion: edit.baseVersion))
        }
        func flag(_ key: String, _ column: String, _ edit: Components.Schemas.FlagFieldEdit?) {
            guard let edit else { return }
            check.range("fields.\(key).baseVersion", edit.baseVersion, 0...Int(Int32.max))
            edits.append(.init(key: key, column: column, cast: "::boolean", value: String(edit.value), baseVersion: edit.baseVersion))
        }
        text("name", "name", fields.name, max: 500, required: true)
        text("relationshipToChild", "relationship_to_child", fields.relationshipToChild, max: 500)
        flag("isChildInFocus", "is_child_in_focus", fields.isChildInFocus)
        func day(_ key: String, _ column: String, _ edit: Components.Schemas.TextFieldEdit?) {
            guard let edit else { return }
            if let value = edit.value.nilIfBlank, CalendarDay(value) == nil { check.add("fields.\(key)", "must be a date, YYYY-MM-DD") }
            check.range("fields.\(key).baseVersion", edit.baseVersion, 0...Int(Int32.max))
            edits.append(.init(key: key, column: column, cast: "::date", value: edit.value.nilIfBlank, baseVersion: edit.baseVersion))
        }
        day("dateOfBirth", "date_of_birth", fields.dateOfBirth)
        text("phone", "phone", fields.phone, max: 100)
        text("email", "email", fields.email, max: 320)
        text("address", "address", fields.address, max: 1000)
        text("language", "language", fields.language, max: 100)
        flag("interpreterNeeded", "interpreter_needed", fields.interpreterNeeded)
        day("leftNetworkOn", "left_network_on", fields.leftNetworkOn)
        if edits.isEmpty { check.add("fields", "must name at least one field") }
        try check.orThrow()
        return edits
    }

    /// One field set to a value given as text (a conflict's chosen value), at the field's current version.
    static func one(_ key: String, value: String?, baseVersion: Int) throws -> PersonFieldEdit {
        var fields = Components.Schemas.PersonFieldEdits()
        let text = Components.Schemas.TextFieldEdit(value: value, baseVersion: baseVersion)
        func flag() throws -> Components.Schemas.FlagFieldEdit {
            guard let flag = value.flatMap(Bool.init) else { throw KithError.invalidField("value", "must be true or false") }
            return .init(value: flag, baseVersion: baseVersion)
        }
        switch key {
        case "name": fields.name = text
        case "relationshipToChild": fields.relationshipToChild = text
        case "isChildInFocus": fields.isChildInFocus = try flag()
        case "dateOfBirth": fields.dateOfBirth = text
        case "phone": fields.phone = text
        case "email": fields.email = text
        case "address": fields.address = text
        case "language": fields.language = text
        case "interpreterNeeded": fields.interpreterNeeded = try flag()
        case "leftNetworkOn": fields.leftNetworkOn = text
        default: throw KithError.invalidField("field", "is not an editable field of a person")
        }
        return try all(from: fields)[0]
    }
}
