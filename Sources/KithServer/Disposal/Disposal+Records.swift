import Foundation
import KithAPI
import KithCore
import PostgresNIO

extension Records {
    /// The families as due now, or the refusal naming why one is not: held (409 `legal_hold`) or not closed and past its
    /// retention (409 `not_due`).
    private func dueForDisposal(_ familyIds: [UUID]) async throws -> [Components.Schemas.DisposalFamily] {
        let due = Dictionary(try await disposalDue().map { ($0.familyId, $0) }, uniquingKeysWith: { first, _ in first })
        let facts = Dictionary(try await retention(of: familyIds).map { ($0.retention.familyId, $0) }, uniquingKeysWith: { first, _ in first })
        return try familyIds.map { id in
            guard let fact = facts[id.text] else { throw KithError.notFound }
            if !fact.retention.holds.isEmpty {
                throw KithError.conflict("legal_hold", "A family is held (\(fact.retention.holds.map(\.kind.rawValue).joined(separator: ", "))): it is not disposed of.")
            }
            guard let family = due[id.text] else {
                throw KithError.conflict("not_due", "A family is not closed and past its retention.")
            }
            return .init(familyId: family.familyId, rule: family.rule, retainUntil: family.retainUntil, closedOn: family.closedOn)
        }
    }

    func proposeDisposal(_ familyIds: [UUID]) async throws -> Components.Schemas.DisposalBatch {
        let families = try await dueForDisposal(familyIds)
        let id = UUID()
        try await query(
            """
            INSERT INTO disposal_batches (organisation_id, id, families, proposed_by)
            VALUES (\(principal.organisationId), \(id), \(try KithJSON.text(families))::jsonb, \(principal.workerId))
            """)
        try await audit(.write, "disposalProposed", recordId: id, familyIds: familyIds)
        return try await disposalBatch(id)
    }

    /// Another officer's approval: never the proposer's, and every family checked again as it stands now.
    func approveDisposal(_ id: UUID) async throws -> Components.Schemas.DisposalBatch {
        try await query("SELECT pg_advisory_xact_lock(hashtextextended(\(id.text), 0))")
        let batch = try await disposalBatch(id)
        guard batch.approvedBy == nil else { throw KithError.conflict("already_approved", "This batch was approved already.") }
        guard batch.proposedBy != principal.workerId.text else {
            throw KithError.forbidden("The officer who proposed a disposal does not approve it: another officer does.")
        }
        let familyIds = batch.families.compactMap { UUID(uuidString: $0.familyId) }
        _ = try await dueForDisposal(familyIds)
        try await query(
            "INSERT INTO disposal_approvals (organisation_id, batch_id, approved_by) VALUES (\(principal.organisationId), \(id), \(principal.workerId))")
        try await audit(.write, "disposalApproved", recordId: id, familyIds: familyIds)
        return try await disposalBatch(id)
    }

    func disposalBatch(_ id: UUID) async throws -> Components.Schemas.DisposalBatch {
        let row = try await query(
            """
            SELECT b.families::text, b.proposed_by, b.proposed_at, a.approved_by, a.approved_at FROM disposal_batches b
            LEFT JOIN disposal_approvals a ON a.organisation_id = b.organisation_id AND a.batch_id = b.id
            WHERE b.organisation_id = \(principal.organisationId) AND b.id = \(id)
            """).decode((String, UUID, Date, UUID?, Date?).self).first { _ in true }
        guard let (families, proposedBy, proposedAt, approvedBy, approvedAt) = row else { throw KithError.notFound }
        return .init(
            id: id.text, families: try KithJSON.decode([Components.Schemas.DisposalFamily].self, from: families), proposedBy: proposedBy.text,
            proposedAt: proposedAt, approvedBy: approvedBy?.text, approvedAt: approvedAt)
    }

    func disposalCertificates() async throws -> [Components.Schemas.DisposalCertificate] {
        let rows = try await query(
            """
            SELECT id, batch_id, family_id, rule, retain_until::text, closed_on::text, row_counts::text, deleted_ids_sha256,
                   proposed_by, approved_by, disposed_at
            FROM disposal_certificates WHERE organisation_id = \(principal.organisationId)
            ORDER BY disposed_at DESC, id LIMIT 1000
            """)
        var certificates: [Components.Schemas.DisposalCertificate] = []
        for try await row in rows {
            let row = row.makeRandomAccess()
            certificates.append(.init(
                id: try row.decode("id", as: UUID.self).text, batchId: try row.decode("batch_id", as: UUID.self).text,
                familyId: try row.decode("family_id", as: UUID.self).text, rule: try row.decode("rule"),
                retainUntil: try row.decode("retain_until"), closedOn: try row.decode("closed_on"),
                rowCounts: .init(additionalProperties: try KithJSON.decode([String: Int].self, from: try row.decode("row_counts"))),
                deletedIdsSha256: try row.decode("deleted_ids_sha256", as: Data.self).hex,
                proposedBy: try row.decode("proposed_by", as: UUID.self).text, approvedBy: try row.decode("approved_by", as: UUID.self).text,
                disposedAt: try row.decode("disposed_at")))
        }
        return certificates
    }

    /// Whether the family was disposed of: a write naming it is refused as such, never re-creating it.
    func wasDisposed(_ familyId: UUID) async throws -> Bool {
        try await query(
            "SELECT count(*) FROM disposal_certificates WHERE organisation_id = \(principal.organisationId) AND family_id = \(familyId)"
        ).decode(Int.self).first { _ in true } ?? 0 > 0
    }
}
