import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

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
        guard let (versionsJSON, editorsJSON, valuesJSON) = try await query(
            """
            SELECT field_versions::text, field_editors::text,
                   jsonb_build_object('name', name, 'relationshipToChild', relationship_to_child,
                                      'isChildInFocus', is_child_in_focus::text, 'dateOfBirth', date_of_birth::text,
                                      'phone', phone, 'email', email, 'address', address, 'language', language,
                                      'interpreterNeeded', interpreter_needed::text, 'leftNetworkOn', left_network_on::text,
                                      '', created_by::text)::text
            FROM people
            WHERE organisation_id = \(principal.organisationId) AND id = \(personId) FOR UPDATE
            """).decode((String, String, String).self).first(where: { _ in true }) else { throw KithError.notFound }
        let versions = try KithJSON.decode([String: Int].self, from: versionsJSON)
        let editors = try KithJSON.decode([String: String].self, from: editorsJSON)
        let values = try KithJSON.decode([String: String?].self, from: valuesJSON)
        let stale = edits.filter { versions[$0.key, default: 0] != $0.baseVersion }.map {
            StaleFieldEdit(
                edit: $0, current: versions[$0.key, default: 0], currentValue: values[$0.key] ?? nil,
                currentEditor: UUID(uuidString: editors[$0.key] ?? values[""].flatMap { $0 } ?? ""))
        }
        try decide(stale)
        for edit in edits {
            try await query(
                """
                UPDATE people SET \(unescaped: edit.column) = \(edit.value)\(unescaped: edit.cast),
                    field_versions = jsonb_set(field_versions, ARRAY[\(edit.key)],
                                               to_jsonb(coalesce((field_versions ->> \(edit.key))::int, 0) + 1)),
                    field_editors = jsonb_set(field_editors, ARRAY[\(edit.key)], to_jsonb(\(principal.workerId.text)))
                WHERE organisation_id = \(principal.organisationId) AND id = \(personId)
                """)
        }
        try await audit(.write, "person", recordId: personId, access: access)
        return stale
    }
}

enum PersonRow {
    static let columns = """
        p.id, p.family_id, p.name, p.relationship_to_child, p.is_child_in_focus, p.date_of_birth::text,
        p.phone, p.email, p.address, p.language, p.interpreter_needed, p.left_network_on::text, p.field_versions::text
        """

    static func decode(_ rows: [PostgresRow]) throws -> [Components.Schemas.Person] {
        var people: [Components.Schemas.Person] = []
        for row in rows {
            let row = row.makeRandomAccess()
            let stored = (try? KithJSON.decode([String: Int].self, from: try row.decode("field_versions"))) ?? [:]
            let versions = Dictionary(uniqueKeysWithValues: PersonFieldEdit.editableKeys.map { ($0, stored[$0, default: 0]) })
            people.append(.init(
                id: try row.decode("id", as: UUID.self).text, familyId: try row.decode("family_id", as: UUID.self).text,
                name: try row.decode("name"), relationshipToChild: try row.decode("relationship_to_child"),
                isChildInFocus: try row.decode("is_child_in_focus"), dateOfBirth: try row.decode("date_of_birth"),
                contact: .init(phone: try row.decode("phone"), email: try row.decode("email"), address: try row.decode("address")),
                language: try row.decode("language"), interpreterNeeded: try row.decode("interpreter_needed"),
                leftNetworkOn: try row.decode("left_network_on"), fieldVersions: .init(additionalProperties: versions)))
        }
        return people
    }
}

extension Records {
    func people(of families: [UUID], only ids: [UUID]? = nil) async throws -> [Components.Schemas.Person] {
        try PersonRow.decode(try await query(
            PeopleRead.self,
            """
            SELECT \(unescaped: PersonRow.columns) FROM people p
            WHERE p.organisation_id = \(principal.organisationId) AND p.family_id = ANY(\(families))
              AND (\(ids)::uuid[] IS NULL OR p.id = ANY(\(ids)::uuid[]))
            ORDER BY p.is_child_in_focus DESC, p.name, p.id
            """))
    }

    func person(_ id: UUID) async throws -> Components.Schemas.Person {
        guard let person = try PersonRow.decode(try await query(
            "SELECT \(unescaped: PersonRow.columns) FROM people p WHERE p.organisation_id = \(principal.organisationId) AND p.id = \(id)").collect()).first
        else { throw KithError.notFound }
        return person
    }
}

/// The people of a set of families (a family's network, a sync page's).
enum PeopleRead: HotStatement {}
