import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import KithCore
import Logging
import PostgresNIO
import Testing
@testable import KithServer

/// Continuity measured on hand-built histories whose answers were worked out by hand.
///
/// The Adeyemi family (North team, opened 2024-07-01) had four allocated workers:
///   Ruth  2024-07-01 … 2025-06-30 (ended exactly 365 days before 2026-06-30)
///   Priya 2025-07-01 … 2025-09-30, handover note, no joint visit recorded but Priya and Tom visited together on 2025-09-29
///   Tom   2025-10-01 … 2026-03-31, no note, no joint visit
///   Omar  2026-04-01 … (current)
/// Contacts in the 90 days to 2026-06-30: 04-10 (seen, 2 h lag), 04-24 (26 h), 05-15 (seen, 4 h), 06-20 (1 h);
/// one on 2026-06-28 recorded only on 2026-07-03; one on 2026-03-01 (seen, outside the window).
/// A conference was held on 2026-02-20; its plan's review date, 2026-05-20, has passed.
/// The Baker family (North, opened 2024-01-01) has had Priya throughout.
@Suite struct ContinuityTests {
    struct History {
        let adeyemi: UUID
        let baker: UUID
    }

    func build(_ kith: Kith) async throws -> History {
        let org = kith.fixture.organisation, north = kith.fixture.north
        let adeyemi = UUID(), baker = UUID()
        let (ruth, priya, tom, omar) = (kith.fixture.id(.ruth), kith.fixture.id(.priya), kith.fixture.id(.tom), kith.fixture.id(.omar))
        try await kith.db.withTransaction(logger: TestDatabase.logger) { db in
            let logger = TestDatabase.logger
            try await db.query(
                """
                INSERT INTO families (organisation_id, id, team_id, display_name, opened_on, created_by, created_at)
                VALUES (\(org), \(adeyemi), \(north), 'The Adeyemi family', '2024-07-01', \(priya), '2024-07-01'),
                       (\(org), \(baker), \(north), 'The Baker family', '2024-01-01', \(priya), '2024-01-01')
                """, logger: logger)
            let allocations: [(UUID, UUID, String, String?, String?, Bool?)] = [
                (adeyemi, ruth, "2024-07-01", "2025-06-30", nil, nil),
                (adeyemi, priya, "2025-07-01", "2025-09-30", "Amy likes visits after school.", false),
                (adeyemi, tom, "2025-10-01", "2026-03-31", nil, nil),
                (adeyemi, omar, "2026-04-01", nil, nil, nil),
                (baker, priya, "2024-01-01", nil, nil, nil),
            ]
            for (family, worker, started, ended, note, joint) in allocations {
                try await db.query(
                    """
                    INSERT INTO allocations (organisation_id, id, family_id, worker_id, role, started_on, ended_on, end_reason,
                                             handover_note, joint_handover_visit, created_by, created_at)
                    VALUES (\(org), \(UUID()), \(family), \(worker), 'allocatedWorker', \(started)::date, \(ended)::date,
                            CASE WHEN \(ended)::date IS NOT NULL THEN 'reallocated' END, \(note), \(joint), \(priya), \(started)::date)
                    """, logger: logger)
            }
            // (occurred, hours until recorded, child seen, workers present)
            let contacts: [(String, Double, Bool, [UUID])] = [
                ("2025-09-29T10:00:00Z", 1, false, [priya, tom]),
                ("2026-03-01T10:00:00Z", 100, true, [tom]),
                ("2026-04-10T10:00:00Z", 2, true, []),
                ("2026-04-24T10:00:00Z", 26, false, []),
                ("2026-05-15T10:00:00Z", 4, true, []),
                ("2026-06-20T10:00:00Z", 1, false, []),
                ("2026-06-28T10:00:00Z", 5 * 24, true, []),
            ]
            for (occurred, lag, seen, workers) in contacts {
                let id = UUID()
                try await db.query(
                    """
                    INSERT INTO contacts (organisation_id, id, family_id, occurred_at, kind, child_seen, recorded_by, recorded_at)
                    VALUES (\(org), \(id), \(adeyemi), \(occurred)::timestamptz, 'homeVisit', \(seen), \(omar),
                            \(occurred)::timestamptz + make_interval(secs => \(lag * 3600)))
                    """, logger: logger)
                for worker in workers {
                    try await db.query(
                        "INSERT INTO contact_workers (organisation_id, contact_id, worker_id) VALUES (\(org), \(id), \(worker))", logger: logger)
                }
            }
            let conference = UUID()
            try await db.query(
                """
                INSERT INTO conferences (organisation_id, id, family_id, referrer_id, referral_reason, family_agreed, stage,
                                         stage_since, created_by, created_at)
                VALUES (\(org), \(conference), \(adeyemi), \(tom), 'Family asked', true, 'conferenceHeld', '2026-02-20', \(tom), '2026-01-10')
                """, logger: logger)
            try await db.query(
                """
                INSERT INTO conference_stage_events (organisation_id, id, conference_id, family_id, stage, on_date, recorded_by, recorded_at)
                VALUES (\(org), \(UUID()), \(conference), \(adeyemi), 'referred', '2026-01-10', \(tom), '2026-01-10'),
                       (\(org), \(UUID()), \(conference), \(adeyemi), 'conferenceHeld', '2026-02-20', \(tom), '2026-02-20')
                """, logger: logger)
            try await db.query(
                """
                INSERT INTO family_plans (organisation_id, id, conference_id, family_id, version, review_on, agreed_by_referrer,
                                          created_by, created_at)
                VALUES (\(org), \(UUID()), \(conference), \(adeyemi), 1, '2026-05-20', true, \(tom), '2026-02-20')
                """, logger: logger)
        }
        return History(adeyemi: adeyemi, baker: baker)
    }

    @Test func aFamilysMeasuresMatchTheHandCount() async throws {
        try await Kith.run { kith in
            let history = try await build(kith)
            let c: Components.Schemas.FamilyContinuity = try await kith.send(
                .get, "/v1/continuity/families/\(history.adeyemi)?asOf=2026-06-30", as: .sam)
            #expect(c.asOf == "2026-06-30")
            #expect(c.currentWorkers.map(\.workerId) == [kith.fixture.id(.omar).text])
            #expect(c.currentWorkers.map(\.tenureDays) == [90])
            #expect(c.distinctAllocatedWorkers365 == 3)
            #expect(c.handovers365.total == 2 && c.handovers365.withNote == 1 && c.handovers365.withJointVisit == 1)
            #expect(c.daysSinceLastContact == 10)
            #expect(c.daysSinceChildSeen == 46)
            #expect(c.medianContactGapDays90 == 21)
            #expect(c.medianRecordingLagHours90 == 3)
            #expect(c.fgcStage == "conferenceHeld" && c.daysInStage == 130)
            #expect(c.planReviewPassed == true)
            let raised = Dictionary(uniqueKeysWithValues: c.signals.map { ($0.measure, $0.raised) })
            #expect(raised == ["daysSinceLastContact": false, "daysSinceChildSeen": true, "planReviewPassed": true,
                               "distinctAllocatedWorkers365": true, "workerLeft": false])

            // Every figure traces back to records.
            let evidence = try #require(c.evidence)
            #expect(evidence.handovers365.map(\.outgoingWorkerId) == [kith.fixture.id(.priya).text, kith.fixture.id(.tom).text])
            #expect(evidence.handovers365.map(\.incomingWorkerId) == [kith.fixture.id(.tom).text, kith.fixture.id(.omar).text])
            #expect(evidence.handovers365.map(\.endedOn) == ["2025-09-30", "2026-03-31"])
            #expect(evidence.handovers365.map(\.withNote) == [true, false])
            #expect(evidence.handovers365.map(\.withJointVisit) == [true, false])
            func contact(_ occurred: String) async throws -> String {
                try await kith.db.query("SELECT id FROM contacts WHERE occurred_at = \(occurred)::timestamptz", logger: TestDatabase.logger)
                    .decode(UUID.self).first { _ in true }!.text
            }
            #expect(evidence.lastContactId == (try await contact("2026-06-20T10:00:00Z")))
            #expect(evidence.lastChildSeenContactId == (try await contact("2026-05-15T10:00:00Z")))
            #expect(evidence.contactIds90.count == 4)
            #expect(evidence.stageConferenceId != nil && evidence.reviewPlanId != nil)
        }
    }

    @Test func stagesRecordedAtOneMomentCountInTheProcesssOrder() async throws {
        try await Kith.run { kith in
            let history = try await build(kith)
            // A stage written later with the same day and the same moment as "conferenceHeld" (as one transaction
            // would write them) is not the family's stage if the process puts it earlier.
            try await kith.db.query(
                """
                INSERT INTO conference_stage_events (organisation_id, id, conference_id, family_id, stage, on_date, recorded_by, recorded_at)
                SELECT organisation_id, \(UUID()), conference_id, family_id, 'preparing', on_date, recorded_by, recorded_at
                FROM conference_stage_events WHERE family_id = \(history.adeyemi) AND stage = 'conferenceHeld'
                """, logger: TestDatabase.logger)
            let c: Components.Schemas.FamilyContinuity = try await kith.send(
                .get, "/v1/continuity/families/\(history.adeyemi)?asOf=2026-06-30", as: .sam)
            #expect(c.fgcStage == "conferenceHeld" && c.daysInStage == 130)
        }
    }

    @Test func anAllocationThatEndedExactly365DaysAgoIsOutsideTheYear() async throws {
        try await Kith.run { kith in
            let history = try await build(kith)
            let dayBefore: Components.Schemas.FamilyContinuity = try await kith.send(
                .get, "/v1/continuity/families/\(history.adeyemi)?asOf=2026-06-29", as: .sam)
            #expect(dayBefore.distinctAllocatedWorkers365 == 4)
            #expect(dayBefore.handovers365.total == 3)
            let onTheDay: Components.Schemas.FamilyContinuity = try await kith.send(
                .get, "/v1/continuity/families/\(history.adeyemi)?asOf=2026-06-30", as: .sam)
            #expect(onTheDay.distinctAllocatedWorkers365 == 3)
        }
    }

    @Test func aPastDayShowsWhatASupervisorWouldHaveSeenThen() async throws {
        try await Kith.run { kith in
            let history = try await build(kith)
            // The visit of 2026-06-28 was only recorded on 2026-07-03.
            let then: Components.Schemas.FamilyContinuity = try await kith.send(
                .get, "/v1/continuity/families/\(history.adeyemi)?asOf=2026-07-01", as: .sam)
            #expect(then.daysSinceLastContact == 11)
            let later: Components.Schemas.FamilyContinuity = try await kith.send(
                .get, "/v1/continuity/families/\(history.adeyemi)?asOf=2026-07-03", as: .sam)
            #expect(later.daysSinceLastContact == 5 && later.daysSinceChildSeen == 5)
            // Before the conference, there was no stage and no plan.
            let early: Components.Schemas.FamilyContinuity = try await kith.send(
                .get, "/v1/continuity/families/\(history.adeyemi)?asOf=2025-12-31", as: .sam)
            #expect(early.fgcStage == nil && early.planReviewPassed == nil)
            #expect(early.currentWorkers.map(\.workerId) == [kith.fixture.id(.tom).text])
        }
    }

    @Test func changingAThresholdChangesTheSignalButNotTheMeasure() async throws {
        try await Kith.run { kith in
            let history = try await build(kith)
            let path = "/v1/continuity/families/\(history.adeyemi)?asOf=2026-06-30"
            let before: Components.Schemas.FamilyContinuity = try await kith.send(.get, path, as: .sam)
            let settings = Components.Schemas.SignalSettings(noContactDays: 7, childNotSeenDays: 60, planReviewOverdueDays: 45, workerChanges365: 4)
            #expect(try await kith.request(.put, "/v1/teams/\(kith.fixture.north)/signal-settings", as: .priya, json: settings).status == .forbidden)
            let saved: Components.Schemas.SignalSettings = try await kith.send(.put, "/v1/teams/\(kith.fixture.north)/signal-settings", as: .sam, json: settings)
            #expect(saved == settings)
            let read: Components.Schemas.SignalSettings = try await kith.send(.get, "/v1/teams/\(kith.fixture.north)/signal-settings", as: .priya)
            #expect(read == settings)

            let after: Components.Schemas.FamilyContinuity = try await kith.send(.get, path, as: .sam)
            #expect(after.daysSinceLastContact == before.daysSinceLastContact && after.daysSinceChildSeen == before.daysSinceChildSeen)
            #expect(after.distinctAllocatedWorkers365 == before.distinctAllocatedWorkers365)
            let raised = Dictionary(uniqueKeysWithValues: after.signals.map { ($0.measure, $0.raised) })
            #expect(raised == ["daysSinceLastContact": true, "daysSinceChildSeen": false, "planReviewPassed": false,
                               "distinctAllocatedWorkers365": false, "workerLeft": false])
            #expect(after.signals.map(\.threshold) == [7, 60, 45, 4, 0])
            // A raised signal blocks nothing: the current worker records a visit as always.
            let visit = try await kith.request(
                .post, "/v1/families/\(history.adeyemi)/contacts", as: .omar, json: ["occurredAt": "2026-07-01T10:00:00Z", "kind": "phone"])
            #expect(visit.status == .created)
        }
    }

    @Test func aWorkersHandoversInAndOut() async throws {
        try await Kith.run { kith in
            _ = try await build(kith)
            let tom: Components.Schemas.WorkerContinuity = try await kith.send(
                .get, "/v1/continuity/workers/\(kith.fixture.id(.tom))?asOf=2026-06-30", as: .sam)
            #expect(tom.caseload == 0 && tom.handoversIn365 == 1 && tom.handoversOut365 == 1)
            let priya: Components.Schemas.WorkerContinuity = try await kith.send(
                .get, "/v1/continuity/workers/\(kith.fixture.id(.priya))?asOf=2026-06-30", as: .priya)
            #expect(priya.caseload == 1 && priya.allocations.map(\.tenureDays) == [911])
            #expect(priya.handoversIn365 == 0 && priya.handoversOut365 == 1)
            let priyaEarlier: Components.Schemas.WorkerContinuity = try await kith.send(
                .get, "/v1/continuity/workers/\(kith.fixture.id(.priya))?asOf=2026-06-29", as: .priya)
            #expect(priyaEarlier.handoversIn365 == 1)
            // Another practitioner's figures are not for a practitioner; another team's supervisor sees nothing either.
            #expect(try await kith.request(.get, "/v1/continuity/workers/\(kith.fixture.id(.tom))", as: .priya).status == .notFound)
            #expect(try await kith.request(.get, "/v1/continuity/workers/\(kith.fixture.id(.tom))", as: .ruth).status == .notFound)
        }
    }

    @Test func aTeamsFiguresWorkedOutByHand() async throws {
        try await Kith.run { kith in
            let history = try await build(kith)
            let team: Components.Schemas.TeamContinuity = try await kith.send(
                .get, "/v1/continuity/teams/\(kith.fixture.north)?asOf=2026-06-30", as: .sam)
            // Both families open at least a year; Baker kept one worker, Adeyemi had three.
            #expect(team.keptOneWorkerShare == 0.5)
            // Two handovers over two family-years.
            #expect(team.workerChangesPerFamilyYear == 1.0)
            #expect(team.familiesWithThreeOrMoreWorkers365 == [history.adeyemi.text])
            #expect(team.families.map(\.familyId) == [history.adeyemi.text, history.baker.text])
            #expect(try await kith.request(.get, "/v1/continuity/teams/\(kith.fixture.north)", as: .priya).status == .notFound)
            #expect(try await kith.request(.get, "/v1/continuity/teams/\(kith.fixture.north)", as: .ruth).status == .notFound)
            let audited = try await kith.count("SELECT count(DISTINCT family_id) FROM audit_events WHERE entity = 'continuity'")
            #expect(audited == 2)
        }
    }

    @Test func recordingLagIsTheWorkersAndFinishedConferencesAndLeavingWorkersAreShownAsTheyAre() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let path = "/v1/continuity/families/\(family.id)"
            // Written on the tablet two hours after the visit, synced eight hours later: the lag is the worker's two.
            // A tablet whose clock runs an hour ahead of the server's is left out rather than believed.
            let device = try await FieldDevice.register(kith, as: .priya)
            let now = Date()
            let visit = Components.Schemas.CreateContact(id: UUID().text, occurredAt: now.addingTimeInterval(-10 * 3600), kind: .homeVisit)
            let skewed = Components.Schemas.CreateContact(id: UUID().text, occurredAt: now.addingTimeInterval(-5 * 3600), kind: .phone)
            let pushed = try await device.push([
                Mutation.mutation(1, .recordContact(familyId: family.id, visit), recordedAt: now.addingTimeInterval(-8 * 3600)),
                Mutation.mutation(2, .recordContact(familyId: family.id, skewed), recordedAt: now.addingTimeInterval(3600)),
            ])
            #expect(pushed.results.map(\.status) == [.applied, .applied])
            var measures: Components.Schemas.FamilyContinuity = try await kith.send(.get, path, as: .sam)
            #expect(measures.medianRecordingLagHours90.map { ($0 * 10).rounded() / 10 } == 2)

            // A plan whose review date has passed is overdue while its conference runs, and not once it is closed.
            try await kith.allocate(.chris, to: family, role: .coordinator)
            let conference: Components.Schemas.Conference = try await kith.send(
                .post, "/v1/families/\(family.id)/conferences", as: .chris,
                json: Components.Schemas.CreateConference(
                    referral: .init(referrerId: kith.fixture.id(.priya).text, reason: "School worried", familyAgreed: true, bottomLines: [])),
                expect: .created)
            let _: Components.Schemas.FamilyPlan = try await kith.send(
                .post, "/v1/conferences/\(conference.id)/plans", as: .chris,
                json: Components.Schemas.CreatePlan(items: [], reviewOn: CalendarDay.today.adding(days: -3).text, agreedByReferrer: true),
                expect: .created)
            measures = try await kith.send(.get, path, as: .sam)
            #expect(measures.planReviewPassed == true)
            let _: Components.Schemas.Conference = try await kith.send(
                .post, "/v1/conferences/\(conference.id)/stage", as: .chris, json: ["stage": "closed", "on": CalendarDay.today.text])
            measures = try await kith.send(.get, path, as: .sam)
            #expect(measures.planReviewPassed == nil)
            #expect(measures.signals.first { $0.measure == "planReviewPassed" }?.raised == false)

            // Priya is leaving: the family is flagged until someone else holds it.
            func workerLeft() async throws -> Bool? {
                let measures: Components.Schemas.FamilyContinuity = try await kith.send(.get, path, as: .sam)
                return measures.signals.first { $0.measure == "workerLeft" }?.raised
            }
            #expect(try await workerLeft() == false)
            let _: Components.Schemas.Worker = try await kith.send(
                .patch, "/v1/workers/\(kith.fixture.id(.priya))", as: .alex, json: ["leftOn": CalendarDay.today.adding(days: 14).text])
            #expect(try await workerLeft() == true)
            let allocations: ItemList<Components.Schemas.Allocation> = try await kith.send(
                .get, "/v1/families/\(family.id)/allocations", as: .sam)
            let priyas = try #require(allocations.items.first { $0.workerId == kith.fixture.id(.priya).text })
            let _: Components.Schemas.Allocation = try await kith.send(
                .post, "/v1/allocations/\(priyas.id)/end", as: .sam, json: ["endedOn": CalendarDay.today.text, "reason": "leaving"])
            try await kith.allocate(.tom, to: family)
            #expect(try await workerLeft() == false)
        }
    }

    @Test func familyContinuityFollowsAccessToTheFamily() async throws {
        try await Kith.run { kith in
            let history = try await build(kith)
            #expect(try await kith.request(.get, "/v1/continuity/families/\(history.adeyemi)", as: .omar).status == .ok)
            #expect(try await kith.request(.get, "/v1/continuity/families/\(history.adeyemi)", as: .tom).status == .notFound)
            #expect(try await kith.request(.get, "/v1/continuity/families/\(history.adeyemi)?asOf=someday", as: .sam).status == .badRequest)
        }
    }
}

@Suite struct SupervisionTests {
    @Test func sessionsAreForTheWorkerAndTheirSupervisorsOnly() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily(by: .tom)
            let session: Components.Schemas.SupervisionSession = try await kith.send(
                .post, "/v1/supervision-sessions", as: .sam,
                json: Components.Schemas.CreateSupervisionSession(
                    workerId: kith.fixture.id(.tom).text, heldOn: "2026-11-20", familyIds: [family.id],
                    notes: "Talked about how tiring the Adeyemi visits are; agreed a joint visit with Priya."),
                expect: .created)
            #expect(session.familyIds == [family.id] && session.supervisorId == kith.fixture.id(.sam).text)

            let path = "/v1/supervision-sessions?workerId=\(kith.fixture.id(.tom))"
            for who in [Fixture.Who.tom, .sam] {
                let list: ItemList<Components.Schemas.SupervisionSession> = try await kith.send(.get, path, as: who)
                #expect(list.items.map(\.notes) == [session.notes])
            }
            for who in [Fixture.Who.priya, .ruth, .alex, .zed] {
                #expect(try await kith.request(.get, path, as: who).status == .notFound, "\(who)")
            }
            // Only supervisors record sessions, only with their own teams' workers and families.
            #expect(try await kith.request(
                .post, "/v1/supervision-sessions", as: .priya,
                json: Components.Schemas.CreateSupervisionSession(workerId: kith.fixture.id(.tom).text, heldOn: "2026-11-20", familyIds: [], notes: "x")
            ).status == .forbidden)
            #expect(try await kith.request(
                .post, "/v1/supervision-sessions", as: .ruth,
                json: Components.Schemas.CreateSupervisionSession(workerId: kith.fixture.id(.tom).text, heldOn: "2026-11-20", familyIds: [], notes: "x")
            ).status == .notFound)
            let audit: Components.Schemas.AuditPage = try await kith.send(.get, "/v1/families/\(family.id)/audit", as: .sam)
            #expect(audit.items.contains { $0.entity == "supervisionSession" && $0.action == .write })
        }
    }

    /// Tom works in North and South: Sam's session with him in North is not Ruth's to read in South, and Ruth's in
    /// South is not Sam's. A supervisor of both teams says which team a session belongs to.
    @Test func aSessionStaysInTheTeamItWasRecordedIn() async throws {
        try await Kith.run { kith in
            let organisation = kith.fixture.organisation
            try await kith.db.query(
                "INSERT INTO team_members (organisation_id, team_id, worker_id) VALUES (\(organisation), \(kith.fixture.south), \(kith.fixture.id(.tom)))",
                logger: TestDatabase.logger)
            let tom = kith.fixture.id(.tom).text
            func record(as who: Fixture.Who, team: UUID? = nil, notes: String) async throws -> TestResponse {
                try await kith.request(.post, "/v1/supervision-sessions", as: who, json: Components.Schemas.CreateSupervisionSession(
                    workerId: tom, heldOn: "2026-11-20", familyIds: [], notes: notes, teamId: team?.text))
            }
            #expect(try await record(as: .sam, notes: "North: the Adeyemi visits").status == .created)
            #expect(try await record(as: .ruth, notes: "South: his second caseload").status == .created)
            let path = "/v1/supervision-sessions?workerId=\(tom)"
            func notes(_ who: Fixture.Who) async throws -> [String] {
                let list: ItemList<Components.Schemas.SupervisionSession> = try await kith.send(.get, path, as: who)
                return list.items.map(\.notes).sorted()
            }
            #expect(try await notes(.sam) == ["North: the Adeyemi visits"])
            #expect(try await notes(.ruth) == ["South: his second caseload"])
            #expect(try await notes(.tom) == ["North: the Adeyemi visits", "South: his second caseload"])

            // Sam supervises South too now: his sessions with Tom must say which team.
            try await kith.db.query(
                "INSERT INTO team_members (organisation_id, team_id, worker_id) VALUES (\(organisation), \(kith.fixture.south), \(kith.fixture.id(.sam)))",
                logger: TestDatabase.logger)
            let unsaid = try await record(as: .sam, notes: "Which team?")
            #expect(unsaid.status == .badRequest)
            #expect(try kith.problem(unsaid).errors?.map(\.field) == ["teamId"])
        }
    }
}
