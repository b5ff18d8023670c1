import ArgumentParser
import Foundation
import Hummingbird
import KithServer
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

@main
struct KithServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kith-server",
        abstract: "The Kith server: records judgment, protects relationships.",
        discussion: "Configured from the environment: DATABASE_URL, KITH_HOST, KITH_PORT, KITH_LOG_LEVEL.",
        subcommands: [Serve.self, Migrate.self, CreateAdmin.self, DemoData.self, NewSyncGeneration.self, Dispose.self, ReplayDisposals.self],
        defaultSubcommand: Serve.self)
}

/// Reads the configuration and bootstraps logging; only executables do this.
func start() throws -> (AppConfig, Logger) {
    let config = try AppConfig.fromEnvironment()
    LoggingSystem.bootstrap { label in
        var handler = PrivateLogHandler(StreamLogHandler.standardError(label: label))
        handler.logLevel = config.logLevel
        return handler
    }
    return (config, Logger(label: "kith"))
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the HTTP API (run `migrate` first).")

    func run() async throws {
        let (config, logger) = try start()
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let app = try buildApplication(config, logger: logger, metrics: registry)
        // SIGTERM or SIGINT: stop listening, let what is in flight finish for up to KITH_DRAIN_TIMEOUT, then cancel it
        // (the database pool closes its connections, which ends any query still waiting), and exit whatever remains.
        var lifecycle = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        lifecycle.maximumGracefulShutdownDuration = config.drainTimeout
        lifecycle.maximumCancellationDuration = .seconds(5)
        try await ServiceGroup(configuration: lifecycle).run()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the database migrations this build ships.")

    func run() async throws {
        let (config, logger) = try start()
        try await withDatabase(config, logger: logger) { db in
            let applied = try await Migrator(client: db, logger: logger).migrate()
            print(applied.isEmpty ? "Database is up to date." : "Applied \(applied.joined(separator: ", ")).")
        }
    }
}

struct NewSyncGeneration: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new-sync-generation",
        abstract: "Run after restoring a backup: devices start their sync feeds again (their cursors get 409 reset_required).")

    func run() async throws {
        let (config, logger) = try start()
        try await withDatabase(config, logger: logger) { db in
            try await Administration(db: db, logger: logger).startNewSyncGeneration()
            print("Started a new sync generation: every device will push, then pull from an empty cursor.")
        }
    }
}

struct Dispose: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Dispose of every family approved for disposal, each with a certificate (docs/information-governance.md).",
        discussion: "Give --ledger a file kept beside the backups: each certificate is appended to it, for replay-disposals after a restore.")

    @Option(help: "A file each certificate is appended to, one JSON line each.") var ledger: String?

    func run() async throws {
        let (config, logger) = try start()
        try await withDatabase(config, logger: logger) { db in
            let outcome = try await Disposer(db: db, logger: logger).dispose(ledger: ledger.map { URL(fileURLWithPath: $0) })
            for certificate in outcome.disposed {
                print("Disposed of family \(certificate.familyId.uuidString.lowercased()): \(certificate.rowCounts.values.reduce(0, +)) rows, certificate \(certificate.id.uuidString.lowercased()).")
            }
            for family in outcome.held { print("Family \(family.uuidString.lowercased()) is held now: left as it is.") }
            if outcome.disposed.isEmpty && outcome.held.isEmpty { print("Nothing is approved for disposal.") }
        }
    }
}

struct ReplayDisposals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay-disposals",
        abstract: "After restoring a backup: dispose again of every family a certificate (in the database or the ledger) names.")

    @Option(help: "The ledger `dispose --ledger` appended to.") var ledger: String?

    func run() async throws {
        let (config, logger) = try start()
        try await withDatabase(config, logger: logger) { db in
            let replayed = try await Disposer(db: db, logger: logger).replay(ledger: ledger.map { URL(fileURLWithPath: $0) })
            for (family, rows) in replayed { print("Disposed again of family \(family.uuidString.lowercased()): \(rows) rows the backup brought back.") }
            if replayed.isEmpty { print("Nothing disposed of has come back.") }
        }
    }
}

struct CreateAdmin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create an organisation with its first administrator.",
        discussion: "The password comes from KITH_ADMIN_PASSWORD or, without it, from the first line of standard input.")

    @Option(help: "The organisation's name.") var organisation: String
    @Option(help: "The administrator's email, used to sign in.") var email: String
    @Option(help: "The administrator's name.") var name: String = "Administrator"

    func run() async throws {
        let (config, logger) = try start()
        let password = ProcessInfo.processInfo.environment["KITH_ADMIN_PASSWORD"] ?? readLine(strippingNewline: true) ?? ""
        try await withDatabase(config, logger: logger) { db in
            let id = try await Administration(db: db, logger: logger)
                .createOrganisation(name: organisation, adminName: name, adminEmail: email, adminPassword: password)
            print("Created organisation \(organisation) (\(id.uuidString.lowercased())) with administrator \(email).")
        }
    }
}

struct DemoData: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-data",
        abstract: "Load a believable, deterministic demo organisation (teams, workers, families, years of history).")

    @Option(help: "How many families.") var families: Int = 24
    @Option(help: "How many years of history.") var years: Int = 3
    @Option(help: "Seed for the generator: the same seed gives the same organisation.") var seed: UInt64 = 1

    func run() async throws {
        let (config, logger) = try start()
        try await withDatabase(config, logger: logger) { db in
            let summary = try await DemoOrganisation(families: families, years: years, seed: seed).load(into: db, logger: logger)
            print(summary)
        }
    }
}
