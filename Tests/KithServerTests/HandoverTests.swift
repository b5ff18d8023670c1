import Foundation
import KithAPI
import KithCore
import Testing
@testable import KithServer

/// Handovers owned by the people in them: the outgoing worker writes the note on their own allocation, the incoming
/// worker is told and reads it, and a joint visit is evident from who was recorded at a contact.
@Suite struct HandoverTests {
    typealias Allocation = Components.Schemas.Allocation

    static func priyasAllocation(_ kith: Kith, of family: Components.Schemas.Family) async throws -> Allocation {
        let allocations: ItemList<Allocation> = try await kith.send(.get, "/v1/families/\(family.id)/allocations", as: .sam)
        return try #require(allocations.items.first { $0.workerId == kith.fixture.id(.priya).text && $0.endedOn == nil })
    }

    @Test func theOutgoingWorkerWritesTheHandoverAndTheIncomingWorkerReadsIt() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let priyas = try await Self.priyasAllocation(kith, of: family)
            // A handover visit: Priya records it and names Tom; she is present because she recorded it.
            let visit: Components.Schemas.Contact = try await kith.send(
                .post, "/v1/families/\(family.id)/contacts", as: .priya,
                json: Components.Schemas.CreateContact(
                    occurredAt: Date(timeIntervalSinceNow: -7200), kind: .homeVisit, presentWorkerIds: [kith.fixture.id(.tom).text]),
                expect: .created)
            #expect(Set(visit.presentWorkerIds) == [kith.fixture.id(.priya).text, kith.fixture.id(.tom).text])

            let first: Allocation = try await kith.send(
                .post, "/v1/allocations/\(priyas.id)/handover", as: .priya,
                json: ["note": "Amy opens up in the car, not at home.", "jointVisitContactId": visit.id], expect: .created)
            #expect(first.handoverNote == "Amy opens up in the car, not at home." && first.handoverVersion == 1)
            #expect(first.handoverWrittenBy == kith.fixture.id(.priya).text && first.jointVisitContactId == visit.id)
            // Nobody outside the family's relationships, nor a colleague with no part in it, writes it.
            #expect(try await kith.request(.post, "/v1/allocations/\(priyas.id)/handover", as: .tom, json: ["note": "x"]).status == .notFound)
            #expect(try await kith.request(.post, "/v1/allocations/\(priyas.id)/handover", as: .ruth, json: ["note": "x"]).status == .notFound)

            let second: Allocation = try await kith.send(
                .post, "/v1/allocations/\(priyas.id)/handover", as: .priya,
                json: ["note": "Amy opens up in the car. Nan does the school run on Fridays.", "jointVisitContactId": visit.id],
                expect: .created)
            #expect(second.handoverVersion == 2)
            let versions: ItemList<Components.Schemas.HandoverVersion> = try await kith.send(
                .get, "/v1/allocations/\(priyas.id)/handover", as: .priya)
            #expect(versions.items.map(\.version) == [1, 2])
            #expect(versions.items.first?.note == "Amy opens up in the car, not at home.")

            // Sam reallocates; Tom is told, and reads the newest version in the timeline.
            let _: Allocation = try await kith.send(
                .post, "/v1/allocations/\(priyas.id)/end", as: .sam, json: ["endedOn": CalendarDay.today.text, "reason": "moved team"])
            try await kith.allocate(.tom, to: family)
            let queue: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: .tom)
            let toRead = try #require(queue.items.first { $0.kind == .handover })
            #expect(toRead.familyId == family.id && toRead.summary == "A handover note from Priya Shah to read")
            #expect(toRead.payload?.additionalProperties.value["allocationId"] as? String == priyas.id)

            let timeline: Components.Schemas.TimelinePage = try await kith.send(.get, "/v1/families/\(family.id)/timeline", as: .tom)
            let handovers = timeline.items.filter { $0.kind == .handover }
            #expect(handovers.count == 2)
            #expect(handovers.first?.detail == "Amy opens up in the car. Nan does the school run on Fridays.")
            #expect(handovers.first?.summary == "handover note, version 2, after a joint visit")
            #expect(handovers.first?.workerId == kith.fixture.id(.priya).text)

            // The joint visit counts for continuity, from who was recorded at the contact.
            let continuity: Components.Schemas.FamilyContinuity = try await kith.send(
                .get, "/v1/continuity/families/\(family.id)", as: .sam)
            #expect(continuity.handovers365.total == 1 && continuity.handovers365.withNote == 1)
            #expect(continuity.handovers365.withJointVisit == 1)

            // Acknowledged, it leaves Tom's queue; Priya, no longer allocated, cannot write it now.
            let _: Components.Schemas.ReviewItem = try await kith.send(
                .post, "/v1/review-items/\(toRead.id)/resolve", as: .tom, json: ["action": "accept"])
            let after: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: .tom)
            #expect(!after.items.contains { $0.kind == .handover })
            #expect(try await kith.request(.post, "/v1/allocations/\(priyas.id)/handover", as: .priya, json: ["note": "x"]).status == .notFound)
            #expect(try await kith.count("SELECT count(*) FROM audit_events WHERE entity = 'handover' AND action = 'write'") == 2)
        }
    }

    @Test func aSupervisorsNoteOnEndingKeepsTheWorkersEarlierVersion() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let priyas = try await Self.priyasAllocation(kith, of: family)
            // Tom is allocated first (a planned change): he is told as soon as Priya writes.
            try await kith.allocate(.tom, to: family)
            let _: Allocation = try await kith.send(
                .post, "/v1/allocations/\(priyas.id)/handover", as: .priya, json: ["note": "Priya's words."], expect: .created)
            let ended: Allocation = try await kith.send(
                .post, "/v1/allocations/\(priyas.id)/end", as: .sam,
                json: ["endedOn": CalendarDay.today.text, "reason": "moved team", "handoverNote": "Sam adds: dad is back home."])
            #expect(ended.handoverNote == "Sam adds: dad is back home." && ended.handoverVersion == 2)
            #expect(ended.handoverWrittenBy == kith.fixture.id(.sam).text)
            let versions: ItemList<Components.Schemas.HandoverVersion> = try await kith.send(
                .get, "/v1/allocations/\(priyas.id)/handover", as: .tom)
            #expect(versions.items.map(\.writtenBy) == [kith.fixture.id(.priya).text, kith.fixture.id(.sam).text])
            let export: Components.Schemas.FamilyExport = try await kith.send(.get, "/v1/families/\(family.id)/export", as: .sam)
            #expect(export.handovers.map(\.note) == ["Priya's words.", "Sam adds: dad is back home."])
            // One item to read, however many versions.
            #expect(try await kith.count("SELECT count(*) FROM review_items WHERE kind = 'handover' AND status = 'open'") == 1)
        }
    }

    @Test func aSupervisorReallocatesInOneStep() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let body: [String: String] = ["toWorkerId": kith.fixture.id(.tom).text, "reason": "Priya moves to the South team",
                                          "handoverNote": "Sam's summary for Tom."]
            #expect(try await kith.request(.post, "/v1/families/\(family.id)/reallocation", as: .priya, json: body).status == .forbidden)
            let moved: Components.Schemas.Reallocation = try await kith.send(
                .post, "/v1/families/\(family.id)/reallocation", as: .sam, json: body, expect: .created)
            #expect(moved.ended.workerId == kith.fixture.id(.priya).text && moved.ended.endedOn == CalendarDay.today.text)
            #expect(moved.ended.handoverNote == "Sam's summary for Tom.")
            #expect(moved.started.workerId == kith.fixture.id(.tom).text && moved.started.role == .allocatedWorker)
            let queue: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: .tom)
            #expect(queue.items.filter { $0.kind == .handover }.count == 1)
            // Nothing to end in a role nobody holds: nothing changes.
            let none = try await kith.request(
                .post, "/v1/families/\(family.id)/reallocation", as: .sam,
                json: ["toWorkerId": kith.fixture.id(.chris).text, "reason": "x", "role": "coordinator"])
            #expect(none.status == .conflict)
            // An incoming worker who cannot be allocated undoes the whole step.
            let admin = try await kith.request(
                .post, "/v1/families/\(family.id)/reallocation", as: .sam,
                json: ["toWorkerId": kith.fixture.id(.alex).text, "reason": "x"])
            #expect(admin.status == .badRequest)
            #expect(try await kith.count("SELECT count(*) FROM allocations WHERE ended_on IS NULL AND role = 'allocatedWorker'") == 1)
        }
    }

    @Test func aHandoverThatIsNotWellFormedChangesNothing() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let priyas = try await Self.priyasAllocation(kith, of: family)
            // Sam records a call he made without Priya: she was not there, so it is no joint visit of hers.
            let call: Components.Schemas.Contact = try await kith.send(
                .post, "/v1/families/\(family.id)/contacts", as: .sam,
                json: ["occurredAt": "2026-11-20T10:00:00Z", "kind": "phone"], expect: .created)
            let notThere = try await kith.request(
                .post, "/v1/allocations/\(priyas.id)/handover", as: .priya, json: ["note": "x", "jointVisitContactId": call.id])
            #expect(notThere.status == .badRequest)
            #expect(String(buffer: notThere.body).contains("jointVisitContactId"))
            let blank = try await kith.request(.post, "/v1/allocations/\(priyas.id)/handover", as: .priya, json: ["note": "   "])
            #expect(blank.status == .badRequest)
            #expect(try await kith.count("SELECT count(*) FROM handover_notes") == 0)
            #expect(try await kith.count("SELECT count(*) FROM allocations WHERE handover_note IS NOT NULL") == 0)
        }
    }

    @Test func aHandoverWrittenOfflineArrivesByPushAndReachesTheIncomingWorker() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let priyas = try await Self.priyasAllocation(kith, of: family)
            let device = try await FieldDevice.register(kith, as: .priya)
            let pages = try await device.pullAll(from: nil).pages
            let grant = try #require(pages.last?.scope.grants.first { $0.familyId == family.id }).grantId
            // Sam ends Priya's allocation and allocates Tom while her tablet is offline.
            let _: Allocation = try await kith.send(
                .post, "/v1/allocations/\(priyas.id)/end", as: .sam, json: ["endedOn": CalendarDay.today.text, "reason": "moved team"])
            try await kith.allocate(.tom, to: family)
            let pushed = try await device.push([
                Mutation.mutation(1, .writeHandover(allocationId: priyas.id, .init(note: "Written on the bus home.")), grant: grant),
            ])
            #expect(pushed.results.first?.status == .applied, "\(pushed.results)")
            let queue: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: .tom)
            #expect(queue.items.contains { $0.kind == .handover })
            let allocation: ItemList<Allocation> = try await kith.send(.get, "/v1/families/\(family.id)/allocations", as: .tom)
            #expect(allocation.items.first { $0.id == priyas.id }?.handoverNote == "Written on the bus home.")
        }
    }

    @Test func whoWasThereIsTheRecorderUnlessSaidOtherwiseAndOthersByNameAndRole() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let onBehalf: Components.Schemas.Contact = try await kith.send(
                .post, "/v1/families/\(family.id)/contacts", as: .priya,
                json: Components.Schemas.CreateContact(
                    occurredAt: Date(timeIntervalSinceNow: -3600), kind: .school, presentWorkerIds: [kith.fixture.id(.tom).text],
                    recorderPresent: false,
                    othersPresent: [.init(name: "Mrs Hughes", role: "head of year"), .init(name: "Ana", role: "interpreter")]),
                expect: .created)
            #expect(onBehalf.presentWorkerIds == [kith.fixture.id(.tom).text])
            #expect(onBehalf.othersPresent?.map(\.role) == ["head of year", "interpreter"])
            let tooMany = try await kith.request(
                .post, "/v1/families/\(family.id)/contacts", as: .priya,
                json: Components.Schemas.CreateContact(
                    occurredAt: Date(), kind: .school, othersPresent: Array(repeating: .init(name: "A", role: "b"), count: 21)))
            #expect(tooMany.status == .badRequest)
            let unnamed = try await kith.request(
                .post, "/v1/families/\(family.id)/contacts", as: .priya,
                json: Components.Schemas.CreateContact(occurredAt: Date(), kind: .school, othersPresent: [.init(name: " ", role: "nurse")]))
            #expect(unnamed.status == .badRequest)
            #expect(try await kith.count("SELECT count(*) FROM contacts") == 1)
        }
    }
}
