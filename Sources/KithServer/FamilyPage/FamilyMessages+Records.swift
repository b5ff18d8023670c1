import Foundation
import KithAPI
import Logging
import PostgresNIO

extension Records {
    /// Messages the families' networks sent from the family's page, oldest first (they sync to the worker's devices).
    func familyMessages(of families: [UUID], only ids: [UUID]? = nil) async throws -> [Components.Schemas.FamilyMessage] {
        var messages: [Components.Schemas.FamilyMessage] = []
        for row in try await query(
            FamilyMessagesRead.self,
            """
            SELECT id, family_id, person_id, text, created_at, about_note_id FROM family_messages
            WHERE organisation_id = \(principal.organisationId) AND family_id = ANY(\(families))
              AND (\(ids)::uuid[] IS NULL OR id = ANY(\(ids)::uuid[]))
            ORDER BY created_at, id
            """) {
            let (id, family, person, text, at, note) = try row.decode((UUID, UUID, UUID, String, Date, UUID?).self)
            messages.append(.init(
                id: id.text, familyId: family.text, personId: person.text, text: text, createdAt: at, aboutNoteId: note?.text))
        }
        return messages
    }
}

/// The messages of a set of families.
enum FamilyMessagesRead: HotStatement {}
