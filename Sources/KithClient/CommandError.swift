import Foundation

/// Something the person asked for that cannot be done, said in their terms.
package enum CommandError: Error, CustomStringConvertible {
    case usage(String)
    case notSignedIn(profile: String)
    case unreachable(URL, waiting: String?)
    case refused(status: Int, code: String?, detail: String?)

    package var description: String {
        switch self {
        case .usage(let text): text
        case .notSignedIn(let profile):
            profile == "default"
                ? "not signed in: run `kith login SERVER` first"
                : "profile '\(profile)' is not signed in: run `kith --profile \(profile) login SERVER` first"
        case .unreachable(let url, let waiting):
            if let waiting {
                "server unreachable (\(url.absoluteString)) — \(waiting) saved locally, run `kith sync` when online"
            } else {
                "server unreachable (\(url.absoluteString)) — check the network or the address, then try again"
            }
        case .refused(let status, let code, let detail):
            switch code {
            case "device_revoked": "this device was revoked on the server: run `kith login SERVER` to register it again"
            case "unauthorized": "the server no longer accepts this device's sign-in (expired or revoked): run `kith login SERVER`"
            default: "the server refused (\(status)\(code.map { " \($0)" } ?? "")): \(detail ?? "no detail given")"
            }
        }
    }
}
