import Foundation
import KithAPI
import KithCore
import Testing
import Yams
@testable import KithServer

/// The served document states the rules the server holds input to (`x-kith-text`, the sync protocol's bounds), so that
/// a client generated from it knows them and the contract run can hold the server to them. These tests hold the
/// document and the server's own checks to each other, so neither can change alone.
@Suite struct ContractRulesTests {
    static var document: [String: Any] {
        try! Yams.load(yaml: String(decoding: APIDocument.yaml(), as: UTF8.self)) as! [String: Any]
    }

    static func rule(_ name: String) -> NSRegularExpression {
        let rules = document["x-kith-text"] as! [String: String]
        return try! NSRegularExpression(pattern: rules[name]!)
    }

    static func matches(_ rule: NSRegularExpression, _ text: String) -> Bool {
        rule.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// Every year, month and day number around the years Kith takes: the document's day is exactly `CalendarDay`'s.
    @Test func aDayIsWhatTheServerTakesAsADay() {
        let day = Self.rule("day")
        var disagreements: [String] = []
        for year in 1898...2202 {
            for month in 0...13 {
                for dayOfMonth in 0...32 {
                    let text = String(format: "%04d-%02d-%02d", year, month, dayOfMonth)
                    if Self.matches(day, text) != (CalendarDay(text) != nil) { disagreements.append(text) }
                }
            }
        }
        for text in ["2024-2-29", "20240229", "2024-02-29T00:00:00Z", " 2024-02-29", ""] where Self.matches(day, text) != (CalendarDay(text) != nil) {
            disagreements.append(text)
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(20))")
    }

    /// Text and words, scalar by scalar through the control characters, Latin-1, the white space of Unicode and beyond.
    @Test func textIsWhatTheServerTakesAsText() {
        let text = Self.rule("text"), words = Self.rule("words")
        let scalars = (0...0x3100).compactMap(Unicode.Scalar.init) + ["\u{FEFF}", "\u{1F600}", "\u{10FFFF}"]
        var disagreements: [UInt32] = []
        for scalar in scalars {
            var asText = Validation(), asWords = Validation()
            asText.text("field", "a\(scalar)b", max: 10)
            asWords.requiredText("field", " \(scalar)\t", max: 10)
            if Self.matches(text, "a\(scalar)b") != asText.isValid || Self.matches(words, " \(scalar)\t") != asWords.isValid {
                disagreements.append(scalar.value)
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(20).map { String($0, radix: 16) })")
    }

    /// Times as devices and browsers write them: what the document allows the server reads, and what it refuses the
    /// server cannot read (more than nine digits of a second among them) or refuses as before 1900.
    @Test func aTimeIsWhatTheServerReadsAsATime() {
        let moment = Self.rule("moment")
        let transcoder = RFC3339DateTranscoder()
        let earliest = Date(timeIntervalSince1970: -2_208_988_800)
        // What the server takes: a time its transcoder reads (it throws for anything else), not before 1900.
        func serverTakes(_ text: String) -> Bool {
            do {
                return try transcoder.decode(text) >= earliest
            } catch {
                return false
            }
        }
        for text in [
            "2026-03-01T09:30:00Z", "2026-03-01T09:30:00.123Z", "2026-03-01T09:30:00.123456+01:00", "2026-03-01T09:30:00.123456789Z", "2024-02-29T23:59:59-18:00",
            "2026-03-01T09:30:00+18:00", "1900-01-01T00:00:00Z", "2200-12-31T23:59:59Z",
            "2026-03-01t09:30:00z", "2026-03-01T09:30:00+19:00", "2026-03-01T24:00:00Z", "2026-02-30T09:30:00Z",
            "2026-03-01T09:30:60Z", "2026-03-01T09:30:00.1234567891Z", "2026-03-01T09:30:00Z*", "2026-03-01T09:30:00+01:00 ", "2026-03-01T09:30:00.Z", "2026-03-01 09:30:00Z", "2026-03-01T09:30Z", "1899-12-31T12:00:00Z", "2026-03-01",
        ] {
            let read = serverTakes(text)
            if Self.matches(moment, text) {
                #expect(read, "\(text): the document allows it, the server does not take it")
            } else {
                #expect(!read, "\(text): the server takes it, the document does not allow it")
            }
        }
    }

    @Test func theSyncBoundsTheDocumentNamesAreTheServers() {
        let schemas = (Self.document["components"] as! [String: Any])["schemas"] as! [String: Any]
        func property(_ schema: String, _ name: String) -> [String: Any] {
            ((schemas[schema] as! [String: Any])["properties"] as! [String: Any])[name] as! [String: Any]
        }
        #expect(property("PushRequest", "protocol")["maximum"] as? Int == SyncProtocol.current)
        #expect(property("PushRequest", "protocol")["minimum"] as? Int == SyncProtocol.oldestPushed)
        #expect(property("PullRequest", "protocol")["maximum"] as? Int == SyncProtocol.current)
        #expect(property("PushRequest", "mutations")["maxItems"] as? Int == SyncProtocol.maxMutationsPerPush)
    }
}
