import Crypto
import Foundation
import KithAPI
import Logging
import PostgresNIO

/// `kith-server dispose` and `replay-disposals`: the operator's side of certified disposal, connected as the tables'
/// owner and working as `kith_disposer` (migration 0035). Each approved family goes in one transaction: checked for
/// holds again, every row of it deleted (every table with `family_id`, the family itself, and by foreign key every row
/// hanging off those), a certificate written with the rows deleted per table and the SHA-256 of their ids, and a purge
/// for every device that held it. Certificates are also appended to a ledger kept beside the backups, so that after a
/// restore `replay-disposals` can delete again what the restored backup brought back.
public struct Disposer: Sendable {
    let db: PostgresClient
    let logger: Logger

    public init(db: PostgresClient, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    /// A certificate as the ledger keeps it, one JSON line each.
    public struct Certificate: Codable, Sendable {
        public let organisationId: UUID
        public let id: UUID
        public let batchId: UUID
        public let familyId: UUID
        public let rule: String
        public let retainUntil: String?
        public let closedOn: String?
        public let rowCounts: [String: Int]
        public let deletedIdsSha256: String
        public let proposedBy: UUID
        public let approvedBy: UUID
    }

    /// What `dispose` did: the families disposed of, and those left because something now holds them.
    public struct Outcome: Sendable {
        public var disposed: [Certificate] = []
        public var held: [UUID] = []
    }

    /// Disposes of every approved family not yet disposed of, appending each certificate to `ledger` when given.
    public func dispose(ledger: URL?) async throws -> Outcome {
        let pending = try await db.withTransaction(logger: logger) { connection in
            try await connection.query("SET LOCAL ROLE kith_disposer", logger: logger)
            return try await connection.query(
                """
                SELECT b.organisation_id, b.id, (f ->> 'familyId')::uuid, f ->> 'rule', f ->> 'retainUntil', f ->> 'closedOn',
                       b.proposed_by, a.approved_by
                FROM disposal_batches b
                JOIN disposal_approvals a ON a.organisation_id = b.organisation_id AND a.batch_id = b.id
                CROSS JOIN jsonb_array_elements(b.families) f
                WHERE NOT EXISTS (SELECT 1 FROM disposal_certificates c
                                  WHERE c.organisation_id = b.organisation_id AND c.family_id = (f ->> 'familyId')::uuid)
                ORDER BY a.approved_at, b.id
                """, logger: logger
            ).collect().map { try $0.decode((UUID, UUID, UUID, String, String?, String?, UUID, UUID).self) }
        }
        var outcome = Outcome()
        for (organisation, batch, family, rule, retainUntil, closedOn, proposedBy, approvedBy) in pending {
            let certificate = try await db.withTransaction(logger: logger) { connection -> Certificate? in
                try await Self.enter(connection, organisation: organisation, logger: logger)
                let held = try await connection.query(
                    "SELECT count(*) FROM family_holds WHERE organisation_id = \(organisation) AND family_id = \(family)", logger: logger
                ).decode(Int.self).first { _ in true } ?? 0
                guard held == 0 else { return nil }
                let devices = try await Self.devices(holding: family, organisation: organisation, connection, logger: logger)
                let deleted = try await Self.deleteFamily(family, organisation: organisation, connection, logger: logger)
                let certificate = Certificate(
                    organisationId: organisation, id: UUID(), batchId: batch, familyId: family, rule: rule, retainUntil: retainUntil,
                    closedOn: closedOn, rowCounts: deleted.mapValues(\.count), deletedIdsSha256: Self.digest(deleted), proposedBy: proposedBy,
                    approvedBy: approvedBy)
                try await Self.certify(certificate, devices: devices, connection, logger: logger)
                return certificate
            }
            if let certificate {
                if let ledger { try Self.append(certificate, to: ledger) }
                outcome.disposed.append(certificate)
            } else {
                outcome.held.append(family)
            }
        }
        return outcome
    }

    /// After a restore: every certificate in the database or in `ledger` is applied again; a family the restored backup
    /// brought back is deleted again (and its certificate, missing from an older backup, written back). The families
    /// deleted again, with how many rows.
    public func replay(ledger: URL?) async throws -> [(familyId: UUID, rows: Int)] {
        var certificates = try ledger.map(Self.read) ?? []
        let recorded = try await db.withTransaction(logger: logger) { connection in
            try await connection.query("SET LOCAL ROLE kith_disposer", logger: logger)
            return try await connection.query(
                "SELECT organisation_id, family_id FROM disposal_certificates", logger: logger
            ).collect().map { try $0.decode((UUID, UUID).self) }
        }
        let known = Set(recorded.map { "\($0.0)/\($0.1)" })
        for (organisation, family) in recorded where !certificates.contains(where: { $0.organisationId == organisation && $0.familyId == family }) {
            certificates.append(Certificate(
                organisationId: organisation, id: UUID(), batchId: UUID(), familyId: family, rule: "", retainUntil: nil, closedOn: nil,
                rowCounts: [:], deletedIdsSha256: "", proposedBy: UUID(), approvedBy: UUID()))
        }
        var replayed: [(UUID, Int)] = []
        for certificate in certificates {
            let rows = try await db.withTransaction(logger: logger) { connection in
                try await Self.enter(connection, organisation: certificate.organisationId, logger: logger)
                let devices = try await Self.devices(holding: certificate.familyId, organisation: certificate.organisationId, connection, logger: logger)
                let deleted = try await Self.deleteFamily(certificate.familyId, organisation: certificate.organisationId, connection, logger: logger)
                if !known.contains("\(certificate.organisationId)/\(certificate.familyId)") {
                    try await Self.certify(certificate, devices: devices, connection, logger: logger)
                }
                return deleted.values.reduce(0) { $0 + $1.count }
            }
            if rows > 0 { replayed.append((certificate.familyId, rows)) }
        }
        return replayed
    }

    /// Works as kith_disposer in `organisation`, with the append-only record letting its deletes through.
    static func enter(_ connection: PostgresConnection, organisation: UUID, logger: Logger) async throws {
        try await connection.query(
            """
            SELECT set_config('role', 'kith_disposer', true), set_config('kith.organisation_id', \(organisation.uuidString.lowercased()), true),
                   set_config('kith.disposing', 'on', true)
            """, logger: logger)
    }

    static func devices(holding family: UUID, organisation: UUID, _ connection: PostgresConnection, logger: Logger) async throws -> [UUID] {
        try await connection.query(
            """
            SELECT DISTINCT device_id FROM device_grants
            WHERE organisation_id = \(organisation) AND family_id = \(family) AND (ended_at IS NULL OR purge_acked_at IS NULL)
            """, logger: logger
        ).collect().map { try $0.decode(UUID.self) }
    }

    static func certify(_ certificate: Certificate, devices: [UUID], _ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO disposal_certificates (organisation_id, id, batch_id, family_id, rule, retain_until, closed_on, row_counts,
                                               deleted_ids_sha256, proposed_by, approved_by)
            VALUES (\(certificate.organisationId), \(certificate.id), \(certificate.batchId), \(certificate.familyId), \(certificate.rule),
                    \(certificate.retainUntil)::date, \(certificate.closedOn)::date, \(try KithJSON.text(certificate.rowCounts))::jsonb,
                    decode(\(certificate.deletedIdsSha256), 'hex'), \(certificate.proposedBy), \(certificate.approvedBy))
            """, logger: logger)
        try await connection.query(
            """
            INSERT INTO disposal_purges (organisation_id, id, device_id, family_id, certificate_id)
            SELECT \(certificate.organisationId), gen_random_uuid(), d, \(certificate.familyId), \(certificate.id)
            FROM unnest(\(devices)::uuid[]) AS d
            """, logger: logger)
    }

    /// The SHA-256, in hex, of every deleted row's id (`table:id`), sorted, one a line.
    static func digest(_ deleted: [String: [String]]) -> String {
        let lines = deleted.flatMap { table, ids in ids.map { "\(table):\($0)" } }.sorted().joined(separator: "\n")
        return Data(SHA256.hash(data: Data(lines.utf8))).hex
    }

    /// Deletes every row of the family, as the catalog says where they are: the family, every table with a
    /// `family_id` (but disposal's own), and by foreign key every row of a table without one that hangs off those.
    /// Rows are deleted in passes, each table's delete in a savepoint, until nothing refers to what is left; a row that
    /// something outside the family still refers to stops the disposal, naming its table. The deleted ids, by table.
    static func deleteFamily(_ family: UUID, organisation: UUID, _ connection: PostgresConnection, logger: Logger) async throws -> [String: [String]] {
        let columns = try await connection.query(
            """
            SELECT c.relname::text, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'family_id' AND NOT a.attisdropped)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
            WHERE c.relkind = 'r' AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organisation_id')
              AND c.relname NOT IN ('disposal_certificates', 'disposal_purges')
            """, logger: logger
        ).collect().map { try $0.decode((String, Bool).self) }
        let keys = try await connection.query(
            """
            SELECT child.relname::text, parent.relname::text,
                   ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS x(n, i)
                         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = x.n ORDER BY x.i),
                   ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS x(n, i)
                         JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = x.n ORDER BY x.i)
            FROM pg_constraint k
            JOIN pg_class child ON child.oid = k.conrelid
            JOIN pg_class parent ON parent.oid = k.confrelid
            JOIN pg_namespace n ON n.oid = child.relnamespace AND n.nspname = 'public'
            WHERE k.contype = 'f'
            """, logger: logger
        ).collect().map { try $0.decode((String, String, [String], [String]).self) }
        let withFamily = Set(columns.filter(\.1).map(\.0))
        let inOrganisation = Set(columns.map(\.0))

        // The tables holding the family's rows: the family, every table with `family_id`, and every table whose rows
        // hang off theirs by a foreign key.
        var involved = withFamily.union(["families"])
        var grew = true
        while grew {
            grew = false
            for table in inOrganisation.subtracting(involved) where keys.contains(where: { $0.0 == table && $0.1 != table && involved.contains($0.1) }) {
                involved.insert(table)
                grew = true
            }
        }
        func quoted(_ name: String) -> String { "\"\(name.replacingOccurrences(of: "\"", with: "\"\""))\"" }
        // Each table's rows that are the family's, as a condition on it (`$1` the organisation, `$2` the family).
        func condition(_ table: String, visiting: Set<String> = []) -> String {
            if table == "families" { return "organisation_id = $1 AND id = $2" }
            if withFamily.contains(table) { return "organisation_id = $1 AND family_id = $2" }
            let hanging = keys.filter { $0.0 == table && $0.1 != table && involved.contains($0.1) && !visiting.contains($0.1) }
            return "organisation_id = $1 AND (" + hanging.map { _, parent, from, to in
                "(\(from.map(quoted).joined(separator: ", "))) IN (SELECT \(to.map(quoted).joined(separator: ", ")) FROM \(quoted(parent)) "
                    + "WHERE \(condition(parent, visiting: visiting.union([table]))))"
            }.joined(separator: " OR ") + ")"
        }

        var binds = PostgresBindings()
        binds.append(organisation)
        binds.append(family)
        var deleted: [String: [String]] = [:]
        // Rows hanging off the family's go before the family's own, and the family last.
        func rank(_ table: String) -> Int { table == "families" ? 2 : withFamily.contains(table) ? 1 : 0 }
        var left = involved.sorted { (rank($0), $0) < (rank($1), $1) }
        for _ in 0..<50 where !left.isEmpty {
            var stuck: [String] = []
            for table in left {
                try await connection.query("SAVEPOINT dispose_table", logger: logger)
                do {
                    let ids = try await connection.query(
                        PostgresQuery(
                            unsafeSQL: "DELETE FROM \(quoted(table)) t WHERE \(condition(table)) RETURNING coalesce(to_jsonb(t) ->> 'id', md5(t::text))",
                            binds: binds),
                        logger: logger
                    ).collect().map { try $0.decode(String.self) }
                    try await connection.query("RELEASE SAVEPOINT dispose_table", logger: logger)
                    if !ids.isEmpty { deleted[table, default: []] += ids }
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23503" {
                    try await connection.query("ROLLBACK TO SAVEPOINT dispose_table", logger: logger)
                    stuck.append(table)
                }
            }
            if stuck.count == left.count {
                throw Refused(description: "the family's rows in \(stuck.sorted().joined(separator: ", ")) are referred to from outside it")
            }
            left = stuck
        }
        return deleted
    }

    public struct Refused: Error, CustomStringConvertible {
        public let description: String
    }

    static func append(_ certificate: Certificate, to ledger: URL) throws {
        var line = try KithJSON.encoder().encode(certificate)
        line.append(UInt8(ascii: "\n"))
        if !FileManager.default.fileExists(atPath: ledger.path),
           !FileManager.default.createFile(atPath: ledger.path, contents: nil, attributes: [.posixPermissions: 0o600]) {
            throw Refused(description: "the ledger \(ledger.path) cannot be created")
        }
        let handle = try FileHandle(forWritingTo: ledger)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }

    static func read(_ ledger: URL) throws -> [Certificate] {
        guard FileManager.default.fileExists(atPath: ledger.path) else { return [] }
        return try String(contentsOf: ledger, encoding: .utf8).split(separator: "\n").map {
            try KithJSON.decoder().decode(Certificate.self, from: Data($0.utf8))
        }
    }
}
