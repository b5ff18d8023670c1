import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import KithCore
import PostgresNIO
import Testing
@testable import KithServer

@Suite struct RecordTests {
    @Test func onlyAttributionIsRequired() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let contact: Components.Schemas.Contact = try await kith.send(
                .post, "/v1/families/\(family.id)/contacts", as: .priya,
                json: ["occurredAt": "2026-11-20T10:00:00Z", "kind": "phone"], expect: .created)
            #expect(contact.recordedBy == kith.fixture.id(.priya).text)
            #expect(contact.childSeen == nil && contact.durationMinutes == nil && contact.presentPersonIds.isEmpty)
            let person: Components.Schemas.Person = try await kith.send(
                .post, "/v1/families/\(family.id)/people", as: .priya, json: ["name": "Nan"], expect: .created)
            #expect(person.dateOfBirth == nil && person.contact.address == nil && !person.isChildInFocus)
            let note: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(family.id)/notes", as: .priya, json: ["body": "", "audience": "professional"], expect: .created)
            #expect(note.current.body == "")
        }
    }

    @Test func aJointVisitRecordsWhoWasThere() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let amy: Components.Schemas.Person = try await kith.send(
                .post, "/v1/families/\(family.id)/people", as: .priya, json: ["name": "Amy", "relationshipToChild": "child"], expect: .created)
            let contact: Components.Schemas.Contact = try await kith.send(
                .post, "/v1/families/\(family.id)/contacts", as: .priya,
                json: Components.Schemas.CreateContact(
                    occurredAt: Date(timeIntervalSinceNow: -3600), durationMinutes: 45, kind: .homeVisit, location: "home",
                    presentPersonIds: [amy.id], presentWorkerIds: [kith.fixture.id(.priya).text, kith.fixture.id(.tom).text],
                    childSeen: true, childSeenAlone: true),
                expect: .created)
            #expect(contact.presentPersonIds == [amy.id])
            #expect(Set(contact.presentWorkerIds) == [kith.fixture.id(.priya).text, kith.fixture.id(.tom).text])
            // Someone from outside the network is refused, and nothing is saved.
            let stranger = try await kith.request(
                .post, "/v1/families/\(family.id)/contacts", as: .priya,
                json: Components.Schemas.CreateContact(occurredAt: Date(), kind: .homeVisit, presentPersonIds: [UUID().text]))
            #expect(stranger.status == .badRequest)
            #expect(try await kith.count("SELECT count(*) FROM contacts") == 1)
        }
    }

    @Test func reallocationWithAHandoverNoteShowsInTheTimeline() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let allocations: ItemList<Components.Schemas.Allocation> = try await kith.send(.get, "/v1/families/\(family.id)/allocations", as: .sam)
            let priyas = try #require(allocations.items.first)
            #expect(priyas.workerId == kith.fixture.id(.priya).text && priyas.role == .allocatedWorker)

            let ended: Components.Schemas.Allocation = try await kith.send(
                .post, "/v1/allocations/\(priyas.id)/end", as: .sam,
                json: Components.Schemas.EndAllocation(
                    endedOn: CalendarDay.today.text, reason: "caseload rebalanced", handoverNote: "Amy likes visits after school.",
                    jointHandoverVisit: true))
            #expect(ended.endedOn == CalendarDay.today.text && ended.handoverNote == "Amy likes visits after school.")
            let again = try await kith.request(.post, "/v1/allocations/\(priyas.id)/end", as: .sam, json: ["endedOn": CalendarDay.today.text, "reason": "again"])
            #expect(again.status == .conflict)
            let _: Components.Schemas.Allocation = try await kith.send(
                .post, "/v1/families/\(family.id)/allocations", as: .sam,
                json: ["workerId": kith.fixture.id(.tom).text, "role": "allocatedWorker", "startedOn": CalendarDay.today.text], expect: .created)

            let timeline: Components.Schemas.TimelinePage = try await kith.send(.get, "/v1/families/\(family.id)/timeline", as: .tom)
            let handover = try #require(timeline.items.first { $0.kind == .allocationEnded })
            #expect(handover.workerId == kith.fixture.id(.priya).text)
            #expect(handover.summary == "caseload rebalanced, joint handover visit")
            let note = try #require(timeline.items.first { $0.kind == .handover })
            #expect(note.detail == "Amy likes visits after school." && note.workerId == kith.fixture.id(.sam).text)
            #expect(timeline.items.filter { $0.kind == .allocationStarted }.compactMap(\.workerId).sorted()
                == [kith.fixture.id(.priya).text, kith.fixture.id(.tom).text].sorted())
            #expect(try await kith.request(.get, "/v1/families/\(family.id)", as: .priya).status == .notFound)
        }
    }

    /// Pages of several kinds of entry (each kind is read only as far as a page could take from it) follow one another
    /// as the whole timeline does, with nothing repeated or skipped.
    @Test func timelinePagesNeitherRepeatNorSkip() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            for day in 1...7 {
                let _: Components.Schemas.Contact = try await kith.send(
                    .post, "/v1/families/\(family.id)/contacts", as: .priya,
                    json: ["occurredAt": "2026-10-0\(day)T10:00:00Z", "kind": "phone"], expect: .created)
                if day.isMultiple(of: 2) {
                    let _: Components.Schemas.JudgmentNote = try await kith.send(
                        .post, "/v1/families/\(family.id)/notes", as: .priya, json: ["body": "Note \(day)."], expect: .created)
                }
            }
            let whole: Components.Schemas.TimelinePage = try await kith.send(
                .get, "/v1/families/\(family.id)/timeline?limit=100", as: .priya)
            #expect(whole.items.count == 11 && whole.next == nil)
            var seen: [String] = []
            var after: String?
            repeat {
                let page: Components.Schemas.TimelinePage = try await kith.send(
                    .get, "/v1/families/\(family.id)/timeline?limit=3" + (after.map { "&after=\($0)" } ?? ""), as: .priya)
                seen += page.items.map(\.id)
                after = page.next
            } while after != nil
            #expect(seen == whole.items.map(\.id))
        }
    }

    @Test func personFieldsCarryVersionsAndAStaleEditChangesNothing() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let nan: Components.Schemas.Person = try await kith.send(
                .post, "/v1/families/\(family.id)/people", as: .priya, json: ["name": "Nan"], expect: .created)
            #expect(nan.fieldVersions.additionalProperties["phone"] == 0)
            let first: Components.Schemas.Person = try await kith.send(
                .patch, "/v1/people/\(nan.id)", as: .priya, json: ["fields": ["phone": Edit(value: "07700 900001", baseVersion: 0)]])
            #expect(first.contact.phone == "07700 900001" && first.fieldVersions.additionalProperties["phone"] == 1)
            // Another field edited from the old read does not conflict.
            let other: Components.Schemas.Person = try await kith.send(
                .patch, "/v1/people/\(nan.id)", as: .sam, json: ["fields": ["language": Edit(value: "Welsh", baseVersion: 0)]])
            #expect(other.language == "Welsh" && other.contact.phone == "07700 900001")

            let stale = try await kith.request(
                .patch, "/v1/people/\(nan.id)", as: .sam, json: ["fields": ["phone": Edit(value: "07700 900002", baseVersion: 0)]])
            #expect(stale.status == .conflict)
            let problem = try kith.problem(stale)
            #expect(problem.code == "version_conflict" && problem.errors?.map(\.field) == ["phone"])
            let people: ItemList<Components.Schemas.Person> = try await kith.send(.get, "/v1/families/\(family.id)/people", as: .priya)
            #expect(people.items.first?.contact.phone == "07700 900001")
        }
    }

    @Test func aConferenceMovesThroughItsStagesAndThePlanBelongsToTheNetwork() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let nan: Components.Schemas.Person = try await kith.send(
                .post, "/v1/families/\(family.id)/people", as: .priya, json: ["name": "Nan"], expect: .created)
            let conference: Components.Schemas.Conference = try await kith.send(
                .post, "/v1/families/\(family.id)/conferences", as: .priya,
                json: Components.Schemas.CreateConference(
                    referral: .init(referrerId: kith.fixture.id(.priya).text, reason: "Family asked", familyAgreed: true,
                                    bottomLines: ["Amy attends school"]),
                    coordinatorId: kith.fixture.id(.chris).text),
                expect: .created)
            #expect(conference.stage == .referred && conference.stages.count == 1)
            let held: Components.Schemas.Conference = try await kith.send(
                .post, "/v1/conferences/\(conference.id)/stage", as: .priya, json: ["stage": "conferenceHeld", "on": "2026-11-01"])
            #expect(held.stage == .conferenceHeld && held.stageSince == "2026-11-01" && held.stages.count == 2)
            let withTime: Components.Schemas.Conference = try await kith.send(
                .put, "/v1/conferences/\(conference.id)/private-family-time", as: .priya,
                json: Components.Schemas.PrivateFamilyTime(startedAt: Date(timeIntervalSinceNow: -7200), endedAt: Date(timeIntervalSinceNow: -3600)))
            #expect(withTime.privateFamilyTime?.endedAt != nil)
            let invited: Components.Schemas.Conference = try await kith.send(
                .post, "/v1/conferences/\(conference.id)/participants", as: .priya,
                json: Components.Schemas.SetParticipant(personId: nan.id, invited: true, attended: true))
            #expect(invited.participants.count == 1 && invited.participants[0].attended)

            let plan: Components.Schemas.FamilyPlan = try await kith.send(
                .post, "/v1/conferences/\(conference.id)/plans", as: .priya,
                json: Components.Schemas.CreatePlan(
                    items: [.init(who: nan.id, what: "Nan collects Amy on Mondays"), .init(who: kith.fixture.id(.priya).text, what: "Check in fortnightly")],
                    reviewOn: "2027-02-01", agreedByReferrer: true),
                expect: .created)
            #expect(plan.version == 1 && plan.items.map(\.whoKind) == [.person, .worker])
            let update: Components.Schemas.PlanItemUpdate = try await kith.send(
                .post, "/v1/plan-items/\(plan.items[0].id)/updates", as: .priya, json: ["text": "Going well", "status": "done"], expect: .created)
            #expect(update.status == .done)
            let second: Components.Schemas.FamilyPlan = try await kith.send(
                .post, "/v1/conferences/\(conference.id)/plans", as: .priya,
                json: Components.Schemas.CreatePlan(items: [.init(who: nan.id, what: "Nan collects Amy on Mondays and Fridays")], agreedByReferrer: true),
                expect: .created)
            #expect(second.version == 2)
            let plans: ItemList<Components.Schemas.FamilyPlan> = try await kith.send(.get, "/v1/conferences/\(conference.id)/plans", as: .priya)
            #expect(plans.items.map(\.version) == [2, 1])
            #expect(plans.items[1].items[0].status == .done && plans.items[1].items[0].updates.map(\.text) == ["Going well"])

            let stranger = try await kith.request(
                .post, "/v1/conferences/\(conference.id)/plans", as: .priya,
                json: Components.Schemas.CreatePlan(items: [.init(who: UUID().text, what: "x")], agreedByReferrer: true))
            #expect(stranger.status == .badRequest)
        }
    }

    @Test func everyWriteAppearsInTheChangeLogWithItsFamilyAndOrganisation() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let person: Components.Schemas.Person = try await kith.send(
                .post, "/v1/families/\(family.id)/people", as: .priya, json: ["name": "Amy"], expect: .created)
            let contact: Components.Schemas.Contact = try await kith.send(
                .post, "/v1/families/\(family.id)/contacts", as: .priya, json: ["occurredAt": "2026-11-20T10:00:00Z", "kind": "phone"], expect: .created)
            let note: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(family.id)/notes", as: .priya, json: ["body": "x", "audience": "family"], expect: .created)
            let conference: Components.Schemas.Conference = try await kith.send(
                .post, "/v1/families/\(family.id)/conferences", as: .priya,
                json: Components.Schemas.CreateConference(referral: .init(referrerId: kith.fixture.id(.priya).text, reason: "r", familyAgreed: true, bottomLines: [])),
                expect: .created)
            let plan: Components.Schemas.FamilyPlan = try await kith.send(
                .post, "/v1/conferences/\(conference.id)/plans", as: .priya,
                json: Components.Schemas.CreatePlan(items: [.init(who: person.id, what: "w")], agreedByReferrer: true), expect: .created)
            let _: Components.Schemas.PlanItemUpdate = try await kith.send(
                .post, "/v1/plan-items/\(plan.items[0].id)/updates", as: .priya, json: ["text": "t"], expect: .created)

            var logged: [String: Set<String>] = [:]
            let rows = try await kith.db.query(
                """
                SELECT entity, entity_id, family_id, organisation_id, xid::text::bigint > 0 FROM sync_changes
                """, logger: TestDatabase.logger)
            for try await (entity, id, familyId, organisation, stamped) in rows.decode((String, UUID, UUID?, UUID, Bool).self) {
                #expect(familyId?.text == family.id)
                #expect(organisation == kith.fixture.organisation)
                #expect(stamped)
                logged[entity, default: []].insert(id.text)
            }
            #expect(logged["family"] == [family.id])
            #expect(logged["person"] == [person.id])
            #expect(logged["contact"] == [contact.id])
            #expect(logged["note"] == [note.id])
            #expect(logged["conference"] == [conference.id])
            // A plan's items and their progress are logged as the plan that holds them (migration 0009).
            #expect(logged["plan"] == [plan.id])
            #expect(logged["planItem"] == nil && logged["planItemUpdate"] == nil)
            #expect(logged["allocation"]?.count == 1)
        }
    }

    @Test func theExportHoldsEveryRevisionAndTheAudit() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let note: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(family.id)/notes", as: .priya, json: ["body": "first", "audience": "restricted"], expect: .created)
            let _: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/notes/\(note.id)/amendments", as: .priya,
                json: ["supersedes": note.current.id, "body": "second", "reason": "detail"], expect: .created)
            let _: Components.Schemas.BreakGlassGrant = try await kith.send(
                .post, "/v1/families/\(family.id)/access", as: .tom, json: ["reason": "Out of hours call from the police"], expect: .created)

            let export: Components.Schemas.FamilyExport = try await kith.send(.get, "/v1/families/\(family.id)/export", as: .sam)
            #expect(export.family.id == family.id)
            #expect(export.notes.count == 1)
            #expect(export.notes[0].note.revisions.map(\.body) == ["first", "second"])
            #expect(export.notes[0].redactionSuggested)
            #expect(export.audit.contains { $0.action == .breakGlass && $0.reason == "Out of hours call from the police" })
            #expect(export.audit.contains { $0.action == .export && $0.workerId == kith.fixture.id(.sam).text })
            #expect(export.audit.filter { $0.action == .write }.count >= 3)
            #expect(try await kith.request(.get, "/v1/families/\(family.id)/export", as: .tom).status == .forbidden)
        }
    }
}

struct Edit: Encodable { var value: String?; var baseVersion: Int }

struct ItemList<Item: Decodable>: Decodable { var items: [Item] }
