import Crypto
import Foundation
import KithAPI
import KithCore
import PostgresNIO

/// A study's pseudonymised extract: one row per family episode (a referral to a conference in the study's span), as
/// CSV. A family and its team are named only by an HMAC-SHA256 of their ids under the study's own key, so one family is
/// one pseudonym within a study and cannot be matched across studies; times are months, never days; everything else is
/// a count, an average, a yes or no, or a practice change's code. No name, date of birth, free text or id leaves here.
struct ResearchExtract: Sendable {
    let key: SymmetricKey
    let fields: [Components.Schemas.ExtractField]
    let episodes: [Episode]

    /// What follows a referral is counted over the year from its day.
    static let windowDays = 365

    /// A study's key: 256 random bits, its own.
    static func newKey() -> Data { SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) } }

    /// One referral and what became of it, read by `episodes`.
    struct Episode: Sendable {
        let familyId: UUID
        let teamId: UUID
        let referredOn: String
        let conferenceOn: String?
        let planOn: String?
        let privateFamilyTime: Bool
        let planAgreed: Bool
        let reviewsHeld: Int
        let workerChanges: Int
        let handovers: Int
        let jointHandovers: Int
        let feedbackAnswers: Int
        let listened: Double?
        let planOwn: Double?
        let workerTalk: Double?
        let frictions: Int
        let frictionsFellOnFamily: Int
        let practiceChanges: [String]

        init(_ row: PostgresRandomAccessRow, codes: [String: String]) throws {
            familyId = try row.decode("family_id")
            teamId = try row.decode("team_id")
            referredOn = try row.decode("referred_on")
            conferenceOn = try row.decode("conference_on")
            planOn = try row.decode("plan_on")
            privateFamilyTime = try row.decode("private_family_time")
            planAgreed = try row.decode("plan_agreed")
            reviewsHeld = try row.decode("reviews_held")
            workerChanges = try row.decode("worker_changes")
            handovers = try row.decode("handovers")
            jointHandovers = try row.decode("joint_handovers")
            feedbackAnswers = try row.decode("feedback_answers")
            listened = try row.decode("listened")
            planOwn = try row.decode("plan_own")
            workerTalk = try row.decode("worker_talk")
            frictions = try row.decode("frictions")
            frictionsFellOnFamily = try row.decode("frictions_fell_on_family")
            practiceChanges = try row.decode("practice_changes", as: [UUID].self).compactMap { codes[$0.text] }
        }
    }

    /// The referrals of the organisation's families made from `from` to `to`, each with what the year after it held.
    static func episodes(organisation: UUID, from: String, to: String) -> PostgresQuery {
        """
        SELECT c.family_id, f.team_id, c.referred_on::text, first.held_on::text AS conference_on,
               coalesce(first.private_time_started_at IS NOT NULL, false) AS private_family_time,
               (SELECT min(p.created_at)::date::text FROM family_plans p
                WHERE p.organisation_id = c.organisation_id AND p.conference_id = c.id) AS plan_on,
               coalesce((SELECT bool_or(p.agreed_by_referrer) FROM family_plans p
                         WHERE p.organisation_id = c.organisation_id AND p.conference_id = c.id), false) AS plan_agreed,
               (SELECT count(*) FROM conference_meetings m
                WHERE m.organisation_id = c.organisation_id AND m.conference_id = c.id AND m.kind = 'review') AS reviews_held,
               (SELECT count(*) FROM allocations a
                WHERE a.organisation_id = c.organisation_id AND a.family_id = c.family_id AND a.role = 'allocatedWorker'
                  AND a.started_on > c.referred_on AND a.started_on <= c.referred_on + \(windowDays)::integer
                  AND EXISTS (SELECT 1 FROM allocations b WHERE b.organisation_id = a.organisation_id AND b.family_id = a.family_id
                                AND b.role = 'allocatedWorker' AND b.started_on < a.started_on)) AS worker_changes,
               (SELECT count(*) FROM allocations a
                WHERE a.organisation_id = c.organisation_id AND a.family_id = c.family_id AND a.role = 'allocatedWorker'
                  AND a.ended_on > c.referred_on AND a.ended_on <= c.referred_on + \(windowDays)::integer) AS handovers,
               (SELECT count(*) FROM allocations a
                WHERE a.organisation_id = c.organisation_id AND a.family_id = c.family_id AND a.role = 'allocatedWorker'
                  AND a.ended_on > c.referred_on AND a.ended_on <= c.referred_on + \(windowDays)::integer
                  AND a.joint_handover_visit) AS joint_handovers,
               verdict.answers AS feedback_answers, verdict.listened, verdict.plan_own, verdict.worker_talk,
               (SELECT count(*) FROM frictions x
                WHERE x.organisation_id = c.organisation_id AND x.family_id = c.family_id AND x.fell_on = 'worker'
                  AND (x.created_at AT TIME ZONE 'UTC')::date BETWEEN c.referred_on AND c.referred_on + \(windowDays)::integer) AS frictions,
               (SELECT count(*) FROM frictions x
                WHERE x.organisation_id = c.organisation_id AND x.family_id = c.family_id AND x.fell_on = 'family'
                  AND (x.created_at AT TIME ZONE 'UTC')::date BETWEEN c.referred_on AND c.referred_on + \(windowDays)::integer)
                   AS frictions_fell_on_family,
               ARRAY(SELECT pc.id FROM practice_changes pc
                     WHERE pc.organisation_id = c.organisation_id AND pc.team_id = f.team_id AND pc.started_on <= c.referred_on
                     ORDER BY pc.created_at, pc.id) AS practice_changes
        FROM conferences c
        JOIN families f ON f.organisation_id = c.organisation_id AND f.id = c.family_id
        LEFT JOIN LATERAL (SELECT m.held_on, m.private_time_started_at FROM conference_meetings m
                           WHERE m.organisation_id = c.organisation_id AND m.conference_id = c.id AND m.kind = 'initial'
                           ORDER BY m.held_on, m.recorded_at LIMIT 1) first ON true
        CROSS JOIN LATERAL (
            SELECT count(*) AS answers,
                   round(avg(g.listened) FILTER (WHERE g.listened > 0), 2)::float8 AS listened,
                   round(avg(g.plan_own) FILTER (WHERE g.plan_own > 0), 2)::float8 AS plan_own,
                   round(avg(g.worker_talk) FILTER (WHERE g.worker_talk > 0), 2)::float8 AS worker_talk
            FROM family_feedback g
            WHERE g.organisation_id = c.organisation_id AND g.family_id = c.family_id
              AND (g.given_at AT TIME ZONE 'UTC')::date BETWEEN c.referred_on AND c.referred_on + \(windowDays)::integer) verdict
        WHERE c.organisation_id = \(organisation) AND c.referred_on BETWEEN \(from)::date AND \(to)::date
        """
    }

    /// A family's or a team's pseudonym in this study.
    func pseudonym(_ what: String, _ id: UUID) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data("\(what):\(id.text)".utf8), using: key)).hex
    }

    /// The rows, each led by its family's pseudonym, ordered by it (so neither the record's order nor its ids show).
    var rows: [[String]] {
        episodes.map { episode in
            [pseudonym("family", episode.familyId)] + fields.map { value(of: $0, episode) }
        }.sorted { $0.lexicographicallyPrecedes($1) }
    }

    var csv: String {
        ([["familyPseudonym"] + fields.map(\.rawValue)] + rows).map { $0.joined(separator: ",") + "\r\n" }.joined()
    }

    var sha256: Data { Data(SHA256.hash(data: Data(csv.utf8))) }

    private func value(of field: Components.Schemas.ExtractField, _ episode: Episode) -> String {
        func month(_ day: String?) -> String { day.map { String($0.prefix(7)) } ?? "" }
        func number(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "" }
        return switch field {
        case .teamPseudonym: pseudonym("team", episode.teamId)
        case .referralMonth: month(episode.referredOn)
        case .conferenceMonth: month(episode.conferenceOn)
        case .planMonth: month(episode.planOn)
        case .daysReferralToConference:
            episode.conferenceOn.flatMap(CalendarDay.init).flatMap { held in CalendarDay(episode.referredOn).map { String(held - $0) } } ?? ""
        case .privateFamilyTime: String(episode.privateFamilyTime)
        case .planAgreed: String(episode.planAgreed)
        case .reviewsHeld: String(episode.reviewsHeld)
        case .workerChanges365: String(episode.workerChanges)
        case .handovers: String(episode.handovers)
        case .handoversWithJointVisit: String(episode.jointHandovers)
        case .feedbackAnswers: String(episode.feedbackAnswers)
        case .feedbackListened: number(episode.listened)
        case .feedbackPlanOwn: number(episode.planOwn)
        case .feedbackWorkerTalk: number(episode.workerTalk)
        case .frictions: String(episode.frictions)
        case .frictionsFellOnFamily: String(episode.frictionsFellOnFamily)
        case .practiceChanges: episode.practiceChanges.joined(separator: ";")
        }
    }
}
