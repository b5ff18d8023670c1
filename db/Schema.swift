import Foundation

/// The SQL migrations in `db/migrations/` and the functions' current texts in `db/functions/`, shipped as resources of
/// this build.
public enum Schema {
    public static var migrationsFolder: URL? {
        Bundle.module.url(forResource: "migrations", withExtension: nil)
    }

    public static var functionsFolder: URL? {
        Bundle.module.url(forResource: "functions", withExtension: nil)
    }
}
