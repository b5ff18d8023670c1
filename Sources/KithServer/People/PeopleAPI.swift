import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

/// The family network. A person needs only a name: no date of birth, surname or address is ever required.
extension KithService {
    func listPeople(_ input: Operations.ListPeople.Input) async throws -> Operations.ListPeople.Output {
        let principal = try Principal.required()
        let familyId = try UUID(path: input.path.familyId)
        let people = try await readFamily(familyId, "people") { records, _ in
            try await records.people(familyId: familyId)
        }
        return .ok(.init(body: .json(.init(items: people))))
    }

    func addPerson(_ input: Operations.AddPerson.Input) async throws -> Operations.AddPerson.Output {
        let principal = try Principal.required()
        let body = switch input.body { case .json(let body): body }
        let draft = try NewPerson(familyId: try UUID(path: input.path.familyId), body)
        let person = try await records { records in
            let access = try await records.access(draft.familyId, for: .read)
            try await records.save(draft, access: access)
            return try await records.person(draft.id)
        }
        return .created(.init(body: .json(person)))
    }

    /// Per-field edits: each names the version it was read at. Online, a stale version changes nothing and answers
    /// 409 with the current values, so the person editing decides; edits of different fields never conflict.
    func updatePerson(_ input: Operations.UpdatePerson.Input) async throws -> Operations.UpdatePerson.Output {
        let principal = try Principal.required()
        let personId = try UUID(path: input.path.personId)
        let body = switch input.body { case .json(let body): body }
        let edits = try PersonFieldEdit.all(from: body.fields)
        let person = try await records { records in
            let familyId = try await records.familyOf(.people, id: personId)
            let access = try await records.access(familyId, for: .read)
            try await records.setFields(personId, edits, access: access) { stale in
                guard stale.isEmpty else {
                    var error = KithError.conflict(
                        "version_conflict",
                        "Someone changed these fields since you read them; nothing was saved. Read the person again and decide.")
                    error.fieldErrors = stale.map { .init(field: $0.edit.key, message: "is at version \($0.current), not \($0.edit.baseVersion)") }
                    throw error
                }
            }
            return try await records.person(personId)
        }
        return .ok(.init(body: .json(person)))
    }
}

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

extension Records {
    func save(_ person: NewPerson, access: FamilyAccess) async throws {
        let body = person.body
        try await connection.insertNew(
            """
            INSERT INTO people (organisation_id, id, family_id, name, relationship_to_child, is_child_in_focus,
                                date_of_birth, phone, email, address, language, interpreter_needed, created_by)
            VALUES (\(principal.organisationId), \(person.id), \(person.familyId), \(body.name), \(body.relationshipToChild.nilIfBlank),
                    \(body.isChildInFocus ?? false), \(person.dateOfBirth?.description)::date, \(body.contact?.phone.nilIfBlank),
                    \(body.contact?.email.nilIfBlank), \(body.contact?.address.nilIfBlank), \(body.language.nilIfBlank),
                    \(body.interpreterNeeded ?? false), \(principal.workerId))
            """, record: "person", logger: logger)
        try await audit(.write, "person", recordId: person.id, access: access)
    }

    /// Applies field edits in arrival order, each field's version going up by one and its editor recorded, once
    /// `decide` has seen the stale ones (online it refuses them; a device's are kept as conflicts). Returns the stale ones.
    @discardableResult
    func setFields(
        _ personId: UUID, _ edits: [PersonFieldEdit], access: FamilyAccess,
        decide: ([StaleFieldEdit]) throws -> Void
    ) async throws -> [StaleFieldEdit] {
        guard let (versionsJSON, editorsJSON, valuesJSON) = try await connection.query(
            """
            SELECT field_versions::text, field_editors::text,
                   jsonb_build_object('name', name, 'relationshipToChild', relationship_to_child,
                                      'isChildInFocus', is_child_in_focus::text, 'dateOfBirth', date_of_birth::text,
                                      'phone', phone, 'email', email, 'address', address, 'language', language,
                                      'interpreterNeeded', interpreter_needed::text, '', created_by::text)::text
            FROM people
            WHERE organisation_id = \(principal.organisationId) AND id = \(personId) FOR UPDATE
            """, logger: logger
        ).decode((String, String, String).self).first(where: { _ in true }) else { throw KithError.notFound }
        let versions = try JSONDecoder().decode([String: Int].self, from: Data(versionsJSON.utf8))
        let editors = try JSONDecoder().decode([String: String].self, from: Data(editorsJSON.utf8))
        let values = try JSONDecoder().decode([String: String?].self, from: Data(valuesJSON.utf8))
        let stale = edits.filter { versions[$0.key, default: 0] != $0.baseVersion }.map {
            StaleFieldEdit(
                edit: $0, current: versions[$0.key, default: 0], currentValue: values[$0.key] ?? nil,
                currentEditor: UUID(uuidString: editors[$0.key] ?? values[""].flatMap { $0 } ?? ""))
        }
        try decide(stale)
        for edit in edits {
            try await connection.query(
                """
                UPDATE people SET \(unescaped: edit.column) = \(edit.value)\(unescaped: edit.cast),
                    field_versions = jsonb_set(field_versions, ARRAY[\(edit.key)],
                                               to_jsonb(coalesce((field_versions ->> \(edit.key))::int, 0) + 1)),
                    field_editors = jsonb_set(field_editors, ARRAY[\(edit.key)], to_jsonb(\(principal.workerId.text)))
                WHERE organisation_id = \(principal.organisationId) AND id = \(personId)
                """, logger: logger)
        }
        try await audit(.write, "person", recordId: personId, access: access)
        return stale
    }
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
        "interpreterNeeded",
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
        if let edit = fields.dateOfBirth {
            if let value = edit.value.nilIfBlank, CalendarDay(value) == nil { check.add("fields.dateOfBirth", "must be a date, YYYY-MM-DD") }
            check.range("fields.dateOfBirth.baseVersion", edit.baseVersion, 0...Int(Int32.max))
            edits.append(.init(key: "dateOfBirth", column: "date_of_birth", cast: "::date", value: edit.value.nilIfBlank, baseVersion: edit.baseVersion))
        }
        text("phone", "phone", fields.phone, max: 100)
        text("email", "email", fields.email, max: 320)
        text("address", "address", fields.address, max: 1000)
        text("language", "language", fields.language, max: 100)
        flag("interpreterNeeded", "interpreter_needed", fields.interpreterNeeded)
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
        default: throw KithError.invalidField("field", "is not an editable field of a person")
        }
        return try all(from: fields)[0]
    }
}

enum PersonRow {
    static let columns = """
        p.id, p.family_id, p.name, p.relationship_to_child, p.is_child_in_focus, p.date_of_birth::text,
        p.phone, p.email, p.address, p.language, p.interpreter_needed, p.field_versions::text
        """

    static func decode(_ rows: PostgresRowSequence) async throws -> [Components.Schemas.Person] {
        var people: [Components.Schemas.Person] = []
        for try await (id, family, name, relationship, inFocus, dob, phone, email, address, language, interpreter, versionsJSON)
            in rows.decode((UUID, UUID, String, String?, Bool, String?, String?, String?, String?, String?, Bool, String).self)
        {
            let stored = (try? JSONDecoder().decode([String: Int].self, from: Data(versionsJSON.utf8))) ?? [:]
            let versions = Dictionary(uniqueKeysWithValues: PersonFieldEdit.editableKeys.map { ($0, stored[$0, default: 0]) })
            people.append(.init(
                id: id.text, familyId: family.text, name: name, relationshipToChild: relationship, isChildInFocus: inFocus,
                dateOfBirth: dob, contact: .init(phone: phone, email: email, address: address), language: language,
                interpreterNeeded: interpreter, fieldVersions: .init(additionalProperties: versions)))
        }
        return people
    }
}

extension Records {
    func people(familyId: UUID) async throws -> [Components.Schemas.Person] {
        try await PersonRow.decode(try await connection.query(
            """
            SELECT \(unescaped: PersonRow.columns) FROM people p
            WHERE p.organisation_id = \(principal.organisationId) AND p.family_id = \(familyId)
            ORDER BY p.is_child_in_focus DESC, p.name, p.id
            """, logger: logger))
    }

    func person(_ id: UUID) async throws -> Components.Schemas.Person {
        guard let person = try await PersonRow.decode(try await connection.query(
            "SELECT \(unescaped: PersonRow.columns) FROM people p WHERE p.organisation_id = \(principal.organisationId) AND p.id = \(id)",
            logger: logger)).first
        else { throw KithError.notFound }
        return person
    }
}
