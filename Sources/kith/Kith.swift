import ArgumentParser
import Foundation
import KithClient

/// `kith`: the terminal client. Parsing and printing live here; what the commands do lives in `KithClient`.
@main
struct Kith: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kith",
        abstract: "Kith in the terminal: your caseload offline, visits and judgment notes, synced when online.",
        discussion: """
            Everything you write is saved on this machine first and sent at the next sync, so it works with no network.
            Data and the device token live in $XDG_DATA_HOME/kith/PROFILE (~/.local/share/kith/default).
            """,
        version: KithVersion.client,
        subcommands: [
            Login.self, Logout.self, WhoAmI.self,
            Sync.self, Status.self,
            Families.self, FamilyOverview.self, Timeline.self, OpenFamily.self,
            Visit.self, ContactCommand.self, Note.self, Amend.self, Show.self, PersonCommand.self, PlanCommand.self,
            Handover.self, Review.self, Invite.self, Invitations.self, ConferenceCommand.self,
            Allocate.self, Reallocate.self, SupervisionCommand.self, TeamCaseload.self, Continuity.self, Signals.self, DeviceCommand.self,
            Access.self, BreakGlass.self, Audit.self, Export.self, SubjectAccess.self, Hold.self, Retention.self,
            SearchCommand.self, Find.self, Blocked.self, Frictions.self,
        ]
    )

    // Declared here too, so `--profile` may come before the command name as well as after it.
    @OptionGroup var common: Common
}

/// Options every command takes.
struct Common: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Which server or worker to act as.", valueName: "name"))
    var profile: String = ProcessInfo.processInfo.environment["KITH_PROFILE"] ?? "default"

    func profileFolder() throws -> Profile { try Profile(name: profile) }

    func open() throws -> Workspace { try profileFolder().signedIn() }
}

/// `--json` on every listing.
struct Listing: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false
}

extension AsyncParsableCommand {
    /// Runs the command's work, turning what went wrong into one line on standard error and a non-zero exit.
    func reporting(_ work: () async throws -> Void) async throws {
        do {
            try await work()
        } catch let error as CommandError {
            Terminal.refused(error)
            throw ExitCode.failure
        }
    }
}

extension Terminal {
    /// What went wrong, in one line; a refusal of the server's (a 4xx) is kept, and the person offered to say what it
    /// stopped them doing (`kith blocked --last`).
    static func refused(_ error: CommandError) {
        self.error(error.description)
        if LastRefusal.keep(error, command: commandPath) {
            note("If this stopped you doing something reasonable, say what: kith blocked --last \"what you were trying to do\"")
        }
    }

    /// `kith note`, `kith frictions summary`: the command as the person typed it, without anything they wrote in it.
    static var commandPath: String {
        var words = ["kith"]
        var commands = Kith.configuration.subcommands
        for argument in CommandLine.arguments.dropFirst() {
            guard let command = commands.first(where: { $0._commandName == argument }) else { continue }
            words.append(argument)
            commands = command.configuration.subcommands
            if commands.isEmpty { break }
        }
        return words.joined(separator: " ")
    }
}
