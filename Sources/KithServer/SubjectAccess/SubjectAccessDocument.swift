import Foundation
import KithAPI
import KithCore
import Mustache

/// A disclosure as the person receives it: for each data subject, the items that go out with every withheld span
/// marked, then a schedule of the exemptions used and what was withheld. Nothing in it changes between two renderings
/// of the same decisions (no time of rendering, no id of its own), so its SHA-256 is stable.
struct SubjectAccessDocument {
    let title = "Your information: a subject access disclosure"
    let requestId: String
    let receivedOn: String
    let subjects: [Subject]
    let schedule: [Exemption]
    /// Items proposed for review or withholding that nobody released: not disclosed, and not exempted either.
    let undecided: Int
    let disclosedCount: Int
    let withheldCount: Int

    struct Subject {
        let name: String
        let items: [Item]
    }

    struct Item {
        let title: String
        let on: String?
        let text: String
    }

    struct Exemption {
        let exemption: String
        let items: Int
        let spans: Int
    }

    init(request: Components.Schemas.SubjectAccessRequest, subjects: [DataSubject], items: [Components.Schemas.SubjectAccessItem]) {
        requestId = request.id
        receivedOn = request.receivedOn
        self.subjects = subjects.map { subject in
            Subject(name: subject.name, items: items.filter { $0.dataSubjectId == subject.personId.text && $0.disclosed }.map { item in
                Item(title: item.title, on: item.at.map { String($0.formatted(.iso8601).prefix(10)) }, text: item.disclosedText ?? "")
            })
        }
        var whole: [String: Int] = [:], spans: [String: Int] = [:]
        for item in items {
            if let exemption = item.exemption { whole[exemption.rawValue, default: 0] += 1 }
            guard item.disclosed else { continue }
            let outcome = DisclosureOutcome(
                DisclosureProposal(rawValue: item.proposal.rawValue)!, decisions: item.decisions.map(\.outcome))
            for span in outcome.spans { spans[span.exemption.rawValue, default: 0] += 1 }
        }
        schedule = KithCore.Exemption.allCases.map(\.rawValue).filter { whole[$0] != nil || spans[$0] != nil }.map {
            Exemption(exemption: $0, items: whole[$0] ?? 0, spans: spans[$0] ?? 0)
        }
        undecided = items.filter { !$0.disclosed && $0.exemption == nil }.count
        disclosedCount = items.filter(\.disclosed).count
        withheldCount = items.count - disclosedCount
    }

    /// The server's templates (`FamilyPage/Templates`), where `disclosure.mustache` lives.
    struct Templates: Sendable {
        let library: MustacheLibrary

        func render(_ document: SubjectAccessDocument) -> String {
            library.render(document, withTemplate: "disclosure") ?? ""
        }
    }
}
