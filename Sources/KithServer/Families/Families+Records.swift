import Foundation
import KithAPI
import KithCore
import Logging
import PostgresNIO

enum FamilyRow {
    static let columns = """
        f.id, f.team_id, f.display_name, f.reference, f.reason_for_involvement, f.status,
        f.opened_on::text, f.closed_on::text, f.created_at
        """

    static func decode(_ rows: PostgresRowSequence) async throws -> [Components.Schemas.Family] {
        var families: [Components.Schemas.Family] = []
        for try await (id, team, name, reference, reason, status, openedOn, closedOn, createdAt) in rows.decode(
            (UUID, UUID, String, String?, String?, String, String, String?, Date).self)
        {
            families.append(.init(
                id: id.text, teamId: team.text, displayName: name, reference: reference, reasonForInvolvement: reason,
                status: .init(rawValue: status) ?? .open, openedOn: openedOn, closedOn: closedOn, createdAt: createdAt))
        }
        return families
    }
}

extension Records {
    func family(_ id: UUID) async throws -> Components.Schemas.Family {
        let rows = try await connection.query(
            """
            SELECT \(unescaped: FamilyRow.columns) FROM families f
            WHERE f.organisation_id = \(principal.organisationId) AND f.id = \(id)
            """, logger: logger)
        guard let family = try await FamilyRow.decode(rows).first else { throw KithError.notFound }
        return family
    }
}
