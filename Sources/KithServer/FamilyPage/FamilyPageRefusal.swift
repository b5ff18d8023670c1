import HTTPTypes

/// Why the family's page cannot do what was asked, said plainly and politely, with the status a browser should see. Its
/// words are messages of the page's catalogues (`refusal.KEY.title`, `refusal.KEY.message`), in the reader's language.
struct FamilyPageRefusal: Error, Sendable {
    let status: HTTPResponse.Status
    let key: String
    /// What the message names (a number of minutes, say), already in the reader's words where it is words.
    var values: [String: String] = [:]
    /// The browser's cookie no longer opens anything, so it is cleared.
    var endsSession = false

    func view(_ words: PageWords) -> NoticeView {
        NoticeView(title: words("refusal.\(key).title", values), message: words("refusal.\(key).message", values))
    }

    struct NoticeView { let title: String; let message: String }

    static let notFound = FamilyPageRefusal(status: .notFound, key: "not-found")
    static let revoked = FamilyPageRefusal(status: .gone, key: "revoked")
    static let expired = FamilyPageRefusal(status: .gone, key: "expired")
    static let ended = FamilyPageRefusal(status: .gone, key: "ended", endsSession: true)
    static let notSignedIn = FamilyPageRefusal(status: .unauthorized, key: "not-signed-in", endsSession: true)
    static let signedOut = FamilyPageRefusal(status: .ok, key: "signed-out")
    static let forgedForm = FamilyPageRefusal(status: .forbidden, key: "forged-form")
    static let badWords = FamilyPageRefusal(status: .badRequest, key: "bad-words")
    static let noSuchItem = FamilyPageRefusal(status: .notFound, key: "no-such-item")
    static let noSuchNote = FamilyPageRefusal(status: .notFound, key: "no-such-note")
    static let noSuchQuestion = FamilyPageRefusal(status: .conflict, key: "no-such-question")
    static let tooManyWords = FamilyPageRefusal(
        status: .tooManyRequests, key: "too-many-words", values: ["count": "\(FamilyPageRecords.submissionsPerHour)"])
    static let tooManyViews = FamilyPageRefusal(status: .tooManyRequests, key: "too-many-views")
    static let unavailable = FamilyPageRefusal(status: .serviceUnavailable, key: "unavailable")

    static func tooManyAttempts(minutes: Int, _ words: PageWords) -> FamilyPageRefusal {
        FamilyPageRefusal(status: .tooManyRequests, key: "too-many-attempts", values: ["minutes": words.minutes(minutes)])
    }

    /// What an invitation's state (`kith_family_invitation`) means for someone opening it.
    init(invitationState state: String) {
        self = switch state {
        case "revoked": .revoked
        case "expired": .expired
        default: .ended
        }
    }

    /// What a password-reset link's state (`kith_password_reset`) means for the worker opening it.
    init(resetState state: String?) {
        let key = switch state {
        case nil: "reset-unknown"
        case "used": "reset-used"
        case "replaced": "reset-replaced"
        default: "reset-expired"
        }
        self.init(status: state == nil ? .notFound : .gone, key: key)
    }

    static let passwordSet = FamilyPageRefusal(status: .ok, key: "password-set")

    init(status: HTTPResponse.Status, key: String, values: [String: String] = [:], endsSession: Bool = false) {
        (self.status, self.key, self.values, self.endsSession) = (status, key, values, endsSession)
    }

    static func check(invitationState state: String?) throws {
        guard let state else { throw notFound }
        if state != "open" { throw FamilyPageRefusal(invitationState: state) }
    }

    /// Every refusal the pages make, for the catalogue test.
    static var all: [FamilyPageRefusal] {
        [notFound, revoked, expired, ended, notSignedIn, signedOut, forgedForm, badWords, noSuchItem, noSuchNote, noSuchQuestion,
         tooManyWords, tooManyViews, unavailable, passwordSet, noSuchSignIn, deviceFormForged, deviceSignInLapsed, deviceSignInRefused,
         deviceSignedIn, FamilyPageRefusal(status: .tooManyRequests, key: "too-many-attempts")]
            + [nil, "used", "replaced", "expired"].map { FamilyPageRefusal(resetState: $0) }
    }
}
