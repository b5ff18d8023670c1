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
        let people = try await readFamily(familyId, "people", principal: principal) { connection, _ in
            try await connection.people(familyId: familyId, principal: principal, logger: logger)
        }
        return .ok(.init(body: .json(.init(items: people))))
    }

    func addPerson(_ input: Operations.AddPerson.Input) async throws -> Operations.AddPerson.Output {
        let principal = try Principal.required()
        let familyId = try UUID(path: input.path.familyId)
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        let id = check.uuid("id", body.id) ?? UUID()
        check.requiredText("name", body.name, max: 500)
        check.text("relationshipToChild", body.relationshipToChild, max: 500)
        let dateOfBirth = check.day("dateOfBirth", body.dateOfBirth)
        check.text("contact.phone", body.contact?.phone, max: 100)
        check.text("contact.email", body.contact?.email, max: 320)
        check.text("contact.address", body.contact?.address, max: 1000)
        check.text("language", body.language, max: 100)
        try check.orThrow()

        let person = try await transaction { connection in
            let access = try await connection.familyAccess(familyId, for: principal, logger: logger)
            try await connection.insertNew(
                """
                INSERT INTO people (organisation_id, id, family_id, name, relationship_to_child, is_child_in_focus,
                                    date_of_birth, phone, email, address, language, interpreter_needed, created_by)
                VALUES (\(principal.organisationId), \(id), \(familyId), \(body.name), \(body.relationshipToChild.nilIfBlank),
                        \(body.isChildInFocus ?? false), \(dateOfBirth?.description)::date, \(body.contact?.phone.nilIfBlank),
                        \(body.contact?.email.nilIfBlank), \(body.contact?.address.nilIfBlank), \(body.language.nilIfBlank),
                        \(body.interpreterNeeded ?? false), \(principal.workerId))
                """, record: "person", logger: logger)
            try await connection.audit(.write, "person", recordId: id, access: access, principal: principal, logger: logger)
            return try await connection.person(id, principal: principal, logger: logger)
        }
        return .created(.init(body: .json(person)))
    }

    /// Per-field edits: each names the version it was read at. A stale version changes nothing and answers 409
    /// with the current values, so the person editing decides; edits of different fields never conflict.
    func updatePerson(_ input: Operations.UpdatePerson.Input) async throws -> Operations.UpdatePerson.Output {
        let principal = try Principal.required()
        let personId = try UUID(path: input.path.personId)
        let body = switch input.body { case .json(let body): body }
        let edits = try PersonFieldEdit.all(from: body.fields)

        let person = try await transaction { connection in
            let familyId = try await connection.familyOf(.people, id: personId, principal: principal, logger: logger)
            let access = try await connection.familyAccess(familyId, for: principal, logger: logger)
            let versionsJSON = try await connection.query(
                """
                SELECT field_versions::text FROM people
                WHERE organisation_id = \(principal.organisationId) AND id = \(personId) FOR UPDATE
                """, logger: logger
            ).decode(String.self).first { _ in true } ?? "{}"
            let versions = try JSONDecoder().decode([String: Int].self, from: Data(versionsJSON.utf8))
            let stale = edits.filter { versions[$0.key, default: 0] != $0.baseVersion }
            if !stale.isEmpty {
                var error = KithError.conflict(
                    "version_conflict", "Someone changed these fields since you read them; nothing was saved. Read the person again and decide.")
                error.fieldErrors = stale.map {
                    .init(field: $0.key, message: "is at version \(versions[$0.key, default: 0]), not \($0.baseVersion)")
                }
                throw error
            }
            for edit in edits {
                try await connection.query(
                    """
                    UPDATE people SET \(unescaped: edit.column) = \(edit.value)\(unescaped: edit.cast),
                        field_versions = jsonb_set(field_versions, ARRAY[\(edit.key)], to_jsonb(\(edit.baseVersion + 1)))
                    WHERE organisation_id = \(principal.organisationId) AND id = \(personId)
                    """, logger: logger)
            }
            try await connection.audit(.write, "person", recordId: personId, access: access, principal: principal, logger: logger)
            return try await connection.person(personId, principal: principal, logger: logger)
        }
        return .ok(.init(body: .json(person)))
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

extension PostgresConnection {
    func people(familyId: UUID, principal: Principal, logger: Logger) async throws -> [Components.Schemas.Person] {
        try await PersonRow.decode(try await query(
            """
            SELECT \(unescaped: PersonRow.columns) FROM people p
            WHERE p.organisation_id = \(principal.organisationId) AND p.family_id = \(familyId)
            ORDER BY p.is_child_in_focus DESC, p.name, p.id
            """, logger: logger))
    }

    func person(_ id: UUID, principal: Principal, logger: Logger) async throws -> Components.Schemas.Person {
        guard let person = try await PersonRow.decode(try await query(
            "SELECT \(unescaped: PersonRow.columns) FROM people p WHERE p.organisation_id = \(principal.organisationId) AND p.id = \(id)",
            logger: logger)).first
        else { throw KithError.notFound }
        return person
    }
}
