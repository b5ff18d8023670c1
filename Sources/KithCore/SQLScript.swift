/// Splits a migration file into statements, because PostgresNIO speaks only the extended query protocol,
/// which takes one statement at a time. Semicolons inside quotes, comments and dollar-quoted bodies
/// (function definitions) do not split.
public enum SQLScript {
    public static func statements(in script: String) -> [String] {
        let chars = Array(script)
        var statements: [String] = []
        var current = ""
        var i = 0

        func flush() {
            let statement = current.trimmingWhitespace()
            if !statement.isEmpty, !isOnlyComments(statement) { statements.append(statement) }
            current = ""
        }

        while i < chars.count {
            let c = chars[i]
            let next: Character? = i + 1 < chars.count ? chars[i + 1] : nil
            if c == "-", next == "-" {
                while i < chars.count, chars[i] != "\n" { current.append(chars[i]); i += 1 }
                continue
            }
            if c == "/", next == "*" {
                let end = find("*/", in: chars, from: i + 2) ?? chars.count
                current.append(contentsOf: chars[i..<min(end + 2, chars.count)]); i = end + 2
                continue
            }
            if c == "'" || c == "\"" {
                var j = i + 1
                while j < chars.count {
                    if chars[j] == c {
                        if j + 1 < chars.count, chars[j + 1] == c { j += 2; continue }
                        break
                    }
                    j += 1
                }
                current.append(contentsOf: chars[i..<min(j + 1, chars.count)]); i = j + 1
                continue
            }
            if c == "$", let tag = dollarTag(in: chars, at: i) {
                let bodyStart = i + tag.count
                let end = find(tag, in: chars, from: bodyStart).map { $0 + tag.count } ?? chars.count
                current.append(contentsOf: chars[i..<end]); i = end
                continue
            }
            if c == ";" { flush(); i += 1; continue }
            current.append(c); i += 1
        }
        flush()
        return statements
    }

    /// `$$` or `$tag$` starting at `index`, or nil for a positional parameter like `$1`.
    private static func dollarTag(in chars: [Character], at index: Int) -> String? {
        var j = index + 1
        while j < chars.count, chars[j] == "_" || chars[j].isLetter || (j > index + 1 && chars[j].isNumber) { j += 1 }
        guard j < chars.count, chars[j] == "$" else { return nil }
        return String(chars[index...j])
    }

    private static func find(_ needle: String, in chars: [Character], from start: Int) -> Int? {
        let pattern = Array(needle)
        guard start <= chars.count - pattern.count else { return nil }
        for i in start...(chars.count - pattern.count) where Array(chars[i..<(i + pattern.count)]) == pattern {
            return i
        }
        return nil
    }

    private static func isOnlyComments(_ statement: String) -> Bool {
        statement.split(separator: "\n").allSatisfy { $0.trimmingWhitespace().hasPrefix("--") || $0.trimmingWhitespace().isEmpty }
    }
}

extension StringProtocol {
    /// The text without leading and trailing white space (Foundation-free, for KithCore).
    public func trimmingWhitespace() -> String {
        String(self.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
