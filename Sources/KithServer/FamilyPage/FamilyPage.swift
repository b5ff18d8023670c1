import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import KithCore
import Logging
import Mustache
import NIOCore

/// The family's own page, `/family`: server-rendered HTML for a phone browser, no script, no account.
///
/// A family member opens the link their worker handed over (`/family/i/LINK`), enters the code told in person, and
/// gets a page session (an HttpOnly, SameSite=Strict cookie scoped to `/family`, never a bearer token, so nothing under
/// `/v1` accepts it). Every view and every submission is an audit event of the family, as the person; every form
/// carries a token tied to the session (or, for the code, to the link) and is refused from another origin.
struct FamilyPage: Sendable {
    let db: Database
    let base: URL
    let templates: MustacheLibrary
    let stylesheet: String
    let catalogues: PageCatalogues
    let views = ViewLimiter()
    let logger: Logger

    static let cookie = "kith_family"
    /// The language a person chose with the page's switch link, kept for a year.
    static let languageCookie = "kith_language"
    /// A page session lasts 12 hours (the database says so too: `kith_family_session` in `db/functions/`).
    static let sessionLifetime: TimeInterval = 12 * 3600
    static let maxFormBytes = 16_384
    static let maxWords = 4_000

    init(db: Database, config: AppConfig, logger: Logger) throws {
        guard let folder = Bundle.module.url(forResource: "Templates", withExtension: nil) else {
            throw AppConfig.Invalid(problems: ["the family page's templates are missing from this build"])
        }
        var library = MustacheLibrary()
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".mustache") {
            try library.register(
                String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8), named: String(file.dropLast(".mustache".count)))
        }
        self.db = db
        self.base = config.publicBase
        self.templates = library
        self.stylesheet = try String(contentsOf: folder.appendingPathComponent("page.css"), encoding: .utf8)
        self.catalogues = try PageCatalogues(folder: folder)
        self.logger = logger
    }

    func register(on router: Router<KithRequestContext>) {
        router.get("/family/page.css") { _, _ in
            var headers = Self.securityHeaders
            headers[.contentType] = "text/css; charset=utf-8"
            headers[.cacheControl] = "public, max-age=3600"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: stylesheet)))
        }
        router.get("/family/i/:link") { request, context in
            await respond(request) { try await codePage(link: try context.parameters.require("link"), $0) }
        }
        router.post("/family/i/:link") { request, context in
            await respond(request) { try await enterCode(request, link: try context.parameters.require("link"), $0) }
        }
        router.get("/family") { request, _ in
            await respond(request) { _ in try await familyPage(request) }
        }
        router.post("/family/items/:item/progress") { request, context in
            await respond(request) { _ in
                guard let item = UUID(uuidString: try context.parameters.require("item")) else { throw FamilyPageRefusal.noSuchItem }
                return try await submit(request, anchor: "item-\(item.text)") { try await $0.addProgress(to: item, text: $1) }
            }
        }
        router.post("/family/notes/:note/not-right") { request, context in
            await respond(request) { _ in
                guard let note = UUID(uuidString: try context.parameters.require("note")) else { throw FamilyPageRefusal.noSuchNote }
                return try await submit(request, anchor: "note-\(note.text)") { try await $0.sayNotRight(about: note, text: $1) }
            }
        }
        router.post("/family/message") { request, _ in
            await respond(request) { _ in try await submit(request, anchor: "message") { try await $0.sendMessage($1) } }
        }
        router.post("/family/verdict") { request, _ in
            await respond(request) { _ in try await giveVerdict(request) }
        }
        router.post("/family/sign-out") { request, _ in
            await respond(request) { try await signOut(request, $0) }
        }
    }

    // MARK: Pages

    private func codePage(
        link: String, _ words: PageWords, error: String? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let state = try await db.definerLookup(
            InvitationLookup.self, "SELECT state FROM kith_family_invitation(\(InvitationSecret.linkHash(link)))"
        )?.decode(String.self)
        try FamilyPageRefusal.check(invitationState: state)
        return html(status, "code", CodeView(
            title: words("code.title"), action: "/family/i/\(link)", csrf: Self.formToken(key: link, for: "code"), error: error), words)
    }

    private func enterCode(_ request: Request, link: String, _ words: PageWords) async throws -> Response {
        let form = try await Self.form(CodeForm.self, request, base: base)
        guard Self.isFormToken(form.csrf, key: link, for: "code") else { throw FamilyPageRefusal.forgedForm }
        guard let code = InvitationSecret.normalised(form.code) else {
            return try await codePage(link: link, words, error: words("code.six-numbers"), status: .unprocessableContent)
        }
        let linkHash = InvitationSecret.linkHash(link)
        let address = Data(SHA256.hash(data: Data("family-address:\(Principal.clientAddress ?? "unknown")".utf8)))
        let outcome: CodeOutcome = try await db.transaction(organisation: nil) { connection in
            let found = try await connection.query(
                "SELECT organisation_id, invitation_id, family_id, person_id, code_hash, state FROM kith_family_invitation(\(linkHash))",
                logger: logger
            ).decode((UUID, UUID, UUID, UUID, Data, String).self).first { _ in true }
            guard let (organisation, invitation, family, person, codeHash, state) = found else { return .refused(.notFound) }
            if state != "open" { return .refused(FamilyPageRefusal(invitationState: state)) }
            let retryAfter = try await connection.query(
                """
                SELECT kith_family_code_attempt(\(linkHash), \(address), \(InvitationSecret.attemptsPerInvitation)::integer,
                                                \(InvitationSecret.attemptsPerAddress)::integer, \(InvitationSecret.attemptWindow)::integer)
                """, logger: logger
            ).decode(Int.self).first { _ in true } ?? 0
            if retryAfter > 0 { return .refused(.tooManyAttempts(minutes: (retryAfter + 59) / 60, words)) }
            // The failed attempt stays reserved (this transaction commits) unless the code is right.
            guard InvitationSecret.code(code, matches: codeHash, link: link) else { return .wrongCode }
            try await connection.query("SELECT kith_family_code_accepted(\(linkHash))", logger: logger)
            return .accepted(FamilyMember(
                organisationId: organisation, sessionId: UUID(), invitationId: invitation, familyId: family, personId: person))
        }
        switch outcome {
        case .refused(let refusal): throw refusal
        case .wrongCode:
            return try await codePage(link: link, words, error: words("code.no-match"), status: .unprocessableContent)
        case .accepted(let member):
            let token = Tokens.generate()
            let expiresAt = Date().addingTimeInterval(Self.sessionLifetime)
            try await db.transaction(organisation: member.organisationId) { connection in
                try await FamilyPageRecords(connection: connection, member: member, logger: logger)
                    .startSession(tokenHash: Tokens.hash(token), expiresAt: expiresAt)
            }
            return redirect(to: "/family", cookie: sessionCookie(token, maxAge: Int(Self.sessionLifetime)))
        }
    }

    private func familyPage(_ request: Request) async throws -> Response {
        let (member, token) = try await signedIn(request)
        guard await views.allow(member.sessionId) else { throw FamilyPageRefusal.tooManyViews }
        let content = try await db.transaction(organisation: member.organisationId) { connection in
            try await FamilyPageRecords(connection: connection, member: member, logger: logger).page { words(request, recorded: $0) }
        }
        let thanks = request.uri.queryParameters["sent"] != nil
        return html(.ok, "family", PageView(
            content: content, csrf: Self.formToken(key: token, for: "page"), thanks: thanks,
            answered: request.uri.queryParameters["answered"] != nil), content.words)
    }

    /// A family member's words: checked, stored in one transaction with their review item and audit event.
    private func submit(
        _ request: Request, anchor: String, _ store: @Sendable (FamilyPageRecords, String) async throws -> Void
    ) async throws -> Response {
        let (member, token) = try await signedIn(request)
        let form = try await Self.form(WordsForm.self, request, base: base)
        guard Self.isFormToken(form.csrf, key: token, for: "page") else { throw FamilyPageRefusal.forgedForm }
        let text = form.text.trimmingCharacters(in: .whitespacesAndNewlines)
        var check = Validation()
        check.text("text", text, min: 1, max: Self.maxWords)
        guard check.isValid else { throw FamilyPageRefusal.badWords }
        try await db.transaction(organisation: member.organisationId) { connection in
            try await store(FamilyPageRecords(connection: connection, member: member, logger: logger), text)
        }
        return redirect(to: "/family?sent=1#\(anchor)")
    }

    /// The family's verdict on an occasion: answered (named or anonymous, as the person chose) or declined.
    private func giveVerdict(_ request: Request) async throws -> Response {
        let (member, token) = try await signedIn(request)
        let form = try await Self.form(VerdictForm.self, request, base: base)
        guard Self.isFormToken(form.csrf, key: token, for: "page") else { throw FamilyPageRefusal.forgedForm }
        guard let occasion = UUID(uuidString: form.occasion) else { throw FamilyPageRefusal.noSuchQuestion }
        func answer(_ value: String?) throws -> Int? {
            guard let value, !value.isEmpty else { return nil }
            guard let answer = Int(value), FamilyVerdict.scale.contains(answer) else { throw FamilyPageRefusal.forgedForm }
            return answer
        }
        let words = form.words.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.nilIfBlank
        var check = Validation()
        check.text("words", words, max: Self.maxWords)
        guard check.isValid else { throw FamilyPageRefusal.badWords }
        let answers = FamilyVerdict.Answers(
            occasion: occasion, listened: try answer(form.listened), planOwn: try answer(form.planOwn),
            workerTalk: try answer(form.workerTalk), words: words, named: form.named == "yes")
        try await db.transaction(organisation: member.organisationId) { connection in
            try await FamilyPageRecords(connection: connection, member: member, logger: logger)
                .giveVerdict(answers, declined: form.choice == "decline")
        }
        return redirect(to: "/family?answered=1")
    }

    private func signOut(_ request: Request, _ words: PageWords) async throws -> Response {
        let (member, token) = try await signedIn(request)
        let form = try await Self.form(SignOutForm.self, request, base: base)
        guard Self.isFormToken(form.csrf, key: token, for: "page") else { throw FamilyPageRefusal.forgedForm }
        try await db.transaction(organisation: member.organisationId) { connection in
            try await FamilyPageRecords(connection: connection, member: member, logger: logger).endSession()
        }
        var response = html(.ok, "notice", FamilyPageRefusal.signedOut.view(words), words)
        response.headers[.setCookie] = sessionCookie("", maxAge: 0)
        return response
    }

    // MARK: Sessions, forms, responses

    /// The family member behind the request's cookie, while their session, invitation and place in the network stand.
    private func signedIn(_ request: Request) async throws -> (FamilyMember, token: String) {
        guard let token = request.cookies[Self.cookie]?.value, !token.isEmpty, token.count <= 200 else {
            throw FamilyPageRefusal.notSignedIn
        }
        let found = try await db.definerLookup(
            FamilySessionLookup.self,
            """
            SELECT organisation_id, session_id, invitation_id, family_id, person_id, valid
            FROM kith_family_session(\(Tokens.hash(token)))
            """
        )?.decode((UUID, UUID, UUID, UUID, UUID, Bool).self)
        guard let (organisation, session, invitation, family, person, valid) = found else { throw FamilyPageRefusal.notSignedIn }
        guard valid else { throw FamilyPageRefusal.ended }
        return (FamilyMember(organisationId: organisation, sessionId: session, invitationId: invitation, familyId: family, personId: person), token)
    }

    /// A form from this page: from this origin (a browser says where a form came from), within the size limit.
    static func form<Form: Decodable>(_ type: Form.Type, _ request: Request, base: URL) async throws -> Form {
        if let origin = request.headers[.origin] {
            let host = request.head.authority ?? ""
            let allowed = [Self.origin(of: base), "http://\(host)", "https://\(host)"]
            guard allowed.contains(origin) else { throw FamilyPageRefusal.forgedForm }
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxFormBytes)
        } catch {
            throw FamilyPageRefusal.badWords
        }
        do {
            return try URLEncodedFormDecoder().decode(Form.self, from: String(buffer: body))
        } catch {
            throw FamilyPageRefusal.forgedForm
        }
    }

    private static func origin(of url: URL) -> String {
        "\(url.scheme ?? "http")://\(url.host ?? "")" + (url.port.map { ":\($0)" } ?? "")
    }

    /// A form's token: an HMAC of the form's purpose under the session's secret (or the link's, before a session).
    /// Another site cannot read either, so it cannot make a form this page accepts.
    static func formToken(key: String, for purpose: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Self.purpose(purpose), using: SymmetricKey(data: Data(key.utf8)))).base64URL
    }

    /// Checked by swift-crypto, in constant time.
    static func isFormToken(_ given: String, key: String, for purpose: String) -> Bool {
        guard let mac = Data(base64URL: Substring(given)) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Self.purpose(purpose), using: SymmetricKey(data: Data(key.utf8)))
    }

    private static func purpose(_ purpose: String) -> Data { Data("kith family \(purpose) form".utf8) }

    private func sessionCookie(_ token: String, maxAge: Int) -> String {
        "\(Self.cookie)=\(token); Path=/family; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (base.scheme == "https" ? "; Secure" : "")
    }

    static let securityHeaders: HTTPFields = [
        HTTPField.Name("Content-Security-Policy")!:
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        // Not `no-referrer`: with it a browser sends `Origin: null` on the page's own forms, which the origin check refuses.
        // Nothing on the page links elsewhere, so the link's secret never leaves the site either way.
        HTTPField.Name("Referrer-Policy")!: "same-origin",
        HTTPField.Name("X-Frame-Options")!: "DENY",
        .cacheControl: "no-store",
    ]

    /// A page: the view's own values with the words of `words` beside them (`{{#t}}key{{/t}}`, `lang`, the switch).
    func html(_ status: HTTPResponse.Status, _ template: String, _ view: Any, _ words: PageWords) -> Response {
        var headers = Self.securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        var values = words.view
        for child in Mirror(reflecting: view).children { if let label = child.label { values[label] = child.value } }
        let page = templates.render(values, withTemplate: template) ?? ""
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    /// The words of the workers' own pages served beside the family's (a password reset, a device's sign-in), which are
    /// written in English.
    var workersWords: PageWords { catalogues.words(.en) }

    /// The language a request chose with the page's switch link (`?lang=`), or earlier (its cookie).
    private func chosenLanguage(_ request: Request) -> PageLanguage? {
        request.uri.queryParameters["lang"].flatMap { PageLanguage(rawValue: String($0)) }
            ?? request.cookies[Self.languageCookie].flatMap { PageLanguage(rawValue: $0.value) }
    }

    /// The words a page is written in: the language the person chose here, else the one their worker recorded for
    /// them, else their browser's, else English.
    func words(_ request: Request, recorded: String? = nil) -> PageWords {
        catalogues.words(
            chosenLanguage(request) ?? PageLanguage(recorded: recorded)
                ?? PageLanguage(acceptLanguage: request.headers[.acceptLanguage]) ?? .en)
    }

    private func redirect(to location: String, cookie: String? = nil) -> Response {
        var headers = Self.securityHeaders
        headers[.location] = location
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: .seeOther, headers: headers)
    }

    /// Every answer of the page is a page: a refusal is a polite notice, anything unexpected a plain apology, each in
    /// the request's language; a language chosen with the switch link is kept in a cookie.
    func respond(_ request: Request, _ body: (PageWords) async throws -> Response) async -> Response {
        let words = words(request)
        var response: Response
        do {
            response = try await body(words)
        } catch let refusal as FamilyPageRefusal {
            response = html(refusal.status, "notice", refusal.view(words), words)
            if refusal.endsSession { response.headers.append(HTTPField(name: .setCookie, value: sessionCookie("", maxAge: 0))) }
        } catch {
            // Logged there by kind (an SQL state, say), never with what the person wrote.
            let problem = KithError.classifying(error, logger: logger)
            response = html(
                problem.status.code >= 500 ? problem.status : .badRequest, "notice", FamilyPageRefusal.unavailable.view(words), words)
        }
        if let chosen = request.uri.queryParameters["lang"].flatMap({ PageLanguage(rawValue: String($0)) }) {
            response.headers.append(HTTPField(
                name: .setCookie,
                value: "\(Self.languageCookie)=\(chosen.rawValue); Path=/family; Max-Age=31536000; HttpOnly; SameSite=Lax"
                    + (base.scheme == "https" ? "; Secure" : "")))
        }
        return response
    }

    private enum CodeOutcome: Sendable {
        case accepted(FamilyMember), wrongCode, refused(FamilyPageRefusal)
    }

    private struct CodeForm: Decodable { let code: String; let csrf: String }
    private struct WordsForm: Decodable { let text: String; let csrf: String }
    private struct SignOutForm: Decodable { let csrf: String }
    private struct VerdictForm: Decodable {
        let csrf: String
        let occasion: String
        let listened: String?
        let planOwn: String?
        let workerTalk: String?
        let words: String?
        let named: String?
        let choice: String?
    }

    struct CodeView { let title: String; let action: String; let csrf: String; let error: String? }
    struct PageView {
        let title: String
        let content: FamilyPageContent
        let csrf: String
        let thanks: Bool
        let answered: Bool
        let hasMessages: Bool

        init(content: FamilyPageContent, csrf: String, thanks: Bool, answered: Bool) {
            title = content.words("family.title")
            self.content = content
            self.csrf = csrf
            self.thanks = thanks
            self.answered = answered
            hasMessages = !content.messages.isEmpty
        }
    }
}

/// Page views per session per minute: the page writes an audit event for each, so a stuck reload cannot fill the trail.
actor ViewLimiter {
    static let perMinute = 60
    private var windows: [UUID: (start: ContinuousClock.Instant, count: Int)] = [:]

    func allow(_ session: UUID, now: ContinuousClock.Instant = .now) -> Bool {
        if windows.count > 10_000 { windows = windows.filter { now - $0.value.start < .seconds(60) } }
        var window = windows[session].flatMap { now - $0.start < .seconds(60) ? $0 : nil } ?? (start: now, count: 0)
        window.count += 1
        windows[session] = window
        return window.count <= Self.perMinute
    }
}

/// The lookups the family's page makes before the organisation is known.
enum InvitationLookup: HotStatement {}
enum FamilySessionLookup: HotStatement {}
