import Foundation
import KithAPI
import PostgresNIO
import Testing
@testable import KithServer

/// `kith` used as a person uses it: typed into a real terminal (tmux), with the real `kith-server` on loopback, an
/// editor that writes the note, and the network taken away and given back.
@Suite struct TerminalClientTests {
    @Test func aPractitionerRecordsAVisitWithANoteOnlineAndOfflineAndASupervisorSeesTheCaseload() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await withDatabase(AppConfig(databaseURL: url), logger: TestDatabase.logger) { db in
                let fixture = try await Fixture.seed(db, logger: TestDatabase.logger)
                var server = try await ServerProcess(databaseURL: url)
                server.mustNotLog("Adeyemi", "Theo", "drawings", "Phoned mum")
                func json(_ value: Any) throws -> Data { try JSONSerialization.data(withJSONObject: value) }
                let (created, body) = try await server.post(
                    "/v1/families", token: fixture.tokens[.priya]!, json: try json(["displayName": "The Adeyemi family", "reference": "FGC-7"]))
                #expect(created == 201)
                let family = try Kith.decoder.decode(Components.Schemas.Family.self, from: body)
                let (added, _) = try await server.post(
                    "/v1/families/\(family.id)/people", token: fixture.tokens[.priya]!,
                    json: try json(["name": "Theo Adeyemi", "isChildInFocus": true, "relationshipToChild": "child"]))
                #expect(added == 201)

                let terminal = try Tmux()
                defer { terminal.close() }

                // Signing in: the password is asked for without echo.
                try terminal.type("kith login 127.0.0.1:\(server.port); echo END-1")
                try await terminal.waitFor("Email:", prompt: true)
                try terminal.type("priya@test.kith")
                try await terminal.waitFor("Password:", prompt: true)
                try terminal.type(Fixture.password)
                var screen = try await terminal.waitFor("END-1")
                #expect(screen.contains("Signed in as Priya Shah"))
                #expect(screen.contains("1 family on this machine"))
                #expect(!screen.contains(Fixture.password))

                // A visit with a note written in the editor, as `git commit` opens one.
                screen = try await terminal.run("kith visit adeyemi --child-seen --with theo --at 'today 09:30'")
                #expect(screen.contains("Home visit recorded with a note for The Adeyemi family and synced"), "\(screen)")
                let template = try String(contentsOf: terminal.folder.appendingPathComponent("template-seen"), encoding: .utf8)
                #expect(template.contains("# What I saw:") && template.contains("# Next steps:"))

                screen = try await terminal.run("kith timeline FGC-7")
                #expect(screen.contains("Home visit — child seen"))
                #expect(screen.contains("Note: Visit after school."))
                // On the server: the contact, who was there, and the note with its sections.
                #expect(try await count(db, """
                    SELECT count(*) FROM contacts c JOIN contact_people p ON p.contact_id = c.id
                    WHERE c.child_seen AND c.kind = 'homeVisit' AND extract(hour FROM c.occurred_at AT TIME ZONE 'UTC') = 9
                    """) == 1)
                #expect(try await count(db, """
                    SELECT count(*) FROM note_revisions
                    WHERE body LIKE '%Theo showed me his drawings%' AND next_steps = 'Visit again on Friday with Nan.'
                    """) == 1)

                // The visit's "child seen" was wrong: corrected from the terminal, kept beside what was recorded.
                let visit = try await db.query(
                    "SELECT id FROM contacts WHERE extract(hour FROM occurred_at AT TIME ZONE 'UTC') = 9", logger: TestDatabase.logger
                ).collect()[0].decode(UUID.self)
                screen = try await terminal.run("kith contact correct \(visit.text.prefix(8)) --child-seen no --reason 'Theo was at nursery'")
                #expect(screen.contains("Contact \(visit.text.prefix(8)) corrected and synced"), "\(screen)")
                screen = try await terminal.run("kith timeline FGC-7")
                #expect(screen.contains("Home visit — corrected") && !screen.contains("Home visit — child seen"), "\(screen)")
                #expect(try await count(db, """
                    SELECT count(*) FROM contact_corrections k JOIN contacts c ON c.id = k.contact_id
                    WHERE NOT k.child_seen AND k.reason = 'Theo was at nursery' AND c.child_seen
                    """) == 1)

                // A note filed in error, withdrawn from the terminal: gone from the timeline here and on the server.
                screen = try await terminal.run("kith note adeyemi -m 'Meant for the Morgan family.'")
                #expect(screen.contains("Note saved for The Adeyemi family and synced"), "\(screen)")
                let misfiled = try await db.query(
                    "SELECT n.id FROM notes n JOIN note_revisions r ON r.note_id = n.id WHERE r.body = 'Meant for the Morgan family.'",
                    logger: TestDatabase.logger).collect()[0].decode(UUID.self)
                screen = try await terminal.run("kith note withdraw \(misfiled.text.prefix(8)) --reason 'Wrong family'")
                #expect(screen.contains("Note \(misfiled.text.prefix(8)) withdrawn and synced"), "\(screen)")
                screen = try await terminal.run("kith timeline FGC-7")
                #expect(!screen.contains("Meant for the Morgan family") && screen.contains("Note: Visit after school."), "\(screen)")
                #expect(try await count(db, "SELECT count(*) FROM note_withdrawals WHERE reason = 'Wrong family'") == 1)
                // And one refiled on the family it was meant for (opened since, and brought here by a sync).
                let (opened, _) = try await server.post(
                    "/v1/families", token: fixture.tokens[.priya]!, json: try json(["displayName": "The Morgan family", "reference": "FGC-8"]))
                #expect(opened == 201)
                screen = try await terminal.run("kith note adeyemi -m 'Kai starts nursery on Monday.'")
                let meant = try await db.query(
                    "SELECT n.id FROM notes n JOIN note_revisions r ON r.note_id = n.id WHERE r.body = 'Kai starts nursery on Monday.'",
                    logger: TestDatabase.logger).collect()[0].decode(UUID.self)
                screen = try await terminal.run("kith note refile \(meant.text.prefix(8)) FGC-8 --reason 'Kai is a Morgan'")
                #expect(screen.contains("Note \(meant.text.prefix(8)) refiled on The Morgan family and synced"), "\(screen)")
                screen = try await terminal.run("kith timeline FGC-8")
                #expect(screen.contains("Note: Kai starts nursery on Monday."), "\(screen)")
                screen = try await terminal.run("kith timeline FGC-7")
                #expect(!screen.contains("Kai starts nursery"), "\(screen)")
                #expect(try await count(db, """
                    SELECT count(*) FROM notes n JOIN families f ON f.id = n.family_id
                    WHERE n.refiled_from = '\(meant)' AND f.display_name = 'The Morgan family'
                    """) == 1)
                // Its audience narrowed from the terminal, with the reason kept on the server.
                let refiledId = try await db.query(
                    "SELECT id FROM notes WHERE refiled_from = \(meant)", logger: TestDatabase.logger).collect()[0].decode(UUID.self)
                screen = try await terminal.run("kith note audience \(refiledId.text.prefix(8)) restricted --reason 'About health'")
                #expect(screen.contains("Note \(refiledId.text.prefix(8)) is restricted now and synced"), "\(screen)")
                #expect(try await count(db, "SELECT count(*) FROM note_audience_changes WHERE audience = 'restricted' AND reason = 'About health'") == 1)

                // An invitation to the family's page, from the terminal: a QR code to scan from the screen, the link, the code.
                screen = try await terminal.run("kith invite adeyemi theo")
                #expect(screen.contains("Theo Adeyemi is invited to The Adeyemi family's page."), "\(screen)")
                #expect(screen.contains("█") && screen.contains("▀"), "the QR code is drawn")
                #expect(screen.contains("Link: \(server.base)/family/i/kith_"))
                #expect(screen.range(of: #"Code: \d{3} \d{3}"#, options: .regularExpression) != nil)
                screen = try await terminal.run("kith invitations adeyemi")
                #expect(screen.contains("Theo Adeyemi") && screen.contains("waiting"))
                #expect(try await count(db, "SELECT count(*) FROM family_invitations WHERE opened_at IS NULL") == 1)
                // What the server refuses is told as it said it (`Server.Refusals`): a team's continuity is its
                // supervisors', and to anyone else there is no such record.
                screen = try await terminal.run("kith continuity --team north")
                #expect(screen.contains("the server refused (404 not_found): No such record."), "\(screen)")

                // The network cable pulled: the work is kept and the person is told what to do.
                server.kill()
                screen = try await terminal.run("kith visit adeyemi --kind phone -m 'Phoned mum: all well.'")
                #expect(screen.contains("server unreachable"))
                #expect(screen.contains("1 visit and 1 note saved locally, run `kith sync` when online"))
                screen = try await terminal.run("kith status")
                #expect(screen.contains("Waiting to be sent: 1 visit and 1 note"))

                server = try await ServerProcess(databaseURL: url, port: server.port)
                server.mustNotLog("Adeyemi", "Theo", "drawings", "Phoned mum")
                defer { server.kill() }
                screen = try await terminal.run("kith sync")
                #expect(screen.contains("Synced: sent 2"))
                #expect(try await count(db, "SELECT count(*) FROM contacts") == 2)
                #expect(try await count(db, "SELECT count(*) FROM notes") == 5)

                // A supervisor, on a profile of their own, lists the team's caseload.
                try terminal.type("kith --profile sam login 127.0.0.1:\(server.port) --email sam@test.kith; echo END-7")
                try await terminal.waitFor("Password:", prompt: true)
                try terminal.type(Fixture.password)
                try await terminal.waitFor("END-7")
                // Only what `caseload` printed: the terminal's history already holds the family's name.
                let caseload = try await terminal.run("kith --profile sam caseload")
                #expect(caseload.contains("The Adeyemi family") && caseload.contains("Priya Shah"), "\(caseload)")
            }
        }
    }
}

/// A shell in a tmux session of its own (its own server socket), 80 columns wide, with `kith` on its PATH, a data
/// folder of its own, and an editor that writes a note under two of the template's headings.
struct Tmux {
    let socket = "kith-test-\(UUID().uuidString.prefix(8))"
    let folder: URL

    /// `environment`: settings added to the shell's (`BROWSER=…`, say).
    init(environment extra: [String] = []) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kith-terminal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let editor = folder.appendingPathComponent("editor")
        // A test wanting other text writes it to `next-edit` first: the editor uses it once, in place of the note.
        try """
            #!/bin/sh
            cp "$1" "\(folder.path)/template-seen"
            if [ -f "\(folder.path)/next-edit" ]; then mv "\(folder.path)/next-edit" "$1"; exit 0; fi
            sed -i -e '1s/^/Visit after school.\\n/' \\
                -e 's/^# What I saw:$/&\\nTheo showed me his drawings; the house was calm./' \\
                -e 's/^# Next steps:$/&\\nVisit again on Friday with Nan./' "$1"
            """.write(to: editor, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: editor.path)
        let bin = try ServerProcess.builtProduct("kith").deletingLastPathComponent().path
        let environment = [
            // Read by sh rather than run itself: a process the test process spawns meanwhile may still hold the file
            // open from its writing, and running it would then fail with ETXTBSY ("Text file busy").
            "HOME=\(folder.path)", "TZ=UTC", "XDG_DATA_HOME=\(folder.path)/data", "EDITOR=/bin/sh \(editor.path)", "NO_COLOR=1", "TERM=xterm",
            "PATH=\(bin):/usr/bin:/bin", "PS1=$ ",
        ] + extra
        try tmux(["new-session", "-d", "-s", "kith", "-x", "80", "-y", "50", "env", "-i"] + environment + ["bash", "--norc", "--noprofile"])
    }

    /// What the editor writes the next time it opens, instead of the note.
    func nextEdit(_ text: String) throws {
        try text.write(to: folder.appendingPathComponent("next-edit"), atomically: true, encoding: .utf8)
    }

    /// Signs `who` in on a profile of their own, answering the password prompt.
    func login(_ who: Fixture.Who, port: Int) async throws {
        try type("kith --profile \(who.rawValue) login 127.0.0.1:\(port) --email \(who.rawValue)@test.kith; echo END-LOGIN-\(who.rawValue)")
        try await waitFor("Password:", prompt: true)
        try type(Fixture.password)
        try await waitFor("END-LOGIN-\(who.rawValue)")
    }

    /// Runs a command line and returns the screen once it has finished.
    @discardableResult
    func run(_ line: String) async throws -> String {
        let marker = "END-\(UUID().uuidString.prefix(8))"
        try type("\(line); echo \(marker)")
        let screen = try await waitFor(marker)
        // Only what this command printed: from its own line to its marker.
        let lines = screen.components(separatedBy: "\n")
        let start = lines.lastIndex { $0.contains("echo \(marker)") } ?? 0
        return lines[start...].joined(separator: "\n")
    }

    /// Types a line and presses Enter.
    func type(_ line: String) throws {
        try tmux(["send-keys", "-t", "kith", "-l", line])
        try tmux(["send-keys", "-t", "kith", "Enter"])
    }

    /// Waits (up to a minute) until `text` shows on a line of its own (a command's end marker) or, with `prompt`, ends
    /// the screen (a question waiting for an answer); returns the screen with its history.
    @discardableResult
    func waitFor(_ text: String, prompt: Bool = false) async throws -> String {
        for _ in 0..<600 {
            let screen = try tmux(["capture-pane", "-p", "-J", "-t", "kith", "-S", "-1000"])
            let wanted = text.trimmingCharacters(in: .whitespaces)
            let lines = screen.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            if prompt ? lines.last == wanted : lines.contains(wanted) { return screen }
            try await Task.sleep(for: .milliseconds(100))
        }
        let screen = try tmux(["capture-pane", "-p", "-J", "-t", "kith", "-S", "-1000"])
        throw Trouble("the terminal never showed '\(text)'; it shows:\n\(screen)")
    }

    struct Trouble: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    func close() {
        _ = try? tmux(["kill-server"])
        try? FileManager.default.removeItem(at: folder)
    }

    /// Runs tmux and returns what it printed. Spawned directly, not with Foundation's `Process`: that watches for the
    /// child's exit through a descriptor the daemonised tmux server inherits, so it would wait for ever.
    @discardableResult
    private func tmux(_ arguments: [String]) throws -> String {
        let output = folder.appendingPathComponent("tmux-output")
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = (["tmux", "-L", socket, "-f", "/dev/null"] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard withCleanSignals({ posix_spawnp(&pid, "tmux", &actions, &$0, argv, environ) }) == 0 else {
            throw Trouble("tmux could not be started: is it installed? (scripts/test installs it)")
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        guard status == 0 else { throw Trouble("tmux \(arguments.first ?? "") failed (status \(status))") }
        return String(decoding: (try? Data(contentsOf: output)) ?? Data(), as: UTF8.self)
    }
}
