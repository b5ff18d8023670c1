import Logging
import PostgresNIO

/// The role `serve` connects as must own nothing and be able to become nothing but `kith_app` (migration 0018's
/// `kith_server`): then a path that forgot the wall, or a statement before it, sees no organisation's rows, and no
/// `RESET ROLE` or `SET ROLE` leads to the owner or to `kith_definer`. Checked once before the server listens; a wider
/// role is refused unless `KITH_UNSAFE_DATABASE_ROLE=1`, which is for development only and said loudly.
enum ServingRole {
    struct Refused: Error, CustomStringConvertible {
        let role: String
        let reasons: [String]
        var description: String {
            """
            kith-server will not serve as the database role '\(role)': it \(reasons.joined(separator: "; it ")). \
            Connect as kith_server, which `kith-server migrate` creates (docs/operations.md, "The serving role"), or set \
            KITH_UNSAFE_DATABASE_ROLE=1 on a development machine.
            """
        }
    }

    /// What is wrong with the connected role, if anything.
    static func problems(on client: PostgresClient, logger: Logger) async throws -> (role: String, reasons: [String]) {
        let rows = try await client.query(
            """
            SELECT r.rolname::text, r.rolsuper, r.rolbypassrls,
                   coalesce((SELECT pg_has_role(r.oid, a.oid, 'MEMBER') FROM pg_roles a WHERE a.rolname = 'kith_app'), false),
                   ARRAY(SELECT g.rolname::text FROM pg_roles g
                         WHERE g.oid <> r.oid AND g.rolname <> 'kith_app' AND g.rolname NOT LIKE 'pg\\_%'
                           AND pg_has_role(r.oid, g.oid, 'MEMBER') ORDER BY g.rolname),
                   EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = 'public' AND pg_has_role(r.oid, c.relowner, 'MEMBER'))
            FROM pg_roles r WHERE r.rolname = current_user
            """, logger: logger)
        for try await (role, superuser, bypassesRLS, app, others, owns) in rows.decode((String, Bool, Bool, Bool, [String], Bool).self) {
            var reasons: [String] = []
            if superuser { reasons.append("is a superuser") }
            if bypassesRLS && !superuser { reasons.append("bypasses row-level security") }
            if owns && !superuser { reasons.append("owns Kith's tables, or may act as their owner") }
            if !others.isEmpty && !superuser { reasons.append("may become \(others.joined(separator: ", "))") }
            if !app && !superuser { reasons.append("is not a member of kith_app (run `kith-server migrate` as the owner first)") }
            return (role, reasons)
        }
        return ("unknown", ["could not be read"])
    }

    static func check(_ client: PostgresClient, allowingUnsafe: Bool, logger: Logger) async throws {
        let (role, reasons) = try await problems(on: client, logger: logger)
        guard !reasons.isEmpty else { return }
        let refusal = Refused(role: role, reasons: reasons)
        guard allowingUnsafe else { throw refusal }
        logger.critical(
            "KITH_UNSAFE_DATABASE_ROLE=1: serving as a role that can leave the database's wall; never do this with real records",
            metadata: ["problem": .string(refusal.description)])
    }
}
