import HTTPTypes

/// Why the family's page cannot do what was asked, said plainly and politely, with the status a browser should see.
struct FamilyPageRefusal: Error, Sendable {
    let status: HTTPResponse.Status
    let title: String
    let message: String
    /// The browser's cookie no longer opens anything, so it is cleared.
    var endsSession = false

    var view: NoticeView { NoticeView(title: title, message: message) }

    struct NoticeView { let title: String; let message: String }

    static let notFound = FamilyPageRefusal(
        status: .notFound, title: "This link does not open a page",
        message: "Please check the link your worker gave you, or ask them for a new one.")
    static let revoked = FamilyPageRefusal(
        status: .gone, title: "This invitation has been withdrawn",
        message: "Your worker has closed this invitation. If you would like to see your family's page, please ask them for a new one.")
    static let expired = FamilyPageRefusal(
        status: .gone, title: "This invitation has run out",
        message: "Invitations that are not used within 14 days stop working, to keep your family's page safe. Please ask your worker for a new one.")
    static let ended = FamilyPageRefusal(
        status: .gone, title: "This page is no longer open to you",
        message: "Your invitation has ended. If you think this is a mistake, please talk to your worker; they can invite you again.",
        endsSession: true)
    static let notSignedIn = FamilyPageRefusal(
        status: .unauthorized, title: "Please open the link from your worker",
        message: "To see your family's page, open the link your worker gave you and enter the code they told you.",
        endsSession: true)
    static let signedOut = FamilyPageRefusal(
        status: .ok, title: "You have signed out",
        message: "To come back, open the link your worker gave you again and enter your code.")
    static let forgedForm = FamilyPageRefusal(
        status: .forbidden, title: "That did not come from your family's page",
        message: "Nothing was changed. Please go back to your family's page and try again.")
    static let badWords = FamilyPageRefusal(
        status: .badRequest, title: "We could not save that",
        message: "Please write something (up to 4,000 letters) and try again. Nothing was changed.")
    static let noSuchItem = FamilyPageRefusal(
        status: .notFound, title: "That part of the plan has changed",
        message: "The plan may have been updated since you opened the page. Please go back and try again. Nothing was changed.")
    static let noSuchNote = FamilyPageRefusal(
        status: .notFound, title: "That note is no longer on your page",
        message: "It may have been taken off your page since you opened it. Please go back and try again. Nothing was changed.")
    static let tooManyWords = FamilyPageRefusal(
        status: .tooManyRequests, title: "Thank you, that is a lot for one hour",
        message: "You have sent \(FamilyPageRecords.submissionsPerHour) messages or updates in the last hour. Please wait a while before sending more, or talk to your worker.")
    static let tooManyViews = FamilyPageRefusal(
        status: .tooManyRequests, title: "Please wait a moment",
        message: "The page has been opened many times in the last minute. Please wait a minute and open it again.")
    static let unavailable = FamilyPageRefusal(
        status: .serviceUnavailable, title: "Sorry, something went wrong",
        message: "The page cannot be shown just now. If you were sending something, it may not have been saved, so please try again later.")

    static func tooManyAttempts(minutes: Int) -> FamilyPageRefusal {
        FamilyPageRefusal(
            status: .tooManyRequests, title: "Too many tries",
            message: "The code was entered wrongly too many times. Please wait \(minutes) minute\(minutes == 1 ? "" : "s") and try again, or ask your worker to check the code.")
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
        let (title, message) = switch state {
        case nil: ("This link does not open anything", "Please check the link, or ask your administrator for a new one.")
        case "used": ("This link has been used", "Your password was set with it. Sign in with that password, or ask your administrator for a new link.")
        case "replaced": ("A newer link was made", "Please use the newest link your administrator gave you.")
        default: ("This link has run out", "Links to set a password work for 24 hours. Please ask your administrator for a new one.")
        }
        self.init(status: state == nil ? .notFound : .gone, title: title, message: message)
    }

    static let passwordSet = FamilyPageRefusal(
        status: .ok, title: "Your password is set",
        message: "You have been signed out everywhere. Sign in with your new password on each device you use.")

    static func check(invitationState state: String?) throws {
        guard let state else { throw notFound }
        if state != "open" { throw FamilyPageRefusal(invitationState: state) }
    }

    init(status: HTTPResponse.Status, title: String, message: String, endsSession: Bool = false) {
        self.status = status
        self.title = title
        self.message = message
        self.endsSession = endsSession
    }
}
