import Foundation
import KithAPI

/// The competing values of a field conflict (`payload.values`).
package enum ReviewChoices {
    package struct Value: Sendable {
        package let value: String?
        package let workerId: String
    }

    package static func values(of item: Components.Schemas.PulledReviewItem) -> [Value] {
        guard item.kind == .conflict, let values = item.payload?.additionalProperties.value["values"] as? [Any?] else { return [] }
        return values.compactMap { entry in
            guard let entry = entry as? [String: Any?] else { return nil }
            return Value(value: entry["value"] as? String, workerId: entry["workerId"] as? String ?? "")
        }
    }

    package static func item(_ ref: String, in store: LocalStore) throws -> Components.Schemas.PulledReviewItem {
        let matches = try store.reviewItems().filter { $0.id.hasPrefix(ref.lowercased()) }
        guard matches.count == 1, !ref.isEmpty else {
            throw CommandError.usage(matches.isEmpty ? "no review item matches '\(ref)' (run `kith sync`, then `kith review`)" : "'\(ref)' matches \(matches.count) review items: say more")
        }
        return matches[0]
    }
}
