import Foundation

/// A plain-text table that fits the terminal: the flexible columns give up width (ending in "…") until the whole
/// row fits, so an 80-column terminal never wraps.
package struct Table: Sendable {
    package struct Column: Sendable {
        let header: String
        let flexible: Bool
        let rightAligned: Bool

        package init(_ header: String, flexible: Bool = false, rightAligned: Bool = false) {
            self.header = header
            self.flexible = flexible
            self.rightAligned = rightAligned
        }
    }

    let columns: [Column]
    var rows: [[String]] = []

    package init(_ columns: [Column]) {
        self.columns = columns
    }

    package mutating func add(_ cells: [String]) {
        rows.append(cells)
    }

    package func render(width: Int, style: Style) -> String {
        let gap = 2
        var widths = columns.indices.map { index in
            ([columns[index].header] + rows.map { $0[index] }).map(\.count).max() ?? 0
        }
        let minimum = 6
        while widths.reduce(0, +) + gap * (columns.count - 1) > width {
            guard let widest = columns.indices.filter({ columns[$0].flexible && widths[$0] > minimum }).max(by: { widths[$0] < widths[$1] })
            else { break }
            widths[widest] -= 1
        }
        func line(_ cells: [String]) -> String {
            cells.indices.map { index -> String in
                let cell = Self.fit(cells[index], widths[index])
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                if index == cells.count - 1 && !columns[index].rightAligned { return cell }
                return columns[index].rightAligned ? padding + cell : cell + padding
            }.joined(separator: String(repeating: " ", count: gap))
        }
        return ([style.bold(line(columns.map(\.header)))] + rows.map(line)).joined(separator: "\n")
    }

    static func fit(_ text: String, _ width: Int) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count <= width ? flat : String(flat.prefix(max(width - 1, 0))) + "…"
    }
}

/// Colour and emphasis, only on a terminal and never when `NO_COLOR` is set (https://no-color.org).
package struct Style: Sendable {
    package let enabled: Bool

    package init(enabled: Bool) {
        self.enabled = enabled
    }

    package static func forOutput(isTerminal: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> Style {
        let noColor = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        return Style(enabled: isTerminal && !noColor && environment["TERM"] != "dumb")
    }

    private func wrap(_ text: String, _ code: String) -> String { enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    package func bold(_ text: String) -> String { wrap(text, "1") }
    package func dim(_ text: String) -> String { wrap(text, "2") }
    package func yellow(_ text: String) -> String { wrap(text, "33") }
    package func red(_ text: String) -> String { wrap(text, "31") }
    package func green(_ text: String) -> String { wrap(text, "32") }
}
