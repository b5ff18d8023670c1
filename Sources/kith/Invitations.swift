import ArgumentParser
import Foundation
import KithAPI
import KithClient

struct Invite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Invite someone in a family's network to the family's page (online).",
        discussion: """
            Prints the link as a QR code to scan from this screen, and a six-digit code: tell the code in person, never
            with the link. An invitation nobody opens lapses after 14 days.
            Example: kith invite FGC-00000 Margaret
            """)

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Argument(help: "The family.") var ref: String
    @Argument(help: "Who to invite (a name from the family's network).") var person: String
    @Flag(name: .customLong("no-qr"), help: "Print the link without drawing it as a QR code.") var noQR = false

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let family = try workspace.caseload.family(ref)
            let person = try workspace.caseload.person(person, in: family.id)
            let invitation = try await workspace.office { office in try await office.invite(person) }
            if listing.json { return try Terminal.json(invitation) }
            Terminal.print(Terminal.style.bold("\(person.name) is invited to \(family.displayName)'s page."))
            if !noQR { Terminal.qrCode(invitation.url) }
            let code = invitation.code
            Terminal.print("Link: \(invitation.url)")
            Terminal.print("Code: " + Terminal.style.bold("\(code.prefix(3)) \(code.dropFirst(3))") + "  (tell it in person; never send it with the link)")
            Terminal.print(Terminal.style.dim(
                "Unused, it lapses on \(Format.when(invitation.expiresAt)). `kith invitations \(ref)` lists them; `--revoke ID` withdraws one."))
        }
    }
}

struct Invitations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The invitations to a family's page; withdraw one with --revoke (online).",
        discussion: "Example: kith invitations FGC-00000 --revoke 1a2b3c")

    @OptionGroup var common: Common
    @OptionGroup var listing: Listing
    @Argument(help: "The family.") var ref: String
    @Option(help: ArgumentHelp("Withdraw this invitation (the start of its id) and close every page opened with it.", valueName: "id"))
    var revoke: String?

    func run() async throws {
        try await reporting {
            let workspace = try common.open()
            let family = try workspace.caseload.family(ref)
            let invitations = try await workspace.office { office in
                if let revoke { try await office.revokeInvitation(revoke, to: family) } else { try await office.invitations(to: family) }
            }
            if listing.json { return try Terminal.json(invitations) }
            if let revoke { Terminal.note("Invitation \(revoke) withdrawn: its link and code no longer open the page.") }
            guard !invitations.isEmpty else { return Terminal.print("Nobody has been invited to \(family.displayName)'s page.") }
            var table = Table([.init("ID"), .init("PERSON", flexible: true), .init("STATUS"), .init("INVITED"), .init("OPENED")])
            for invitation in invitations {
                table.add([
                    Caseload.shortId(invitation.id), invitation.personName, invitation.status.rawValue, Format.when(invitation.createdAt),
                    invitation.openedAt.map(Format.when) ?? "—",
                ])
            }
            Terminal.table(table)
        }
    }
}
