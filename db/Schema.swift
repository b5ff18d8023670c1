import Foundation

/// The SQL migrations in `db/migrations/`, shipped as resources of this build.
public enum Schema {
    public static var migrationsFolder: URL? {
        Bundle.module.url(forResource: "migrations", withExtension: nil)
    }
}
