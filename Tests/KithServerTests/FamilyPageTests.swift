import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import KithClient
import PostgresNIO
import Testing
@testable import KithServer

/// The family's page over HTTP as a browser uses it (forms, a cookie, redirects), against the real application and
/// database. `FamilyPageBrowserTests` drives the same page in headless Chromium.
@Suite struct FamilyPageTests {
    /// A family of Priya's with a grandmother, a plan item that is hers, and a note of each audience.
    struct Story {
        let familyId: String
        let conferenceId: String
        let margaretId: String
        let planItemId: String
        let invitation: [String: Any]
        var url: String { invitation["url"] as! String }
        var path: String { String(url.drop { $0 != "/" }.dropFirst(2).drop { $0 != "/" }) }
        var code: String { invitation["code"] as! String }
    }

    static func story(_ kith: Kith) async throws -> Story {
        try await story(priya: kith.fixture.id(.priya)) { path, body in try await kith.json(.post, path, as: .priya, body) }
    }

    /// The story written by Priya through `post` (a path and a JSON body, answered 201 with a JSON object).
    static func story(priya: UUID, post: (String, [String: Any]) async throws -> [String: Any]) async throws -> Story {
        let family = try await post("/v1/families", ["displayName": "The Whitfield family"])
        let familyId = family["id"] as! String
        let margaret = try await post(
            "/v1/families/\(familyId)/people",
            ["name": "Margaret Whitfield", "relationshipToChild": "nan", "contact": ["phone": "07700 900123", "address": "1 Secret Lane"]])
        for (audience, body) in [("family", "Amy showed me her reading book."), ("professional", "Professional judgment words."),
                                 ("restricted", "Restricted words.")] {
            _ = try await post("/v1/families/\(familyId)/notes", ["body": body, "audience": audience])
        }
        let referral: [String: Any] = ["referrerId": priya.text, "reason": "School attendance", "familyAgreed": true, "bottomLines": []]
        let conference = try await post("/v1/families/\(familyId)/conferences", ["referral": referral])
        let plan = try await post(
            "/v1/conferences/\(conference["id"] as! String)/plans",
            ["items": [["who": margaret["id"] as! String, "what": "Pick Amy up from school on weekdays"]], "agreedByReferrer": true,
             "contingency": "Jade calls the school office."])
        let invitation = try await post("/v1/people/\(margaret["id"] as! String)/invitations", [:])
        return Story(
            familyId: familyId, conferenceId: conference["id"] as! String, margaretId: margaret["id"] as! String,
            planItemId: (plan["items"] as! [[String: Any]])[0]["id"] as! String, invitation: invitation)
    }

    @Test func theCodeOpensThePageWhichShowsWhatWasWrittenForTheFamilyAndNothingElse() async throws {
        try await Kith.run { kith in
            let story = try await Self.story(kith)
            #expect((story.invitation["code"] as! String).count == 6)
            #expect(story.url.hasPrefix("http://127.0.0.1:8080/family/i/"))
            var browser = Browser(kith: kith)

            let codePage = try await browser.get(story.path)
            #expect(codePage.status == .ok)
            #expect(codePage.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("default-src 'none'") == true)
            #expect(codePage.headers[.cacheControl] == "no-store")
            let wrong = try await browser.post(story.path, ["code": story.code == "000000" ? "111111" : "000000", "csrf": Browser.csrf(codePage)])
            #expect(wrong.status == .unprocessableContent)
            #expect(String(buffer: wrong.body).contains("did not match"))
            #expect(wrong.headers[.setCookie] == nil)

            // People write the code with a space, as the worker says it.
            let right = try await browser.post(story.path, ["code": "\(story.code.prefix(3)) \(story.code.dropFirst(3))", "csrf": Browser.csrf(codePage)])
            #expect(right.status == .seeOther)
            #expect(right.headers[.location] == "/family")
            let cookie = right.headers[.setCookie] ?? ""
            for attribute in ["HttpOnly", "SameSite=Strict", "Path=/family", "Max-Age="] { #expect(cookie.contains(attribute)) }
            #expect(!cookie.contains("Secure"), "served over plain http here")
            browser.cookie = String(cookie.prefix { $0 != ";" })

            let page = try await browser.get("/family")
            #expect(page.status == .ok)
            let html = String(buffer: page.body)
            for shown in ["Hello Margaret", "Amy showed me her reading book.", "Pick Amy up from school on weekdays", "Priya",
                          "your social worker", "Jade calls the school office."] {
                #expect(html.contains(shown), "the page shows \(shown)")
            }
            for hidden in ["Professional judgment words.", "Restricted words.", "07700 900123", "1 Secret Lane", "continuity"] {
                #expect(!html.contains(hidden), "the page never shows \(hidden)")
            }

            // The view is the family's audit event, as Margaret; the family's "who viewed" names her.
            let audit = try await kith.json(.get, "/v1/families/\(story.familyId)/audit", as: .priya)
            let events = audit["items"] as! [[String: Any]]
            #expect(events.contains { $0["entity"] as? String == "familyPage" && $0["personId"] as? String == story.margaretId
                && $0["personName"] as? String == "Margaret Whitfield" && $0["workerId"] == nil })
            #expect(try await kith.count(
                "SELECT count(*) FROM family_invitations WHERE opened_at IS NOT NULL AND person_id = '\(story.margaretId)'") == 1)
        }
    }

    @Test func oneFamilysPageShowsNothingOfAnotherFamilyAndTakesNoWordsForIt() async throws {
        try await Kith.run { kith in
            let whitfields = try await Self.story(kith)
            // Another family of the same worker, with notes for the family, a plan, people and words of its own.
            let family = try await kith.json(.post, "/v1/families", as: .priya, ["displayName": "The Okoro family"], expect: .created)
            let okoros = family["id"] as! String
            let ngozi = try await kith.json(
                .post, "/v1/families/\(okoros)/people", as: .priya,
                ["name": "Ngozi Okoro", "relationshipToChild": "mum", "contact": ["phone": "07700 900777"]], expect: .created)
            _ = try await kith.json(
                .post, "/v1/families/\(okoros)/notes", as: .priya, ["body": "Chidi read his story to me.", "audience": "family"],
                expect: .created)
            let referral: [String: Any] = ["referrerId": kith.fixture.id(.priya).text, "reason": "Chidi's school", "familyAgreed": true, "bottomLines": []]
            let conference = try await kith.json(.post, "/v1/families/\(okoros)/conferences", as: .priya, ["referral": referral], expect: .created)
            let plan = try await kith.json(
                .post, "/v1/conferences/\(conference["id"] as! String)/plans", as: .priya,
                ["items": [["who": ngozi["id"] as! String, "what": "Ngozi walks Chidi to school"]], "agreedByReferrer": true], expect: .created)
            let invitation = try await kith.json(.post, "/v1/people/\(ngozi["id"] as! String)/invitations", as: .priya, [:], expect: .created)
            let okoroStory = Story(
                familyId: okoros, conferenceId: conference["id"] as! String, margaretId: ngozi["id"] as! String,
                planItemId: (plan["items"] as! [[String: Any]])[0]["id"] as! String, invitation: invitation)

            var okoroPage = Browser(kith: kith)
            try await okoroPage.signIn(okoroStory)
            let okoroForm = Browser.csrf(try await okoroPage.get("/family"))
            #expect(try await okoroPage.post("/family/message", ["text": "Chidi liked the visit", "csrf": okoroForm]).status == .seeOther)
            var whitfieldPage = Browser(kith: kith)
            try await whitfieldPage.signIn(whitfields)
            let whitfieldForm = Browser.csrf(try await whitfieldPage.get("/family"))
            #expect(try await whitfieldPage.post("/family/message", ["text": "Amy liked the visit", "csrf": whitfieldForm]).status == .seeOther)

            // Each page shows its own family's words and nothing of the other's: names, notes, plan, contacts, words.
            let whitfieldView = String(buffer: try await whitfieldPage.get("/family").body)
            let okoroView = String(buffer: try await okoroPage.get("/family").body)
            #expect(whitfieldView.contains("Amy showed me her reading book.") && whitfieldView.contains("Amy liked the visit"))
            #expect(okoroView.contains("Chidi read his story to me.") && okoroView.contains("Chidi liked the visit"))
            for okoroWords in ["Okoro", "Ngozi", "Chidi", "07700 900777", okoros, okoroStory.planItemId] {
                #expect(!whitfieldView.contains(okoroWords), "the Whitfields' page shows \(okoroWords)")
            }
            for whitfieldWords in ["Whitfield", "Margaret", "Amy", "Secret Lane", "07700 900123", whitfields.familyId, whitfields.planItemId] {
                #expect(!okoroView.contains(whitfieldWords), "the Okoros' page shows \(whitfieldWords)")
            }

            // Words for the other family's plan, from a page that is not theirs, are refused and written nowhere.
            let crossed = try await whitfieldPage.post(
                "/family/items/\(okoroStory.planItemId)/progress", ["text": "Written into the other family's plan", "csrf": whitfieldForm])
            #expect(crossed.status == .notFound)
            #expect(try await kith.count("SELECT count(*) FROM plan_item_updates WHERE text = 'Written into the other family''s plan'") == 0)
        }
    }

    @Test func theFamilysWordsAreTheirOwnAndReachTheirWorker() async throws {
        try await Kith.run { kith in
            let story = try await Self.story(kith)
            var browser = Browser(kith: kith)
            try await browser.signIn(story)
            let page = try await browser.get("/family")
            let csrf = Browser.csrf(page)

            let progress = try await browser.post(
                "/family/items/\(story.planItemId)/progress", ["text": "I picked Amy up from school every day this week", "csrf": csrf])
            #expect(progress.status == .seeOther)
            #expect(progress.headers[.location] == "/family?sent=1#item-\(story.planItemId)")
            let message = try await browser.post("/family/message", ["text": "Can we move Thursday's visit?", "csrf": csrf])
            #expect(message.status == .seeOther)

            let after = String(buffer: try await browser.get("/family?sent=1").body)
            #expect(after.contains("Thank you. Your words have been saved"))
            #expect(after.contains("I picked Amy up from school every day this week"))
            #expect(after.contains("Can we move Thursday&#39;s visit?"))

            // In the record, attributed to Margaret and not to a worker: the plan, the timeline, the sync feed.
            let plans = try await kith.json(.get, "/v1/conferences/\(story.conferenceId)/plans", as: .priya)
            let update = (((plans["items"] as! [[String: Any]])[0]["items"] as! [[String: Any]])[0]["updates"] as! [[String: Any]])[0]
            #expect(update["personId"] as? String == story.margaretId)
            #expect(update["authorId"] == nil)
            let timeline = try await kith.json(.get, "/v1/families/\(story.familyId)/timeline", as: .priya)
            let entries = timeline["items"] as! [[String: Any]]
            #expect(entries.contains { $0["kind"] as? String == "familyMessage" && $0["personId"] as? String == story.margaretId
                && $0["detail"] as? String == "Can we move Thursday's visit?" })
            #expect(entries.contains { $0["kind"] as? String == "planItemUpdate" && $0["personId"] as? String == story.margaretId })
            let device = try await FieldDevice.register(kith, as: .priya)
            let pulled = try await device.pullAll(from: nil)
            #expect(pulled.pages.flatMap(\.changes).contains { $0.entity == .familyMessage && $0.familyId == story.familyId })

            // Both reach Priya's review queue (her worker), with the words; Tom, of the same team, gets neither.
            let queue = try await kith.json(.get, "/v1/review-items", as: .priya)
            let words = (queue["items"] as! [[String: Any]]).filter { $0["kind"] as? String == "familyWords" }
            #expect(words.count == 2)
            #expect(words.contains { ($0["payload"] as? [String: Any])?["text"] as? String == "Can we move Thursday's visit?" })
            let toms = try await kith.json(.get, "/v1/review-items", as: .tom)
            #expect((toms["items"] as! [[String: Any]]).isEmpty)
            let read = try await kith.request(
                .post, "/v1/review-items/\(words[0]["id"] as! String)/resolve", as: .priya, raw: #"{"action": "accept"}"#)
            #expect(read.status == .ok)

            // A subject access request carries them too.
            let export = try await kith.json(.get, "/v1/families/\(story.familyId)/export", as: .priya)
            #expect((export["familyMessages"] as? [[String: Any]])?.map { $0["text"] as? String } == ["Can we move Thursday's visit?"])

            // Each submission is the family's audit event, as Margaret.
            #expect(try await kith.count(
                """
                SELECT count(*) FROM audit_events WHERE person_id = '\(story.margaretId)' AND action = 'write'
                  AND entity IN ('planItemUpdate', 'familyMessage')
                """) == 2)
        }
    }

    @Test func whenTheirWorkerChangesTheFamilyReadsTheLetterTheOutgoingWorkerWrote() async throws {
        try await Kith.run { kith in
            let story = try await Self.story(kith)
            var browser = Browser(kith: kith)
            try await browser.signIn(story)
            let allocations = try await kith.json(.get, "/v1/families/\(story.familyId)/allocations", as: .priya)
            let priyas = (allocations["items"] as! [[String: Any]])[0]["id"] as! String
            let letter = "Dear Margaret and Jade, I am moving to another team. Tom will visit next week; it was a joy to work with you."
            let ended = try await kith.json(
                .post, "/v1/allocations/\(priyas)/end", as: .sam,
                ["endedOn": CalendarDayText.today, "reason": "moved team", "handoverNote": "For Tom: Margaret does the school runs.",
                 "letterToFamily": letter], expect: .ok)
            #expect(ended["letterToFamily"] as? String == letter)
            _ = try await kith.json(
                .post, "/v1/families/\(story.familyId)/allocations", as: .sam,
                ["workerId": kith.fixture.id(.tom).text, "role": "allocatedWorker", "startedOn": CalendarDayText.today])
            let html = String(buffer: try await browser.get("/family").body)
            #expect(html.contains("<strong>Tom</strong>, your social worker"))
            #expect(html.contains("A letter from Priya"))
            #expect(html.contains("I am moving to another team."))
            #expect(!html.contains("For Tom: Margaret does the school runs."), "the handover note is for the incoming worker")
            let tooLong = try await kith.request(
                .post, "/v1/allocations/\(priyas)/end", as: .sam,
                json: ["endedOn": CalendarDayText.today, "reason": "x", "letterToFamily": String(repeating: "a", count: 8001)])
            #expect(tooLong.status == .badRequest)
        }
    }

    @Test func anAmendedNoteShowsAsAmendedAndAClosedFamilysPageCloses() async throws {
        try await Kith.run { kith in
            let story = try await Self.story(kith)
            var browser = Browser(kith: kith)
            try await browser.signIn(story)
            let notes = try await kith.json(.get, "/v1/families/\(story.familyId)/timeline", as: .priya)
            let noteId = (notes["items"] as! [[String: Any]]).first { $0["kind"] as? String == "note" && $0["summary"] as? String == "family" }!["id"] as! String
            let note = try await kith.json(.get, "/v1/notes/\(noteId)", as: .priya)
            _ = try await kith.json(
                .post, "/v1/notes/\(noteId)/amendments", as: .priya,
                ["supersedes": (note["current"] as! [String: Any])["id"] as! String, "body": "Amy showed me her new reading book.",
                 "reason": "it was her new book"])
            let html = String(buffer: try await browser.get("/family").body)
            #expect(html.contains("Amy showed me her new reading book."))
            #expect(!html.contains("Amy showed me her reading book."), "the page shows the note as it stands now")
            #expect(html.contains("Changed on "))
            #expect(html.contains(": it was her new book (first written on "))

            _ = try await kith.json(
                .patch, "/v1/families/\(story.familyId)", as: .priya, ["status": "closed", "closedOn": CalendarDayText.today], expect: .ok)
            #expect(try await browser.get("/family").status == .gone)
        }
    }

    /// A page session lasts 12 hours and an opened invitation 180 days, whatever a cookie or a row says; and nothing
    /// old opens the page again when a person rejoins the network or a closed family is reopened (a new invitation is
    /// needed), whichever path changed them.
    @Test func nothingOldOpensThePageAgain() async throws {
        try await Kith.run { kith in
            let story = try await Self.story(kith)
            let logger = TestDatabase.logger
            var browser = Browser(kith: kith)
            try await browser.signIn(story)
            #expect(try await browser.get("/family").status == .ok)
            try await kith.db.query("UPDATE family_sessions SET created_at = now() - interval '13 hours'", logger: logger)
            let lapsed = try await browser.get("/family")
            #expect(lapsed.status != .ok && !String(buffer: lapsed.body).contains("Amy showed me"))

            // Opened again within 180 days of its opening, the link works; past them, it and its sessions do not.
            try await browser.signIn(story)
            #expect(try await browser.get("/family").status == .ok)
            try await kith.db.query("UPDATE family_invitations SET opened_at = now() - interval '181 days'", logger: logger)
            #expect(try await browser.get("/family").status != .ok)
            #expect(try await Browser(kith: kith).get(story.path).status == .gone)

            // Margaret leaves the network and rejoins: the invitation she had before stays ended.
            func invite() async throws -> Story {
                let invitation = try await kith.json(.post, "/v1/people/\(story.margaretId)/invitations", as: .priya, [:])
                return Story(
                    familyId: story.familyId, conferenceId: story.conferenceId, margaretId: story.margaretId,
                    planItemId: story.planItemId, invitation: invitation)
            }
            let beforeLeaving = try await invite()
            let margaret = UUID(uuidString: story.margaretId)!
            try await kith.db.query("UPDATE people SET left_network_on = current_date - 1 WHERE id = \(margaret)", logger: logger)
            try await kith.db.query("UPDATE people SET left_network_on = NULL WHERE id = \(margaret)", logger: logger)
            #expect(try await Browser(kith: kith).get(beforeLeaving.path).status == .gone)

            // The family is closed and reopened: the same.
            let beforeClosing = try await invite()
            var reader = Browser(kith: kith)
            try await reader.signIn(beforeClosing)
            let family = UUID(uuidString: story.familyId)!
            try await kith.db.query("UPDATE families SET status = 'closed' WHERE id = \(family)", logger: logger)
            try await kith.db.query("UPDATE families SET status = 'open' WHERE id = \(family)", logger: logger)
            #expect(try await reader.get("/family").status != .ok)
            #expect(try await Browser(kith: kith).get(beforeClosing.path).status == .gone)
            // A new invitation opens it.
            var invited = Browser(kith: kith)
            try await invited.signIn(try await invite())
            #expect(try await invited.get("/family").status == .ok)
        }
    }

    @Test func aPersonsWordsAndViewsHaveAnHourlyAndAMinutelyLimit() async throws {
        try await Kith.run { kith in
            let story = try await Self.story(kith)
            var browser = Browser(kith: kith)
            try await browser.signIn(story)
            let csrf = Browser.csrf(try await browser.get("/family"))
            for number in 1...FamilyPageRecords.submissionsPerHour {
                #expect(try await browser.post("/family/message", ["text": "Message \(number)", "csrf": csrf]).status == .seeOther)
            }
            let more = try await browser.post("/family/message", ["text": "One too many", "csrf": csrf])
            #expect(more.status == .tooManyRequests)
            #expect(try await kith.count("SELECT count(*) FROM family_messages WHERE text = 'One too many'") == 0)
            // Every view writes an audit event, so a page reloaded without end is stopped (within two minutes' worth of
            // views, however slowly this machine makes them; the minute itself is ViewLimiter's test).
            var statuses: [HTTPResponse.Status] = []
            while statuses.count <= 2 * ViewLimiter.perMinute, statuses.last != .tooManyRequests {
                statuses.append(try await browser.get("/family").status)
            }
            #expect(statuses.last == .tooManyRequests)
        }
    }

    @Test func wordsFromTheFamilysPageReachTheDeviceAndItsTimelineAsTheFamilysOwn() async throws {
        try await Kith.run { kith in
            let story = try await Self.story(kith)
            var browser = Browser(kith: kith)
            try await browser.signIn(story)
            let csrf = Browser.csrf(try await browser.get("/family"))
            _ = try await browser.post("/family/items/\(story.planItemId)/progress", ["text": "Every day this week", "csrf": csrf])
            _ = try await browser.post("/family/message", ["text": "Can we move Thursday?", "csrf": csrf])
            let priya = try ClientDevice(kith, device: try await FieldDevice.register(kith, as: .priya), store: try LocalStore(), as: .priya)
            try await priya.sync { try priya.caseload.timeline(of: story.familyId).contains { $0.kind == "familyMessage" } }
            let timeline = try priya.caseload.timeline(of: story.familyId)
            #expect(timeline.contains { $0.kind == "familyMessage" && $0.summary == "Message: \"Can we move Thursday?\""
                && $0.by == "Margaret Whitfield (family page)" })
            #expect(timeline.contains { $0.kind == "planItemUpdate" && $0.summary.hasSuffix("\"Every day this week\"")
                && $0.by == "Margaret Whitfield (family page)" })
            #expect(try priya.store.reviewItems().filter { $0.kind == .familyWords }.count == 2)
        }
    }

    @Test func aFormThatDidNotComeFromThePageChangesNothing() async throws {
        try await Kith.run { kith in
            let story = try await Self.story(kith)
            var browser = Browser(kith: kith)
            try await browser.signIn(story)
            let csrf = Browser.csrf(try await browser.get("/family"))
            let before = try await kith.fingerprint()
            let attempts: [(String, [String: String], String?, HTTPResponse.Status)] = [
                ("/family/message", ["text": "forged"], nil, .forbidden),
                ("/family/message", ["text": "forged", "csrf": String(repeating: "0", count: 64)], nil, .forbidden),
                ("/family/message", ["text": "from elsewhere", "csrf": csrf], "https://evil.example", .forbidden),
                ("/family/message", ["text": "   ", "csrf": csrf], nil, .badRequest),
                ("/family/message", ["text": String(repeating: "a", count: 4001), "csrf": csrf], nil, .badRequest),
                ("/family/message", ["text": "a\u{0}b", "csrf": csrf], nil, .badRequest),
                ("/family/items/\(UUID().uuidString)/progress", ["text": "not our plan", "csrf": csrf], nil, .notFound),
                ("/family/items/not-an-id/progress", ["text": "x", "csrf": csrf], nil, .notFound),
            ]
            for (path, form, origin, status) in attempts {
                let response = try await browser.post(path, form, origin: origin)
                #expect(response.status == status, "\(path) \(form)")
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
            }
            let tooLarge = try await browser.post("/family/message", ["text": String(repeating: "a", count: 20_000), "csrf": csrf])
            #expect(tooLarge.status == .badRequest)
            // Only the views were audited (reading is not changing): nothing else moved.
            var after = try await kith.fingerprint()
            var earlier = before
            after["audit_events"] = nil
            earlier["audit_events"] = nil
            #expect(after == earlier)
            #expect(try await kith.count("SELECT count(*) FROM audit_events WHERE person_id IS NOT NULL AND action = 'write' AND entity <> 'familySession'") == 0)
        }
    }

    @Test func withdrawnLapsedAndEndedInvitationsGetAPolitePage() async throws {
        try await Kith.run { kith in
            let story = try await Self.story(kith)
            var browser = Browser(kith: kith)
            try await browser.signIn(story)

            // Withdrawn: the link answers so, and the open page closes at once (its cookie cleared).
            let revoked = try await kith.json(.post, "/v1/invitations/\(story.invitation["id"] as! String)/revoke", as: .priya, [:], expect: .ok)
            #expect(revoked["status"] as? String == "revoked")
            let link = try await browser.get(story.path)
            #expect(link.status == .gone)
            #expect(String(buffer: link.body).contains("This invitation has been withdrawn"))
            let page = try await browser.get("/family")
            #expect(page.status == .gone)
            #expect(String(buffer: page.body).contains("no longer open to you"))
            #expect(page.headers[.setCookie]?.contains("Max-Age=0") == true)
            let codeAfterRevoke = try await browser.post(story.path, ["code": story.code, "csrf": FamilyPage.formToken(key: String(story.path.split(separator: "/").last!), for: "code")])
            #expect(codeAfterRevoke.status == .gone)

            // Lapsed: not opened within 14 days.
            let second = try await kith.json(.post, "/v1/people/\(story.margaretId)/invitations", as: .priya, [:])
            try await kith.db.query(
                "UPDATE family_invitations SET expires_at = now() - interval '1 minute' WHERE id = \(UUID(uuidString: second["id"] as! String)!)",
                logger: TestDatabase.logger)
            let lapsed = try await browser.get(Story(
                familyId: story.familyId, conferenceId: story.conferenceId, margaretId: story.margaretId, planItemId: story.planItemId,
                invitation: second).path)
            #expect(lapsed.status == .gone)
            #expect(String(buffer: lapsed.body).contains("run out"))

            // Ended: Margaret leaves the family's network; her open page closes that day.
            let third = try await kith.json(.post, "/v1/people/\(story.margaretId)/invitations", as: .priya, [:])
            let thirdStory = Story(
                familyId: story.familyId, conferenceId: story.conferenceId, margaretId: story.margaretId, planItemId: story.planItemId,
                invitation: third)
            var again = Browser(kith: kith)
            try await again.signIn(thirdStory)
            #expect(try await again.get("/family").status == .ok)
            let person = try await kith.json(.get, "/v1/families/\(story.familyId)/people", as: .priya)
            let margaret = (person["items"] as! [[String: Any]]).first { $0["id"] as? String == story.margaretId }!
            let version = (margaret["fieldVersions"] as! [String: Int])["leftNetworkOn"]!
            _ = try await kith.json(
                .patch, "/v1/people/\(story.margaretId)", as: .priya,
                ["fields": ["leftNetworkOn": ["value": CalendarDayText.today, "baseVersion": version]]], expect: .ok)
            #expect(try await again.get("/family").status == .gone)
            #expect(try await again.get(thirdStory.path).status == .gone)
            let invitations = try await kith.json(.get, "/v1/families/\(story.familyId)/invitations", as: .priya)
            #expect(Set((invitations["items"] as! [[String: Any]]).map { $0["status"] as! String }) == ["revoked", "ended"])
            let refused = try await kith.request(.post, "/v1/people/\(story.margaretId)/invitations", as: .priya)
            #expect(refused.status == .unprocessableContent)

            // No cookie at all: how to get in, politely.
            let stranger = try await Browser(kith: kith).get("/family")
            #expect(stranger.status == .unauthorized)
            #expect(String(buffer: stranger.body).contains("open the link your worker gave you"))
            #expect(try await Browser(kith: kith).get("/family/i/kith_no-such-link").status == .notFound)
        }
    }

    @Test func wrongCodesAreThrottledPerInvitation() async throws {
        try await Kith.run { kith in
            let story = try await Self.story(kith)
            let browser = Browser(kith: kith)
            let csrf = Browser.csrf(try await browser.get(story.path))
            let wrong = story.code == "000000" ? "111111" : "000000"
            for _ in 0..<InvitationSecret.attemptsPerInvitation {
                #expect(try await browser.post(story.path, ["code": wrong, "csrf": csrf]).status == .unprocessableContent)
            }
            // Now even the right code waits: the invitation is locked for a while.
            let locked = try await browser.post(story.path, ["code": story.code, "csrf": csrf])
            #expect(locked.status == .tooManyRequests)
            #expect(String(buffer: locked.body).contains("Too many tries"))
            #expect(locked.headers[.setCookie] == nil)
        }
    }

    @Test func aPageSessionReachesNothingUnderV1() async throws {
        try await Kith.run { kith in
            let story = try await Self.story(kith)
            var browser = Browser(kith: kith)
            try await browser.signIn(story)
            let token = String(browser.cookie!.split(separator: "=", maxSplits: 1)[1])
            for path in ["/v1/me", "/v1/families/\(story.familyId)", "/v1/families/\(story.familyId)/timeline"] {
                #expect(try await kith.client.execute(uri: path, method: .get, headers: [.cookie: browser.cookie!]).status == .unauthorized)
                #expect(try await kith.request(.get, path, token: token, body: nil).status == .unauthorized)
            }
        }
    }

    @Test func linksAreMadeFromThePublicAddressAndItsCookieIsSecureOverHTTPS() async throws {
        #expect(throws: AppConfig.Invalid.self) {
            try AppConfig.fromEnvironment(["DATABASE_URL": "postgres://kith@db/kith", "KITH_PUBLIC_URL": "kith.example.org"])
        }
        let config = try AppConfig.fromEnvironment(["DATABASE_URL": "postgres://kith@db/kith", "KITH_PUBLIC_URL": "https://kith.example.org/"])
        #expect(config.publicBase.absoluteString == "https://kith.example.org")
        try await Kith.run({ $0.publicURL = config.publicURL }) { kith in
            let story = try await Self.story(kith)
            #expect(story.url.hasPrefix("https://kith.example.org/family/i/kith_"))
            var browser = Browser(kith: kith)
            try await browser.signIn(story)
            let page = try await browser.get(story.path)
            let cookie = try await browser.post(story.path, ["code": story.code, "csrf": Browser.csrf(page)]).headers[.setCookie]
            #expect(cookie?.hasSuffix("; Secure") == true)
        }
    }

    @Test func onlyTheAllocatedWorkerOrTheTeamsSupervisorsInvite() async throws {
        try await Kith.run { kith in
            let story = try await Self.story(kith)
            let path = "/v1/people/\(story.margaretId)/invitations"
            #expect(try await kith.request(.post, path, as: .sam).status == .created)
            _ = try await kith.json(
                .post, "/v1/families/\(story.familyId)/allocations", as: .sam,
                ["workerId": kith.fixture.id(.tom).text, "role": "familySupport", "startedOn": CalendarDayText.today])
            let coworker = try await kith.request(.post, path, as: .tom)
            #expect(coworker.status == .forbidden)
            for outsider in [Fixture.Who.omar, .ruth, .alex, .zed] {
                #expect(try await kith.request(.post, path, as: outsider).status == .notFound, "\(outsider)")
            }
            // The list never carries a link or a code.
            let list = try await kith.request(.get, "/v1/families/\(story.familyId)/invitations", as: .tom)
            #expect(list.status == .ok)
            #expect(!String(buffer: list.body).contains(story.code))
            #expect(!String(buffer: list.body).contains("/family/i/"))
        }
    }
}

/// A browser's part in these tests: a cookie kept between requests, forms posted as browsers post them.
struct Browser {
    let kith: Kith
    var cookie: String?

    func get(_ path: String) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let cookie { headers[.cookie] = cookie }
        return try await kith.client.execute(uri: path, method: .get, headers: headers)
    }

    func post(_ path: String, _ form: [String: String], origin: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let cookie { headers[.cookie] = cookie }
        if let origin { headers[.origin] = origin }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let body = form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
        return try await kith.client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    /// Opens the invitation with its code and keeps the page's cookie.
    mutating func signIn(_ story: FamilyPageTests.Story) async throws {
        let page = try await get(story.path)
        let response = try await post(story.path, ["code": story.code, "csrf": Self.csrf(page)])
        #expect(response.status == .seeOther)
        cookie = response.headers[.setCookie].map { String($0.prefix { $0 != ";" }) }
    }

    /// The form token of the first form on a page.
    static func csrf(_ response: TestResponse) -> String {
        let html = String(buffer: response.body)
        guard let start = html.range(of: #"name="csrf" value=""#) else { return "" }
        return String(html[start.upperBound...].prefix { $0 != "\"" })
    }
}

extension Kith {
    func json(
        _ method: HTTPRequest.Method, _ path: String, as who: Fixture.Who, _ body: [String: Any]? = nil, expect status: HTTPResponse.Status
    ) async throws -> [String: Any] {
        let response = try await request(
            method, path, token: fixture.tokens[who]!, body: try body.map { try JSONSerialization.data(withJSONObject: $0) })
        #expect(response.status == status, "\(path): \(String(buffer: response.body))")
        return try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any] ?? [:]
    }

    func json(_ method: HTTPRequest.Method, _ path: String, as who: Fixture.Who) async throws -> [String: Any] {
        try await json(method, path, as: who, nil, expect: .ok)
    }
}
