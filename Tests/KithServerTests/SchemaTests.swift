import Foundation
import PostgresNIO
import Testing
@testable import KithServer

/// Promises of the schema that no single request shows.
@Suite struct SchemaTests {
    /// What a read of one family costs follows that family, not its organisation: every table holding part of a
    /// family's record has an index that begins (organisation_id, family_id), which its timeline, a device's first
    /// sync and its export read it by. A table read some other way is named here with the way it is read, so a new
    /// table of a family's record cannot be added without one or the other.
    @Test func everyTableOfAFamilysRecordIsReadByFamilyThroughAnIndex() async throws {
        let readOtherwise = [
            "review_items": "by team and recipient",
            "family_sessions": "by token",
            "device_grants": "by device",
            "break_glass_grants": "by worker, then family",
            "supervision_session_families": "by supervision session",
            "note_withdrawals": "by note",
            "note_audience_changes": "by note",
            "contact_corrections": "by contact",
            "contact_withdrawals": "by contact",
            "disposal_certificates": "by organisation, a disposed family's id kept only as its tombstone",
            "disposal_purges": "by device",
        ]
        try await TestDatabase.withFreshDatabase { url in
            try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                let rows = try await db.query(
                    """
                    SELECT c.relname::text, EXISTS (
                        SELECT 1 FROM pg_index x
                        JOIN pg_attribute o ON o.attrelid = c.oid AND o.attnum = x.indkey[0] AND o.attname = 'organisation_id'
                        WHERE x.indrelid = c.oid AND x.indnatts >= 2 AND x.indkey[1] = f.attnum)
                    FROM pg_class c
                    JOIN pg_attribute f ON f.attrelid = c.oid AND f.attname = 'family_id' AND NOT f.attisdropped
                    WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
                    ORDER BY 1
                    """, logger: TestDatabase.logger
                ).collect().map { try $0.decode((String, Bool).self) }
                let tables = Set(rows.map(\.0))
                #expect(tables.contains("plan_item_updates") && tables.contains("notes"))
                for (table, indexed) in rows where readOtherwise[table] == nil {
                    #expect(indexed, "\(table) has no index beginning (organisation_id, family_id)")
                }
                for table in readOtherwise.keys {
                    #expect(tables.contains(table), "\(table) is named as read otherwise but holds no family_id")
                }
            }
        }
    }
    /// Every function of the schema has its current text in `db/functions/<name>.sql`, the database runs that text (its
    /// checksum is recorded), and no numbered migration after the files came in (0019) creates or restates a function:
    /// restated in a migration, a function would run one text on a new database (the file's, applied after) and another
    /// on an old one.
    @Test func everyFunctionHasOneCurrentText() async throws {
        let files = try Migrator.bundledFunctions()
        for migration in try Migrator.bundled() where migration.version.prefix(4) > "0019" {
            #expect(!migration.sql.uppercased().contains("CREATE FUNCTION") && !migration.sql.uppercased().contains("CREATE OR REPLACE FUNCTION"),
                    "\(migration.version) defines a function: its text belongs in db/functions")
        }
        try await TestDatabase.withFreshDatabase { url in
            try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                // An extension's functions (pg_trgm's) are its own, not Kith's.
                let defined = try await db.query(
                    """
                    SELECT proname::text FROM pg_proc p WHERE pronamespace = 'public'::regnamespace
                      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') ORDER BY 1
                    """, logger: TestDatabase.logger
                ).collect().map { try $0.decode(String.self) }
                #expect(defined == files.map(\.name))
                let recorded = try await db.query("SELECT name, checksum FROM schema_functions ORDER BY 1", logger: TestDatabase.logger)
                    .collect().map { try $0.decode((String, String).self) }
                #expect(recorded.map(\.0) == files.map(\.name) && recorded.map(\.1) == files.map(\.checksum))
            }
        }
    }

    /// A function's file is applied when its text changes, once, and only then; until it is, the database is not current.
    @Test func aChangedFunctionIsAppliedOnceByTheNextMigration() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                let migrator = Migrator(client: db, logger: TestDatabase.logger)
                func readable() async throws -> Bool {
                    try await db.query("SELECT kith_note_readable('restricted', gen_random_uuid(), gen_random_uuid(), false)",
                                       logger: TestDatabase.logger).collect().first!.decode(Bool.self)
                }
                let readableBefore = try await readable()
                #expect(!readableBefore)
                var changed = try #require(try Migrator.bundledFunctions().first { $0.name == "kith_note_readable" })
                changed.sql = changed.sql.replacingOccurrences(of: "SELECT audience <> 'restricted' OR", with: "SELECT true OR")
                #expect(try await migrator.migrate([], functions: [changed]) == ["functions/kith_note_readable"])
                #expect(try await readable())
                #expect(try await migrator.migrate([], functions: [changed]) == [])
                let currentWhileChanged = try await migrator.isCurrent()
                #expect(!currentWhileChanged)
                #expect(try await migrator.migrate() == ["functions/kith_note_readable"])
                let readableAgain = try await readable(), current = try await migrator.isCurrent()
                #expect(!readableAgain && current)
            }
        }
    }
}
