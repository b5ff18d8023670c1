import Foundation
import KithAPI
import KithCore
import Testing
@testable import KithServer

/// Conferences as FGC coordinators run them: a referral from outside Kith, the family's agreement, participants
/// with their parts, meetings of their own with private family time, a change of coordinator, and a plan whose open
/// items carry over to its next version.
@Suite struct ConferenceTests {
    typealias Conference = Components.Schemas.Conference

    @Test func aCoordinatorTakesAReferralFromASchoolToAnAgreedPlan() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            func person(_ name: String) async throws -> String {
                let person: Components.Schemas.Person = try await kith.send(
                    .post, "/v1/families/\(family.id)/people", as: .priya, json: ["name": name], expect: .created)
                return person.id
            }
            let jade = try await person("Jade"), margaret = try await person("Margaret")
            try await kith.allocate(.chris, to: family, role: .coordinator)

            // Refused, and nothing saved: no referrer at all, an outside referrer without a name, agreement from a stranger.
            func refer(_ referral: [String: Any]) async throws -> TestResponseStatus {
                var body = referral
                body["reason"] = body["reason"] ?? "School worried about attendance"
                body["familyAgreed"] = body["familyAgreed"] ?? true
                body["bottomLines"] = body["bottomLines"] ?? ["Amy goes to school every day"]
                let response = try await kith.request(
                    .post, "/v1/families/\(family.id)/conferences", as: .chris,
                    raw: String(decoding: try JSONSerialization.data(withJSONObject: ["referral": body,
                                                                                      "coordinatorId": kith.fixture.id(.chris).text]),
                                as: UTF8.self))
                return .init(code: Int(response.status.code), body: String(buffer: response.body))
            }
            #expect(try await refer([:]).code == 400)
            #expect(try await refer(["referrer": ["name": " "]]).code == 400)
            let strangerAgreed = try await refer(["referrer": ["name": "Mrs Hughes"], "familyAgreedBy": UUID().text])
            #expect(strangerAgreed.code == 400 && strangerAgreed.body.contains("referral.familyAgreedBy"))
            #expect(try await kith.count("SELECT count(*) FROM conferences") == 0)

            let created = try await refer([
                "referrer": ["name": "Mrs Hughes", "agency": "Riverside Primary School"], "referredOn": "2026-11-02",
                "familyAgreedOn": "2026-11-05", "familyAgreedBy": jade,
            ])
            #expect(created.code == 201, "\(created.body)")
            let conference = try Kith.decoder.decode(Conference.self, from: Data(created.body.utf8))
            #expect(conference.referral.referrer?.name == "Mrs Hughes" && conference.referral.referrer?.agency == "Riverside Primary School")
            #expect(conference.referral.referrerId == nil && conference.referral.referredOn == "2026-11-02")
            #expect(conference.referral.familyAgreedOn == "2026-11-05" && conference.referral.familyAgreedBy == jade)
            #expect(conference.stages.map(\.on) == ["2026-11-02"])
            #expect(conference.coordinators?.map(\.workerId) == [kith.fixture.id(.chris).text])

            // Participants with their parts; meetings of their own, each with its private family time and attendance.
            let _: Conference = try await kith.send(
                .post, "/v1/conferences/\(conference.id)/participants", as: .chris,
                json: Components.Schemas.SetParticipant(workerId: kith.fixture.id(.tom).text, role: .informationGiver, invited: true))
            let _: Conference = try await kith.send(
                .post, "/v1/conferences/\(conference.id)/participants", as: .chris,
                json: Components.Schemas.SetParticipant(personId: margaret, invited: true))
            let start = try #require(ISO8601DateFormatter().date(from: "2026-11-20T11:00:00Z"))
            let initial: Conference = try await kith.send(
                .post, "/v1/conferences/\(conference.id)/meetings", as: .chris,
                json: Components.Schemas.RecordMeeting(
                    kind: .initial, heldOn: "2026-11-20", privateFamilyTime: .init(startedAt: start, endedAt: start.addingTimeInterval(5400)),
                    attended: [jade, kith.fixture.id(.tom).text]),
                expect: .created)
            let roles = Dictionary(uniqueKeysWithValues: initial.participants.map { ($0.personId ?? $0.workerId!, $0.role) })
            #expect(roles == [jade: .familyMember, margaret: .familyMember, kith.fixture.id(.tom).text: .informationGiver])
            let byId = Dictionary(uniqueKeysWithValues: initial.participants.map { ($0.id, $0.personId ?? $0.workerId!) })
            #expect(Set(initial.meetings?.first?.attended.compactMap { byId[$0] } ?? []) == [jade, kith.fixture.id(.tom).text])
            let review: Conference = try await kith.send(
                .post, "/v1/conferences/\(conference.id)/meetings", as: .chris,
                json: Components.Schemas.RecordMeeting(kind: .review, heldOn: "2026-11-28", attended: [margaret]), expect: .created)
            #expect(review.meetings?.map(\.kind) == [.initial, .review])
            #expect(review.meetings?.first?.privateFamilyTime?.endedAt == start.addingTimeInterval(5400))
            #expect(review.meetings?.last.map { $0.attended.compactMap { byId[$0] } } == [margaret])
            let stranger = try await kith.request(
                .post, "/v1/conferences/\(conference.id)/meetings", as: .chris,
                json: Components.Schemas.RecordMeeting(kind: .review, heldOn: "2026-11-29", attended: [UUID().text]))
            #expect(stranger.status == .badRequest)
            #expect(try await kith.count("SELECT count(*) FROM conference_meetings") == 2)

            // A new coordinator; the first stays in the history.
            let handedOn: Conference = try await kith.send(
                .post, "/v1/conferences/\(conference.id)/coordinator", as: .chris,
                json: ["workerId": kith.fixture.id(.priya).text, "from": "2026-11-25"])
            #expect(handedOn.coordinatorId == kith.fixture.id(.priya).text)
            #expect(handedOn.coordinators?.map(\.from) == ["2026-11-02", "2026-11-25"])

            // The plan; progress in Margaret's words; the next version carries the open item over.
            let first: Components.Schemas.FamilyPlan = try await kith.send(
                .post, "/v1/conferences/\(conference.id)/plans", as: .chris,
                json: Components.Schemas.CreatePlan(
                    items: [.init(who: margaret, what: "Takes Amy to school on Mondays"), .init(who: jade, what: "Calls the school if Amy is ill")],
                    agreedByReferrer: true),
                expect: .created)
            let done: Components.Schemas.PlanItemUpdate = try await kith.send(
                .post, "/v1/plan-items/\(first.items[0].id)/updates", as: .chris,
                json: Components.Schemas.CreatePlanItemUpdate(text: "Every Monday since the conference", status: .done, fromPersonId: margaret),
                expect: .created)
            #expect(done.fromPersonId == margaret && done.authorId == kith.fixture.id(.chris).text)
            let notInNetwork = try await kith.request(
                .post, "/v1/plan-items/\(first.items[0].id)/updates", as: .chris,
                json: Components.Schemas.CreatePlanItemUpdate(text: "x", fromPersonId: UUID().text))
            #expect(notInNetwork.status == .badRequest && String(buffer: notInNetwork.body).contains("fromPersonId"))
            let second: Components.Schemas.FamilyPlan = try await kith.send(
                .post, "/v1/conferences/\(conference.id)/plans", as: .chris,
                json: Components.Schemas.CreatePlan(
                    items: [.init(who: margaret, what: "Has Amy after school on Wednesdays")], agreedByReferrer: true, carryOverItems: true),
                expect: .created)
            #expect(second.version == 2)
            #expect(second.items.map(\.what) == ["Has Amy after school on Wednesdays", "Calls the school if Amy is ill"])
            let plans: ItemList<Components.Schemas.FamilyPlan> = try await kith.send(
                .get, "/v1/conferences/\(conference.id)/plans", as: .chris)
            #expect(plans.items.last?.items.first?.updates.first?.fromPersonId == margaret)

            // A device holds the conference whole: its meetings, attendance and coordinators come with it.
            let device = try await FieldDevice.register(kith, as: .chris)
            let pages = try await device.pullAll(from: nil).pages
            let pulled = pages.flatMap(\.changes).compactMap { $0.record as? Conference }
            #expect(pulled.first?.meetings?.count == 2 && pulled.first?.coordinators?.count == 2)
        }
    }
}

extension ConferenceTests {
    @Test func aCoordinatorsConferenceWrittenOfflineArrivesWholeAndABadMeetingIsRefusedAlone() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let jade: Components.Schemas.Person = try await kith.send(
                .post, "/v1/families/\(family.id)/people", as: .priya, json: ["name": "Jade"], expect: .created)
            try await kith.allocate(.chris, to: family, role: .coordinator)
            let device = try await FieldDevice.register(kith, as: .chris)
            let grant = try #require(try await device.pullAll(from: nil).pages.last?.scope.grants.first { $0.familyId == family.id }).grantId
            let conference = UUID().text, plan = UUID().text
            let pushed = try await device.push([
                Mutation.mutation(1, .createConference(familyId: family.id, .init(
                    id: conference, referral: .init(
                        referrer: .init(name: "Health visitor"), referredOn: "2026-11-02", reason: "Baby's weight", familyAgreed: true,
                        bottomLines: []),
                    coordinatorId: kith.fixture.id(.chris).text)), grant: grant),
                Mutation.mutation(2, .recordStage(conferenceId: conference, .init(stage: .preparing, on: "2026-11-05")), grant: grant),
                Mutation.mutation(3, .setParticipant(conferenceId: conference, .init(personId: jade.id, invited: true)), grant: grant),
                Mutation.mutation(4, .recordMeeting(conferenceId: conference, .init(
                    id: UUID().text, kind: .initial, heldOn: "2026-11-20", attended: [UUID().text])), grant: grant),
                Mutation.mutation(5, .recordMeeting(conferenceId: conference, .init(
                    id: UUID().text, kind: .initial, heldOn: "2026-11-20", attended: [jade.id])), grant: grant),
                Mutation.mutation(6, .createPlan(conferenceId: conference, .init(
                    id: plan, items: [.init(id: UUID().text, who: jade.id, what: "Weekly weigh-in")], agreedByReferrer: true)), grant: grant),
            ])
            #expect(pushed.results.map(\.status) == [.applied, .applied, .applied, .rejected, .applied, .applied])
            let read: Conference = try await kith.send(.get, "/v1/conferences/\(conference)", as: .chris)
            #expect(read.referral.referrer?.name == "Health visitor" && read.stage == .preparing)
            #expect(read.meetings?.count == 1 && read.meetings?.first?.attended.count == 1)
            let plans: ItemList<Components.Schemas.FamilyPlan> = try await kith.send(.get, "/v1/conferences/\(conference)/plans", as: .chris)
            #expect(plans.items.map(\.id) == [plan])
        }
    }
}

/// A status and body, for requests whose answer is read either way.
struct TestResponseStatus {
    let code: Int
    let body: String
}
