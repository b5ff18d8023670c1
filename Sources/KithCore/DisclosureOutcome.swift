/// What Kith proposes for one item of a subject access bundle, by rule; a person decides.
public enum DisclosureProposal: String, Sendable, Codable {
    case disclose, review, withhold
}

/// Why something is withheld from a disclosure.
public enum Exemption: String, Sendable, Codable, CaseIterable {
    case thirdParty, seriousHarm, legalPrivilege, courtRecord, other
}

/// A person's decision about an item: withhold it whole, withhold every occurrence of a span of its text, or release
/// an item proposed for review.
public enum DisclosureDecision: Sendable, Equatable {
    case withhold(Exemption)
    case redactSpan(String, Exemption)
    case release
}

/// Where an item stands once its decisions are applied in the order they were made: the latest decision stands. An
/// item starts as proposed (only `disclose` goes out undecided); withholding it whole clears its spans; a release
/// discloses it whole, clearing spans redacted before it; a span redaction discloses the rest of it.
public struct DisclosureOutcome: Sendable, Equatable {
    public var disclosed: Bool
    /// Why the whole item is withheld, when a person withheld it.
    public var exemption: Exemption?
    public var spans: [Span]

    public struct Span: Sendable, Equatable {
        public let text: String
        public let exemption: Exemption
    }

    public init(_ proposal: DisclosureProposal, decisions: [DisclosureDecision]) {
        disclosed = proposal == .disclose
        exemption = nil
        spans = []
        for decision in decisions {
            switch decision {
            case .withhold(let why): (disclosed, exemption, spans) = (false, why, [])
            case .release: (disclosed, exemption, spans) = (true, nil, [])
            case .redactSpan(let text, let why):
                (disclosed, exemption) = (true, nil)
                spans.append(Span(text: text, exemption: why))
            }
        }
    }

    /// The item's text as disclosed: every span withheld replaced by a marker naming its exemption.
    public func apply(to text: String) -> String {
        spans.reduce(text) { $0.replacing($1.text, with: "[withheld: \($1.exemption.rawValue)]") }
    }
}
