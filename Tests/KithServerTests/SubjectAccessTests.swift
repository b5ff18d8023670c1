import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import KithCore
import Testing
@testable import KithServer

/// Subject access requests (issue #27): a request is a record with a clock, the bundle is the data subject's, decided
/// item by item without the record changing, and each disclosure is kept exactly as served.
@Suite struct SubjectAccessTests {
    /// The Whitfields' story, a neighbour in their network, a message from the nan on the family's page, another family
    /// with its own notes, and an information-governance officer.
    struct Setting {
        let story: FamilyPageTests.Story
        let neighbourId: String
        let morganId: String
        let officer: (id: UUID, token: String)
    }

    static func setting(_ kith: Kith) async throws -> Setting {
        let story = try await FamilyPageTests.story(kith)
        let neighbour = try await kith.json(
            .post, "/v1/families/\(story.familyId)/people", as: .priya,
            ["name": "Dot Neighbour", "relationshipToChild": "neighbour", "contact": ["phone": "07700 900555"]], expect: .created)
        var browser = Browser(kith: kith)
        try await browser.signIn(story)
        let page = try await browser.get("/family")
        #expect(try await browser.post("/family/message", ["text": "Amy loved the library visit.", "csrf": Browser.csrf(page)]).status == .seeOther)
        let morgan = try await kith.openFamily("The Morgan family")
        _ = try await kith.json(.post, "/v1/families/\(morgan.id)/notes", as: .priya, ["body": "Morgan words, nobody else's."], expect: .created)
        let officer = try await kith.addWorker("Ines Governance", roles: ["informationGovernance"], team: nil)
        return Setting(story: story, neighbourId: neighbour["id"] as! String, morganId: morgan.id, officer: officer)
    }

    static func json(_ value: [String: Any]) throws -> Data { try JSONSerialization.data(withJSONObject: value) }

    /// The nan's own request, received today.
    static func request(_ kith: Kith, _ setting: Setting, receivedOn: String = CalendarDayText.today) async throws -> Components.Schemas.SubjectAccessRequest {
        let response = try await kith.request(
            .post, "/v1/subject-access-requests", token: setting.officer.token,
            body: try json(["requester": ["personId": setting.story.margaretId], "actingFor": "self",
                            "dataSubjects": [setting.story.margaretId], "receivedOn": receivedOn, "channel": "email"]))
        #expect(response.status == .created, "\(String(buffer: response.body))")
        return try Kith.decoder.decode(Components.Schemas.SubjectAccessRequest.self, from: response.body)
    }

    static func bundle(_ kith: Kith, _ setting: Setting, _ id: String) async throws -> [Components.Schemas.SubjectAccessItem] {
        let response = try await kith.request(.get, "/v1/subject-access-requests/\(id)/bundle", token: setting.officer.token, body: nil)
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        return try Kith.decoder.decode(Components.Schemas.SubjectAccessBundle.self, from: response.body).items
    }

    @Test func theNansBundleHoldsHerWordsAndTheFamilysNotesProposesHerNeighbourForReviewAndNothingOfAnotherFamily() async throws {
        try await Kith.run { kith in
            let setting = try await Self.setting(kith)
            let story = setting.story
            // Only an information-governance officer logs a request; without one, the officer reads no family at all.
            let refused = try await kith.request(
                .post, "/v1/subject-access-requests", as: .priya,
                json: Components.Schemas.CreateSubjectAccessRequest(
                    requester: .init(name: "Margaret"), actingFor: ._self, dataSubjects: [story.margaretId], receivedOn: CalendarDayText.today))
            #expect(refused.status == .forbidden)
            #expect(try await kith.request(.get, "/v1/families/\(story.familyId)", token: setting.officer.token, body: nil).status == .notFound)

            let request = try await Self.request(kith, setting)
            let today = CalendarDay(CalendarDayText.today)!
            #expect(request.status == .open && !request.overdue && request.pausedDays == 0)
            #expect(request.dueOn == SubjectAccessClock(receivedOn: today, events: [], holidays: []).dueOn(today: today).description)
            #expect(request.dataSubjects.map(\.familyId) == [story.familyId])

            let items = try await Self.bundle(kith, setting, request.id)
            func item(_ text: String) -> Components.Schemas.SubjectAccessItem? { items.first { $0.text.contains(text) } }
            #expect(item("Amy loved the library visit.")?.proposal == .disclose && item("Amy loved the library visit.")?.rule == "theirOwnWords")
            #expect(item("Amy showed me her reading book.")?.proposal == .disclose)
            #expect(item("Amy showed me her reading book.")?.rule == "writtenForTheFamily")
            #expect(item("Professional judgment words.")?.proposal == .review && item("Restricted words.")?.rule == "restricted")
            #expect(item("07700 900555")?.proposal == .review && item("07700 900555")?.rule == "thirdPartyDetails")
            #expect(item("07700 900555")?.id == "person:\(setting.neighbourId)")
            #expect(item("1 Secret Lane")?.proposal == .disclose && item("1 Secret Lane")?.rule == "theirOwnDetails")
            #expect(item("Pick Amy up from school on weekdays")?.kind == .planItem)
            #expect(items.contains { $0.kind == .pageView && $0.proposal == .disclose })
            #expect(items.allSatisfy { $0.familyId == story.familyId && $0.dataSubjectId == story.margaretId })
            #expect(!items.contains { $0.text.contains("Morgan") })
            // Undecided, only what was proposed for disclosure would go out.
            #expect(items.allSatisfy { $0.disclosed == ($0.proposal == .disclose) })

            // The read is in the family's audit, naming the request; nothing of the other family was read.
            #expect(try await kith.count("""
                SELECT count(*) FROM audit_events WHERE subject_access_request_id = '\(request.id)' AND action = 'read'
                  AND entity = 'subjectAccessBundle' AND family_id = '\(story.familyId)'
                """) == 1)
            #expect(try await kith.count("SELECT count(*) FROM audit_events WHERE subject_access_request_id IS NOT NULL AND family_id = '\(setting.morganId)'") == 0)
            // The family's supervisor sees the read in its trail, with the request it went through.
            let trail = try await kith.json(.get, "/v1/families/\(story.familyId)/audit", as: .sam)
            let events = try #require(trail["items"] as? [[String: Any]])
            #expect(events.contains { $0["entity"] as? String == "subjectAccessBundle" && $0["subjectAccessRequestId"] as? String == request.id })
            #expect(try await kith.request(.get, "/v1/families/\(setting.morganId)", token: setting.officer.token, body: nil).status == .notFound)
            // A person of another organisation is no data subject.
            let stranger = try await kith.request(
                .post, "/v1/subject-access-requests", token: setting.officer.token,
                body: try Self.json(["requester": ["name": "A solicitor"], "actingFor": "authorisedAgent", "dataSubjects": [UUID().text],
                                     "receivedOn": CalendarDayText.today]))
            #expect(stranger.status == .badRequest)
        }
    }

    @Test func decisionsShapeTheDisclosureWhoseHashIsStableAndTheRecordIsNeverTouched() async throws {
        try await Kith.run { kith in
            let setting = try await Self.setting(kith)
            let request = try await Self.request(kith, setting)
            let items = try await Self.bundle(kith, setting, request.id)
            let neighbour = try #require(items.first { $0.id == "person:\(setting.neighbourId)" })
            let professional = try #require(items.first { $0.text.contains("Professional judgment words.") })
            func record() async throws -> [String: String] {
                try await kith.fingerprint().filter { !$0.key.hasPrefix("subject_access") && $0.key != "audit_events" }
            }
            let before = try await record()
            func decide(_ path: String, _ body: [String: Any], as token: String? = nil) async throws -> TestResponse {
                try await kith.request(
                    .post, "/v1/subject-access-requests/\(request.id)/\(path)", token: token ?? setting.officer.token, body: try Self.json(body))
            }
            #expect(try await decide("redactions", ["itemId": neighbour.id, "text": "not there", "exemption": "thirdParty", "reason": "x"]).status == .badRequest)
            #expect(try await decide("redactions", ["itemId": "person:\(UUID().text)", "exemption": "thirdParty", "reason": "x"]).status == .badRequest)
            #expect(try await decide("releases", ["itemId": professional.id, "reason": "x"], as: kith.fixture.tokens[.sam]!).status == .forbidden)

            #expect(try await decide(
                "redactions", ["itemId": neighbour.id, "text": "07700 900555", "exemption": "thirdParty", "reason": "The neighbour's number"]
            ).status == .created)
            #expect(try await decide("releases", ["itemId": professional.id, "reason": "About her and the family; nothing of anyone else"]).status == .created)
            func disclose() async throws -> (Components.Schemas.SubjectAccessDisclosure, String) {
                let made = try await kith.request(.post, "/v1/subject-access-requests/\(request.id)/disclosures", token: setting.officer.token, body: nil)
                #expect(made.status == .created, "\(String(buffer: made.body))")
                let disclosure = try Kith.decoder.decode(Components.Schemas.SubjectAccessDisclosure.self, from: made.body)
                let served = try await kith.request(
                    .get, "/v1/subject-access-requests/\(request.id)/disclosures/\(disclosure.id)", token: setting.officer.token, body: nil)
                #expect(served.status == .ok && served.headers[.contentType]?.hasPrefix("text/html") == true)
                let document = String(buffer: served.body)
                #expect(Data(SHA256.hash(data: Data(document.utf8))).map { String(format: "%02x", $0) }.joined() == disclosure.sha256)
                return (disclosure, document)
            }
            let (first, document) = try await disclose()
            #expect(document.contains("Amy showed me her reading book.") && document.contains("Amy loved the library visit."))
            #expect(document.contains("Professional judgment words.") && document.contains("Dot Neighbour"))
            #expect(!document.contains("07700 900555") && document.contains("[withheld: thirdParty]"))
            #expect(!document.contains("Restricted words.") && !document.contains("Morgan"))
            // Rendered again from the same decisions: the same document, byte for byte.
            let (second, _) = try await disclose()
            #expect(second.sha256 == first.sha256 && second.id != first.id)
            #expect(try await record() == before)

            // A later decision stands over an earlier one: the professional note withheld after all.
            #expect(try await decide("redactions", ["itemId": professional.id, "exemption": "seriousHarm", "reason": "On reflection"]).status == .created)
            let (third, withheld) = try await disclose()
            #expect(third.sha256 != first.sha256 && !withheld.contains("Professional judgment words.") && withheld.contains("seriousHarm"))
            let log: Components.Schemas.SubjectAccessRequest = try Kith.decoder.decode(
                Components.Schemas.SubjectAccessRequest.self,
                from: try await kith.request(.get, "/v1/subject-access-requests/\(request.id)", token: setting.officer.token, body: nil).body)
            #expect(log.disclosures.map(\.id) == [first.id, second.id, third.id])
            #expect(try await kith.count("""
                SELECT count(*) FROM audit_events WHERE subject_access_request_id = '\(request.id)' AND action = 'export'
                  AND entity = 'subjectAccessDisclosure'
                """) == 3)
            #expect(try await record() == before)
        }
    }

    @Test func theClockPausesForIdentityFollowsHolidaysAndAClosedRequestReadsNothingMore() async throws {
        try await Kith.run { kith in
            let setting = try await Self.setting(kith)
            let holidays = try await kith.request(.put, "/v1/organisation/holidays", as: .alex, json: ["2026-12-25"])
            #expect(holidays.status == .ok && String(buffer: holidays.body).contains("2026-12-25"))
            #expect(try await kith.request(.put, "/v1/organisation/holidays", as: .priya, json: ["2026-12-25"]).status == .forbidden)
            let request = try await Self.request(kith, setting, receivedOn: "2026-11-25")
            #expect(request.dueOn == "2026-12-28")
            func event(_ kind: String, _ on: String) async throws -> TestResponse {
                try await kith.request(
                    .post, "/v1/subject-access-requests/\(request.id)/events", token: setting.officer.token,
                    body: try Self.json(["kind": kind, "on": on, "reason": "by letter"]))
            }
            let asked = try Kith.decoder.decode(Components.Schemas.SubjectAccessRequest.self, from: try await event("identityRequested", "2026-11-26").body)
            #expect(asked.status == .paused)
            let answered = try Kith.decoder.decode(Components.Schemas.SubjectAccessRequest.self, from: try await event("identityReceived", "2026-11-30").body)
            #expect(answered.status == .open && answered.pausedDays == 4 && answered.dueOn == "2026-12-29")
            #expect(try await event("identityReceived", "2026-11-20").status == .badRequest)

            let old = try await Self.request(kith, setting, receivedOn: "2026-10-01")
            #expect(old.dueOn == "2026-11-02" && old.overdue)
            let list = try Kith.decoder.decode(
                Components.Schemas.SubjectAccessRequestList.self,
                from: try await kith.request(.get, "/v1/subject-access-requests?status=open", token: setting.officer.token, body: nil).body)
            #expect(list.items.map(\.id) == [old.id, request.id])

            #expect(try await event("closed", "2026-12-01").status == .created)
            #expect(try await event("disclosed", "2026-12-01").status == .conflict)
            let closed = try await kith.request(.get, "/v1/subject-access-requests/\(request.id)/bundle", token: setting.officer.token, body: nil)
            #expect(closed.status == .conflict)
            let open = try Kith.decoder.decode(
                Components.Schemas.SubjectAccessRequestList.self,
                from: try await kith.request(.get, "/v1/subject-access-requests?status=open", token: setting.officer.token, body: nil).body)
            #expect(open.items.map(\.id) == [old.id])
        }
    }
}
