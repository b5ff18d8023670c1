import Foundation
import KithAPI
import OpenAPIRuntime
import Testing
@testable import KithServer

/// The pull's page is written by `JSONStreamEncoder`; it must say what Foundation's `JSONEncoder`, configured as the
/// generated serialiser configures it, would say of the same value.
@Suite struct JSONStreamEncoderTests {
    /// Foundation's encoder as the OpenAPI runtime sets it up with `KithJSON.configuration`.
    static let foundation: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(try RFC3339DateTranscoder().encode(date))
        }
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in try RFC3339DateTranscoder().decode(try decoder.singleValueContainer().decode(String.self)) }
        return decoder
    }()

    /// The same JSON as Foundation's, and the same value when read back.
    static func expectSameAsFoundation<Value: Codable & Equatable>(
        _ value: Value, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let streamed = Data(try JSONStreamEncoder().encode(value))
        let expected = try foundation.encode(value)
        let same = try JSONSerialization.jsonObject(with: streamed, options: [.fragmentsAllowed]) as? NSObject
            == (try JSONSerialization.jsonObject(with: expected, options: [.fragmentsAllowed]) as? NSObject)
        #expect(same, "\(streamed.utf8Text)\nis not\n\(expected.utf8Text)", sourceLocation: sourceLocation)
        #expect(try decoder.decode(Value.self, from: streamed) == value, sourceLocation: sourceLocation)
    }

    @Test func aFirstSyncPageIsTheJSONFoundationWouldWrite() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let _: Components.Schemas.Person = try await kith.send(
                .post, "/v1/families/\(family.id)/people", as: .priya,
                json: ["name": "Amy \"Mimi\" O'Neil", "relationshipToChild": "aunt\\godmother", "language": "Polski – ąę"],
                expect: .created)
            let note: [String: Any] = [
                "body": "Line one\nline two\ttabbed, a slash /", "audience": "family",
                "sections": ["familyWords": "“We’re managing” 👍"],
            ]
            let written = try await kith.request(
                .post, "/v1/families/\(family.id)/notes", as: .priya,
                raw: try JSONSerialization.data(withJSONObject: note).utf8Text)
            #expect(written.status == .created, "\(String(buffer: written.body))")
            let device = try await FieldDevice.register(kith, as: .priya)
            let (pages, _) = try await device.pullAll(from: nil)
            let entities = Set(pages.flatMap(\.changes).map(\.entity))
            #expect(entities.isSuperset(of: [.family, .person, .allocation, .note]))
            for page in pages { try Self.expectSameAsFoundation(page) }
        }
    }

    @Test func aTimelinePageIsTheJSONFoundationWouldWrite() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            for text in ["First \"visit\"", "Second\nvisit", "Third visit"] {
                let _: Components.Schemas.JudgmentNote = try await kith.send(
                    .post, "/v1/families/\(family.id)/notes", as: .priya, json: ["body": text], expect: .created)
            }
            let page: Components.Schemas.TimelinePage = try await kith.send(
                .get, "/v1/families/\(family.id)/timeline?limit=2", as: .priya)
            #expect(page.items.count == 2 && page.next != nil)
            try Self.expectSameAsFoundation(page)
        }
    }

    @Test func problemsWithAbsentFieldsAndEveryKindOfCharacter() throws {
        let text = String((0..<0x80).map { Character(UnicodeScalar(UInt8($0))) }) + "é 中 🧒🏽"
        try Self.expectSameAsFoundation(Components.Schemas.Problem(
            _type: "about:blank", title: text, status: 422, detail: nil, code: "invalid"))
        try Self.expectSameAsFoundation(["when": Date(timeIntervalSince1970: 1_700_000_000)])
        try Self.expectSameAsFoundation([1.5, 2, -0.25, 1e300])
        try Self.expectSameAsFoundation([Int64.min, Int64.max])
        try Self.expectSameAsFoundation([[String: [Bool]]]())
    }

    /// A value that writes to an outer container after opening a nested one cannot be streamed in order: it is refused,
    /// never written as other JSON than it means.
    @Test func aContainerWrittenToAfterItWasClosedIsRefused() throws {
        struct OutOfOrder: Encodable {
            enum Key: CodingKey { case a, b, c }
            func encode(to encoder: any Encoder) throws {
                var outer = encoder.container(keyedBy: Key.self)
                var nested = outer.nestedContainer(keyedBy: Key.self, forKey: .a)
                try outer.encode(1, forKey: .b)
                try nested.encode(2, forKey: .c)
            }
        }
        #expect(throws: JSONStreamEncoder.Unsupported.self) { try JSONStreamEncoder().encode(OutOfOrder()) }
        let foundation = try JSONSerialization.jsonObject(with: try Self.foundation.encode(OutOfOrder())) as? NSObject
        #expect(foundation == (["a": ["c": 2], "b": 1] as NSDictionary))
    }
}
