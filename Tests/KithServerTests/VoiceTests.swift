import Crypto
import Foundation
import HTTPTypes
import KithAPI
import KithCore
import Testing
@testable import KithServer

/// Voice (issue #29): what got in the way, told by workers and families and answered by supervisors; the family's
/// verdict after a meeting, named or anonymous, counted with a floor; and studies of practice drawn as pseudonymised
/// extracts.
@Suite struct VoiceTests {
    static func friction(_ kith: Kith, _ body: [String: Any], as who: Fixture.Who = .priya) async throws -> Components.Schemas.Friction {
        let response = try await kith.request(.post, "/v1/frictions", token: kith.fixture.tokens[who]!, body: try JSONSerialization.data(withJSONObject: body))
        #expect(response.status == .created, "\(String(buffer: response.body))")
        return try Kith.decoder.decode(Components.Schemas.Friction.self, from: response.body)
    }

    @Test func whatGotInTheWayIsToldOnlineAndOfflineAnsweredAndSeenByItsTeller() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let told = try await Self.friction(kith, [
                "text": "Couldn't book an interpreter for Saturday's conference: procurement needs 10 days", "kind": "rule",
                "cost": "2 hours", "didItAnyway": "partly",
            ])
            #expect(told.fellOn == .worker && told.filedBy == kith.fixture.id(.priya).text && told.teamId == kith.fixture.north.text)
            #expect(told.status == .open && told.events.isEmpty && told.familyId == nil && told.kind == .rule)

            // Offline, naming the family: pushed once, applied once.
            let device = try await FieldDevice.register(kith, as: .priya)
            let offline = UUID().text
            let mutation = Mutation.mutation(1, .createFriction(frictionId: offline, .init(
                id: offline, text: "The referral form would not take a grandparent as the referrer", familyId: family.id, kind: .system)))
            #expect(try await device.push([mutation]).results.map(\.status) == [.applied])
            #expect(try await device.push([mutation]).results.map(\.status) == [.duplicate])
            #expect(try await kith.count("SELECT count(*) FROM frictions WHERE id = '\(offline)'") == 1)
            // A family the teller cannot read is refused by name, kept for review.
            let elsewhere = try await kith.openFamily("The Okoro family", by: .omar)
            let refused = try await device.push([Mutation.mutation(2, .createFriction(frictionId: UUID().text, .init(
                text: "Not mine to say", familyId: elsewhere.id)))])
            #expect(refused.results.map(\.status) == [.rejected])

            // Bad input changes nothing.
            for bad: [String: Any] in [["text": "   "], ["text": "x", "kind": "weather"], ["text": "x", "familyId": "nope"],
                                       ["text": "x", "problem": ["status": 503]]] {
                let response = try await kith.request(.post, "/v1/frictions", token: kith.fixture.tokens[.priya]!,
                                                      body: try JSONSerialization.data(withJSONObject: bad))
                #expect(response.status == .badRequest, "\(bad)")
            }

            // The team's supervisor answers; nobody else may, and an answer other than an acknowledgement says what.
            for (who, status) in [(Fixture.Who.tom, HTTPResponse.Status.notFound), (.ruth, .notFound), (.priya, .forbidden)] {
                let response = try await kith.request(.post, "/v1/frictions/\(told.id)/events", as: who, json: ["kind": "acknowledged"])
                #expect(response.status == status, "\(who)")
            }
            let wordless = try await kith.request(.post, "/v1/frictions/\(told.id)/events", as: .sam, json: ["kind": "changed"])
            let problem = try kith.problem(wordless)
            #expect(wordless.status == .badRequest && problem.errors?.first?.field == "text")
            let _: Components.Schemas.Friction = try await kith.send(
                .post, "/v1/frictions/\(told.id)/events", as: .sam, json: ["kind": "acknowledged"], expect: .created)
            let answered: Components.Schemas.Friction = try await kith.send(
                .post, "/v1/frictions/\(told.id)/events", as: .sam,
                json: ["kind": "changed", "text": "Procurement agreed a standing interpreter order for conferences"], expect: .created)
            #expect(answered.status == .changed && answered.events.map(\.kind) == [.acknowledged, .changed])

            // The teller sees the answer; their list and the team's list, by status.
            let seen: Components.Schemas.Friction = try await kith.send(.get, "/v1/frictions/\(told.id)", as: .priya)
            #expect(seen.events.last?.text == "Procurement agreed a standing interpreter order for conferences")
            let mine: Components.Schemas.FrictionList = try await kith.send(.get, "/v1/frictions?mine=true", as: .priya)
            #expect(Set(mine.items.map(\.id)) == [told.id, offline])
            let changed: Components.Schemas.FrictionList = try await kith.send(.get, "/v1/frictions?mine=true&status=changed", as: .priya)
            #expect(changed.items.map(\.id) == [told.id])
            let team: Components.Schemas.FrictionList = try await kith.send(.get, "/v1/frictions?teamId=\(kith.fixture.north.text)", as: .sam)
            #expect(Set(team.items.map(\.id)) == [told.id, offline])
            #expect(try await kith.request(.get, "/v1/frictions?teamId=\(kith.fixture.north.text)", as: .priya).status == .forbidden)
            #expect(try await kith.request(.get, "/v1/frictions?teamId=\(kith.fixture.north.text)", as: .ruth).status == .forbidden)
            #expect(try await kith.request(.get, "/v1/frictions/\(told.id)", as: .tom).status == .notFound)

            // Naming the family makes it part of the family's record: its timeline, its export, its audit.
            let timeline: Components.Schemas.TimelinePage = try await kith.send(.get, "/v1/families/\(family.id)/timeline", as: .priya)
            #expect(timeline.items.contains { $0.kind == .friction && $0.id == offline })
            let export: Components.Schemas.FamilyExport = try await kith.send(.get, "/v1/families/\(family.id)/export", as: .priya)
            #expect(export.frictions.map(\.id) == [offline])
            #expect(try await kith.count(
                "SELECT count(*) FROM audit_events WHERE family_id = '\(family.id)' AND entity = 'friction' AND action = 'write'") == 1)
        }
    }

    @Test func theSummaryCountsByKindAndTeamAndNamesTheRulesNamedMostButNobody() async throws {
        try await Kith.run { kith in
            for (text, kind, who) in [
                ("Procurement needs ten days to book an interpreter", "rule", Fixture.Who.priya),
                ("Procurement rules stopped the taxi for nan", "rule", .tom),
                ("The procurement form again, for a room", "rule", .omar),
                ("Mrs Whitfield's visit was cut short by the rota", "rule", .priya),
                ("The case system logged me out mid-note", "system", .priya),
                ("No car", "resource", .omar),
            ] {
                _ = try await Self.friction(kith, ["text": text, "kind": kind, "didItAnyway": "no"], as: who)
            }
            _ = try await Self.friction(kith, ["text": "Nobody said", "didItAnyway": "yes"])
            let summary: Components.Schemas.FrictionSummary = try await kith.send(.get, "/v1/frictions/summary", as: .alex)
            #expect(summary.total == 7)
            #expect(summary.byKind.first.map { ($0.kind, $0.count) } ?? (nil, 0) == (.rule, 4))
            #expect(summary.byKind.contains { $0.kind == nil && $0.count == 1 })
            #expect(summary.byTeam.map(\.count).reduce(0, +) == 7)
            #expect(summary.byTeam.first { $0.teamId == kith.fixture.south.text }?.count == 2)
            #expect(summary.didItAnyway.no == 6 && summary.didItAnyway.yes == 1 && summary.didItAnyway.unsaid == 0)
            #expect(summary.namedMost.map(\.word) == ["procurement"], "a word in fewer than three frictions (a name) is not shown")
            #expect(summary.namedMost.first?.frictions == 3)
            let supervisors: Components.Schemas.FrictionSummary = try await kith.send(
                .get, "/v1/frictions/summary?from=\(CalendarDayText.today)&to=\(CalendarDayText.today)", as: .sam)
            #expect(supervisors.total == 7)
            let before: Components.Schemas.FrictionSummary = try await kith.send(.get, "/v1/frictions/summary?from=2020-01-01&to=2020-12-31", as: .sam)
            #expect(before.total == 0)
            #expect(try await kith.request(.get, "/v1/frictions/summary", as: .priya).status == .forbidden)
            #expect(try await kith.request(.get, "/v1/frictions/summary?from=2026-02-01&to=2026-01-01", as: .alex).status == .badRequest)
        }
    }

    /// A meeting today for the story's family, and its member's answers sent from their page (`form` adds to the
    /// occasion and the form's token). Returns the page that asked.
    @discardableResult
    static func answerTheQuestions(
        _ kith: Kith, _ story: FamilyPageTests.Story, _ browser: inout Browser, _ form: [String: String], meeting: String = "initial"
    ) async throws -> String {
        _ = try await kith.json(
            .post, "/v1/conferences/\(story.conferenceId)/meetings", as: .priya, ["kind": meeting, "heldOn": CalendarDayText.today],
            expect: .created)
        if browser.cookie == nil { try await browser.signIn(story) }
        let page = String(buffer: try await browser.get("/family").body)
        let occasion = try #require(Browser.value(of: "occasion", in: page))
        let sent = try await browser.post("/family/verdict", form.merging(["occasion": occasion, "csrf": Browser.value(of: "csrf", in: page) ?? ""]) { $1 })
        #expect(sent.status == .seeOther)
        return page
    }

    @Test func theFamilysVerdictIsAskedOnceKeptNamedOrAnonymousAndCountedWithAFloor() async throws {
        try await Kith.run { kith in
            // Five families' members answer after their conferences; the first anonymously, with their words.
            var stories: [FamilyPageTests.Story] = []
            for index in 0..<6 {
                let story = try await FamilyPageTests.story(kith)
                var browser = Browser(kith: kith)
                let form: [String: String] = switch index {
                case 0: ["listened": "5", "planOwn": "4", "words": "The bus fare to the meeting", "named": "no"]
                case 1: ["listened": "2", "workerTalk": "3", "named": "yes"]
                case 5: ["choice": "decline", "listened": "1"]
                default: ["listened": "4", "planOwn": "0", "workerTalk": "5", "named": "no"]
                }
                let asked = try await Self.answerTheQuestions(kith, story, &browser, form)
                #expect(asked.contains("Did you feel listened to?") && asked.contains("I would rather not say"))
                // Asked once: the page no longer asks, and the same answers again change nothing.
                let after = String(buffer: try await browser.get("/family").body)
                #expect(!after.contains("name=\"occasion\""))
                let again = try await browser.post("/family/verdict", [
                    "occasion": try #require(Browser.value(of: "occasion", in: asked)), "csrf": Browser.value(of: "csrf", in: asked) ?? "",
                    "listened": "1"])
                #expect(again.status == .conflict)
                stories.append(story)
            }
            #expect(try await kith.count("SELECT count(*) FROM family_feedback") == 5)
            #expect(try await kith.count("SELECT count(*) FROM family_feedback_given") == 6)
            // An anonymous answer keeps its team, quarter and kind of meeting only; its words are the team's friction.
            #expect(try await kith.count(
                """
                SELECT count(*) FROM family_feedback WHERE family_id IS NULL AND person_id IS NULL AND worker_id IS NULL
                  AND occasion_id IS NULL AND given_at IS NULL
                """) == 4)
            let words: Components.Schemas.FrictionList = try await kith.send(.get, "/v1/frictions?teamId=\(kith.fixture.north.text)", as: .sam)
            let fellOnFamily = try #require(words.items.first { $0.fellOn == .family })
            #expect(fellOnFamily.text == "The bus fare to the meeting" && fellOnFamily.familyId == nil && fellOnFamily.filedBy == nil)
            #expect(Calendar(identifier: .gregorian).dateComponents(in: .gmt, from: fellOnFamily.createdAt).day == 1)

            // The team's figures: five answers, each question's only where five answered on the scale.
            let team: Components.Schemas.TeamFeedback = try await kith.send(.get, "/v1/teams/\(kith.fixture.north.text)/feedback", as: .sam)
            #expect(!team.tooFew && team.answers == 5 && team.byOccasion?.conference == 5 && team.byOccasion?.review == 0)
            let listened = try #require(team.questions.first { $0.question == .listened })
            #expect(!listened.tooFew && listened.answered == 5 && listened.average == 3.8)
            #expect(team.questions.first { $0.question == .planOwn }?.tooFew == true)
            #expect(team.questions.first { $0.question == .workerTalk }?.tooFew == true)
            #expect(team.gotInTheWay == nil, "one family's words is a count under five")
            #expect(try await kith.request(.get, "/v1/teams/\(kith.fixture.north.text)/feedback", as: .priya).status == .forbidden)
            #expect(try await kith.request(.get, "/v1/teams/\(kith.fixture.north.text)/feedback", as: .ruth).status == .forbidden)
            let south: Components.Schemas.TeamFeedback = try await kith.send(.get, "/v1/teams/\(kith.fixture.south.text)/feedback", as: .ruth)
            #expect(south.tooFew && south.answers == nil && south.questions.isEmpty)

            // The named answer is about Priya's work: hers to read, and part of its family's record.
            let mine: Components.Schemas.FeedbackList = try await kith.send(.get, "/v1/me/feedback", as: .priya)
            #expect(mine.items.count == 1 && mine.items[0].listened == 2 && mine.items[0].familyId == stories[1].familyId)
            #expect(try await kith.count(
                "SELECT count(*) FROM audit_events WHERE entity = 'feedback' AND action = 'read' AND family_id = '\(stories[1].familyId)'") == 1)
            let tom: Components.Schemas.FeedbackList = try await kith.send(.get, "/v1/me/feedback", as: .tom)
            #expect(tom.items.isEmpty)
            let export: Components.Schemas.FamilyExport = try await kith.send(.get, "/v1/families/\(stories[1].familyId)/export", as: .priya)
            #expect(export.feedback.map(\.workerTalk) == [3])
            let anonymous: Components.Schemas.FamilyExport = try await kith.send(.get, "/v1/families/\(stories[0].familyId)/export", as: .priya)
            #expect(anonymous.feedback.isEmpty && anonymous.frictions.isEmpty)
            // Answering is audited as the person, like the page's other submissions; an anonymous answer names no record.
            #expect(try await kith.count(
                "SELECT count(*) FROM audit_events WHERE entity = 'familyVerdict' AND person_id IS NOT NULL AND record_id IS NULL") == 4)
        }
    }

    /// A study of every referral up to today, proposed by Alex, approved by a second administrator, and its extract.
    @discardableResult
    static func drawAnExtract(_ kith: Kith, title: String = "Reflective supervision and continuity") async throws -> (csv: String, sha256: String) {
        let study: Components.Schemas.ResearchStudy = try await kith.send(
            .post, "/v1/research-studies", as: .alex,
            json: ["title": title, "ethicsReference": "REC 26/WA/0142", "from": "2020-01-01", "to": CalendarDayText.today], expect: .created)
        let approver = try await kith.addWorker("Bea Admin \(UUID().text.prefix(4))", roles: ["admin"], team: nil)
        #expect(try await kith.request(.post, "/v1/research-studies/\(study.id)/approve", token: approver.token, body: nil).status == .created)
        let extract = try await kith.request(.post, "/v1/research-studies/\(study.id)/extracts", as: .alex)
        #expect(extract.status == .created && extract.headers[.contentType]?.hasPrefix("text/csv") == true)
        return (String(buffer: extract.body), extract.headers[HTTPField.Name("Kith-Extract-SHA256")!] ?? "")
    }

    @Test func aStudyApprovedByAnotherAdministratorDrawsAPseudonymousExtract() async throws {
        try await Kith.run { kith in
            let story = try await FamilyPageTests.story(kith)
            var browser = Browser(kith: kith)
            try await Self.answerTheQuestions(kith, story, &browser, ["listened": "4", "words": "Nobody rang back", "named": "yes"])
            _ = try await Self.friction(kith, ["text": "The form would not save a grandparent", "familyId": story.familyId, "kind": "system"])
            _ = try await kith.json(
                .post, "/v1/practice-changes", as: .sam,
                ["teamId": kith.fixture.north.text, "startedOn": "2024-01-01", "description": "Reflective group supervision"], expect: .created)
            #expect(try await kith.request(
                .post, "/v1/practice-changes", as: .priya,
                json: ["teamId": kith.fixture.north.text, "startedOn": "2024-01-01", "description": "Mine"]).status == .forbidden)

            // Proposed, refused before approval and to its own proposer, approved once by another.
            let proposed = try await kith.json(
                .post, "/v1/research-studies", as: .alex,
                ["title": "Before and after", "ethicsReference": "REC 26/WA/0142", "from": "2020-01-01", "to": CalendarDayText.today,
                 "fields": ["teamPseudonym", "referralMonth", "planAgreed", "feedbackListened", "frictions", "practiceChanges"]],
                expect: .created)
            let study = (id: try #require(proposed["id"] as? String), ())
            let early = try await kith.request(.post, "/v1/research-studies/\(study.id)/extracts", as: .alex)
            let notApproved = try kith.problem(early)
            #expect(early.status == .conflict && notApproved.code == "study_not_approved")
            #expect(try await kith.request(.post, "/v1/research-studies/\(study.id)/approve", as: .alex).status == .forbidden)
            let approver = try await kith.addWorker("Bea Admin", roles: ["admin"], team: nil)
            #expect(try await kith.request(.post, "/v1/research-studies/\(study.id)/approve", token: approver.token, body: nil).status == .created)
            let twice = try await kith.request(.post, "/v1/research-studies/\(study.id)/approve", token: approver.token, body: nil)
            let approved = try kith.problem(twice)
            #expect(twice.status == .conflict && approved.code == "already_approved")
            #expect(try await kith.request(.post, "/v1/research-studies", as: .sam, json: ["title": "x", "ethicsReference": "y",
                                                                                             "from": "2020-01-01", "to": "2020-01-02"]).status == .forbidden)

            // The extract: one row per referral, its columns as asked; months, counts and codes; no name, day, id or words.
            let drawn = try await kith.request(.post, "/v1/research-studies/\(study.id)/extracts", as: .alex)
            #expect(drawn.status == .created)
            let csv = String(buffer: drawn.body)
            let rows = csv.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            #expect(rows.first == ["familyPseudonym", "teamPseudonym", "referralMonth", "planAgreed", "feedbackListened", "frictions", "practiceChanges"])
            #expect(rows.count == 2)
            let row = rows[1]
            #expect(row[0].count == 64 && row[2] == String(CalendarDayText.today.prefix(7)) && row[3] == "true")
            #expect(row[4] == "4.00" && row[5] == "1" && row[6] == "C1")
            for secret in ["Whitfield", "Margaret", "School attendance", "grandparent", "Nobody rang back", story.familyId,
                           kith.fixture.north.text, CalendarDayText.today] {
                #expect(!csv.contains(secret), "\(secret)")
            }
            #expect(csv.range(of: #"[0-9a-f]{8}-[0-9a-f]{4}-"#, options: .regularExpression) == nil)
            let sha = Data(SHA256.hash(data: Data(csv.utf8))).map { String(format: "%02x", $0) }.joined()
            #expect(drawn.headers[HTTPField.Name("Kith-Extract-SHA256")!] == sha)
            #expect(try await kith.count(
                "SELECT count(*) FROM audit_events WHERE entity = 'researchExtract' AND reason LIKE '%\(sha)%'") == 1)
            let listed: Components.Schemas.ResearchStudyList = try await kith.send(.get, "/v1/research-studies", as: .alex)
            #expect(listed.items.first { $0.id == study.id }?.extracts.map(\.sha256) == [sha])

            // The same family is the same pseudonym within a study, and another in another study.
            let again = String(buffer: try await kith.request(.post, "/v1/research-studies/\(study.id)/extracts", as: .alex).body)
            #expect(again == csv)
            let other = try await Self.drawAnExtract(kith)
            #expect(!other.csv.contains(row[0]) && !other.csv.contains(row[1]))
        }
    }
}

extension Browser {
    /// The value of the first form field named `name` in a page.
    static func value(of name: String, in html: String) -> String? {
        guard let start = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        return String(html[start.upperBound...].prefix { $0 != "\"" })
    }
}
