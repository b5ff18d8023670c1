import Foundation
import KithAPI
import KithClient
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The person at the terminal: what is printed for them, what is asked of them.
enum Terminal {
    static let outputIsTerminal = isatty(STDOUT_FILENO) == 1
    static let errorIsTerminal = isatty(STDERR_FILENO) == 1
    static let style = Style.forOutput(isTerminal: outputIsTerminal)
    static let errorStyle = Style.forOutput(isTerminal: errorIsTerminal)

    /// The terminal's width, or `COLUMNS`, or 80.
    static var width: Int {
        var size = winsize()
        if outputIsTerminal, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init) ?? 80
    }

    /// A line at once, even into a pipe or a file (where output is otherwise held back until the command ends): the
    /// sign-in's address and code must be readable while the command waits.
    static func print(_ text: String) {
        Swift.print(text)
        fflush(nil)
    }

    /// Opens `address` in the person's browser (`$BROWSER`, else `xdg-open`), best effort: the address is printed too.
    static func openBrowser(_ address: URL) {
        let browser = ProcessInfo.processInfo.environment["BROWSER"].flatMap { $0.isEmpty ? nil : $0 } ?? "xdg-open"
        let words = ["/bin/sh", "-c", browser + " \"$1\" >/dev/null 2>&1 &", "kith-browser", address.absoluteString]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else { return }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    }

    /// A QR code of `text` for a phone's camera, dark on light whatever the terminal's colours, between blank lines.
    static func qrCode(_ text: String) {
        guard let code = try? QRCode(Array(text.utf8)) else { return }
        print("")
        for line in code.lines() { print(outputIsTerminal ? "\u{1B}[30;107m\(line)\u{1B}[0m" : line) }
        print("")
    }

    static func table(_ table: Table) {
        print(table.render(width: width, style: style))
    }

    static func json(_ value: some Encodable) throws {
        let encoder = KithJSON.encoder()
        encoder.outputFormatting.formUnion([.prettyPrinted, .withoutEscapingSlashes])
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    static func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        note(errorStyle.red("kith: ") + text)
    }

    // MARK: Asking

    static let inputIsTerminal = isatty(STDIN_FILENO) == 1

    /// A line from the person (prompted on a terminal) or from a pipe.
    static func ask(_ prompt: String) -> String? {
        if inputIsTerminal { FileHandle.standardError.write(Data(prompt.utf8)) }
        return readLine()?.trimmingCharacters(in: .whitespaces)
    }

    /// A line typed without echo on a terminal; read as it comes from a pipe (e.g. a password manager).
    static func askSecret(_ prompt: String) -> String? {
        guard inputIsTerminal else { return readLine() }
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        tcgetattr(STDIN_FILENO, &saved)
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        return readLine()
    }

    // MARK: The editor

    /// Opens `$VISUAL`, `$EDITOR` or `vi` on `text` in a file of the profile's own folder (owner-only), as git does with
    /// COMMIT_EDITMSG, and returns what was saved. If the editor fails, the file is kept and named.
    static func edit(_ text: String, in folder: URL) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let editor = [environment["VISUAL"], environment["EDITOR"]].compactMap { $0 }.first { !$0.isEmpty } ?? "vi"
        let file = folder.appendingPathComponent("NOTE_EDITMSG")
        try Data(text.utf8).write(to: file, options: .atomic)
        // Through the shell, as git does, so the editor may carry its own arguments (`code --wait`). Spawned directly
        // rather than with Foundation's `Process`, which would put the editor outside the terminal's foreground group.
        let words: [String] = ["/bin/sh", "-c", editor + " \"$1\"", "kith-editor", file.path]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else {
            throw CommandError.usage("could not start the editor (\(editor)); your text is in \(file.path)")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else {
            throw CommandError.usage("the editor (\(editor)) did not finish cleanly; nothing was saved (your text is in \(file.path))")
        }
        let edited = try String(contentsOf: file, encoding: .utf8)
        try? FileManager.default.removeItem(at: file)
        return edited
    }
}

/// A progress line on standard error for syncs that take more than a moment (only on a terminal).
final class Spinner: Sendable {
    private final class State: Sendable {
        let line = Mutex<(text: String, shown: Bool)>(("", false))
    }

    private let state = State()
    private let task: Task<Void, Never>?

    init(_ text: String) {
        state.line.withLock { $0.text = text }
        guard Terminal.errorIsTerminal else {
            task = nil
            return
        }
        let state = self.state
        task = Task {
            let frames = Array("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
            try? await Task.sleep(for: .milliseconds(400))
            var frame = 0
            while !Task.isCancelled {
                let text = state.line.withLock { state in
                    state.shown = true
                    return state.text
                }
                FileHandle.standardError.write(Data("\r\u{1B}[K\(frames[frame % frames.count]) \(text)".utf8))
                frame += 1
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    func update(_ text: String) {
        state.line.withLock { $0.text = text }
    }

    func stop() async {
        task?.cancel()
        await task?.value
        if state.line.withLock({ $0.shown }) { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
