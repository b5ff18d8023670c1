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
}
