import Foundation
import KithAPI
import KithCore
import PostgresNIO

/// Whose named answers a read is about.
enum FeedbackSelection {
    /// A family's, as part of its record.
    case family(UUID)
    /// The caller's own work.
    case mine
}

extension Records {
    /// Answers the family gave with their names, newest first (at most 200). A worker's read of their own is a read of
    /// each family it shows, audited.
    func namedFeedback(_ selection: FeedbackSelection) async throws -> [Components.Schemas.Feedback] {
        var family: UUID?, worker: UUID?
        switch selection {
        case .family(let id): family = id
        case .mine: worker = principal.workerId
        }
        var answers: [Components.Schemas.Feedback] = []
        for try await row in try await query(
            """
            SELECT id, occasion_kind, family_id, person_id, given_at, listened, plan_own, worker_talk FROM family_feedback
            WHERE organisation_id = \(principal.organisationId) AND family_id IS NOT NULL
              AND (\(family)::uuid IS NULL OR family_id = \(family)) AND (\(worker)::uuid IS NULL OR worker_id = \(worker))
            ORDER BY given_at DESC, id
            LIMIT 200
            """) {
            let row = row.makeRandomAccess()
            answers.append(.init(
                id: try row.decode("id", as: UUID.self).text,
                occasionKind: .init(rawValue: try row.decode("occasion_kind"))!,
                familyId: try row.decode("family_id", as: UUID.self).text, personId: try row.decode("person_id", as: UUID.self).text,
                givenAt: try row.decode("given_at"), listened: try row.decode("listened", as: Int16?.self).map(Int.init),
                planOwn: try row.decode("plan_own", as: Int16?.self).map(Int.init),
                workerTalk: try row.decode("worker_talk", as: Int16?.self).map(Int.init)))
        }
        if case .mine = selection {
            let families = Array(Set(answers.compactMap { UUID(uuidString: $0.familyId) }))
            if !families.isEmpty { try await audit(.read, "feedback", familyIds: families) }
        }
        return answers
    }

    /// What families said about a team's work in the quarters `days` touch, counted with the floor: a figure resting on
    /// fewer than `FamilyVerdict.floor` answers is withheld.
    func teamFeedback(_ teamId: UUID, days: ClosedRange<CalendarDay>) async throws -> Components.Schemas.TeamFeedback {
        let quarters = FamilyVerdict.quarters(days)
        var answers = 0, saidWords = 0
        var byOccasion: [String: Int] = [:]
        var scales: [Components.Schemas.FeedbackQuestion: [Int]] = [:]
        for try await row in try await query(
            """
            SELECT g.occasion_kind, g.listened, g.plan_own, g.worker_talk,
                   EXISTS (SELECT 1 FROM frictions x WHERE x.organisation_id = g.organisation_id AND x.feedback_id = g.id) AS said_words
            FROM family_feedback g
            WHERE g.organisation_id = \(principal.organisationId) AND g.team_id = \(teamId) AND g.quarter = ANY(\(quarters))
            """) {
            let row = row.makeRandomAccess()
            answers += 1
            byOccasion[try row.decode("occasion_kind"), default: 0] += 1
            if try row.decode("said_words", as: Bool.self) { saidWords += 1 }
            for (question, column) in FamilyVerdict.columns {
                if let answer = try row.decode(column, as: Int16?.self) { scales[question, default: []].append(Int(answer)) }
            }
        }
        try await auditAdministration("teamFeedback", recordId: nil, teamIds: [teamId], reason: "read \(quarters.joined(separator: ", "))")
        let (from, to) = (days.lowerBound.description, days.upperBound.description)
        guard answers >= FamilyVerdict.floor else { return .init(teamId: teamId.text, from: from, to: to, tooFew: true, questions: []) }
        let shown = FamilyVerdict.shown
        return .init(
            teamId: teamId.text, from: from, to: to, tooFew: false, answers: answers,
            byOccasion: .init(conference: shown(byOccasion["conference"] ?? 0), review: shown(byOccasion["review"] ?? 0),
                              workerChange: shown(byOccasion["workerChange"] ?? 0)),
            questions: FamilyVerdict.columns.map { question, _ in
                let said = scales[question] ?? []
                let onScale = said.filter { $0 > 0 }
                guard onScale.count >= FamilyVerdict.floor else { return .init(question: question, tooFew: true) }
                return .init(
                    question: question, tooFew: false, answered: onScale.count, ratherNotSay: shown(said.count - onScale.count),
                    average: (Double(onScale.reduce(0, +)) / Double(onScale.count) * 100).rounded() / 100)
            },
            gotInTheWay: shown(saidWords))
    }
}

/// The family's verdict on the service, the rules of it said once.
enum FamilyVerdict {
    /// No figure rests on fewer answers than this.
    static let floor = 5

    /// A count shown as it is when it is none or at least the floor; from 1 to 4 it is left out.
    static func shown(_ count: Int) -> Int? { count == 0 || count >= floor ? count : nil }

    /// The questions and the columns their answers are kept in, in the page's order.
    static let columns: [(Components.Schemas.FeedbackQuestion, String)] = [
        (.listened, "listened"), (.planOwn, "plan_own"), (.workerTalk, "worker_talk"),
    ]

    /// The quarter a day falls in, as answers keep it: `2026-Q4`.
    static func quarter(_ day: CalendarDay) -> String { "\(day.year)-Q\((day.month - 1) / 3 + 1)" }

    /// Every quarter a span of days touches.
    static func quarters(_ days: ClosedRange<CalendarDay>) -> [String] {
        var quarters: [String] = []
        var day = days.lowerBound
        while day <= days.upperBound {
            let quarter = quarter(day)
            if quarters.last != quarter { quarters.append(quarter) }
            day = day.adding(days: 28)
        }
        let last = quarter(days.upperBound)
        if quarters.last != last { quarters.append(last) }
        return quarters
    }
}

extension FamilyVerdict {
    /// What the family is asked about: a conference, a review meeting, or a change of their worker.
    enum OccasionKind: String, Sendable {
        case conference, review, workerChange
    }

    /// One occasion the page asks about, and the worker a named answer is about when it is their arrival.
    struct Occasion: Sendable {
        let kind: OccasionKind
        let id: UUID
        let on: CalendarDay
        let workerId: UUID?
    }

    /// The answers offered for each question, in the page's order: 1 (not at all) to 5 (completely), then 0, rather not say.
    static let scale = [1, 2, 3, 4, 5, 0]

    /// The page asks about an occasion for this many days after it.
    static let askingDays = 90

    /// A person's answers from the page, checked: each on the scale or left out, their words within the page's limit.
    struct Answers: Sendable {
        let occasion: UUID
        let listened: Int?
        let planOwn: Int?
        let workerTalk: Int?
        let words: String?
        let named: Bool

        /// Whether anything was said at all (sending the form empty is declining it).
        var sayAnything: Bool { listened != nil || planOwn != nil || workerTalk != nil || words != nil }
    }
}
