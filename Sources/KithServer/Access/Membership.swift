import Foundation
import KithCore
import PostgresNIO

extension Records {
    /// People named must be in this family's network, workers in this organisation; a problem names the fields given.
    func requireMembers(
        personIds: [UUID], workerIds: [UUID], familyId: UUID, personField: String = "presentPersonIds",
        workerField: String = "presentWorkerIds"
    ) async throws {
        let (people, workers) = try await query(
            """
            SELECT (SELECT count(*) FROM people WHERE organisation_id = \(principal.organisationId)
                      AND family_id = \(familyId) AND id = ANY(\(personIds))),
                   (SELECT count(*) FROM workers WHERE organisation_id = \(principal.organisationId) AND id = ANY(\(workerIds)))
            """).decode((Int, Int).self).first { _ in true } ?? (0, 0)
        var check = Validation()
        if people != Set(personIds).count { check.add(personField, "names someone who is not in this family's network") }
        if workers != Set(workerIds).count { check.add(workerField, "names someone who is not a worker here") }
        try check.orThrow()
    }

    /// Every person named is a child in focus of the family (a contact's `childrenSeen`).
    func requireChildrenInFocus(_ personIds: [UUID], familyId: UUID) async throws {
        guard !personIds.isEmpty else { return }
        let children = try await query(
            """
            SELECT count(*) FROM people WHERE organisation_id = \(principal.organisationId) AND family_id = \(familyId)
              AND is_child_in_focus AND id = ANY(\(personIds))
            """).decode(Int.self).first { _ in true } ?? 0
        guard children == Set(personIds).count else {
            throw KithError.invalidField("childrenSeen", "names someone who is not a child in focus of this family")
        }
    }
}
