import Foundation
import KithCore
import Logging
import PostgresNIO

/// A believable demo organisation: two teams, their supervisors, practitioners and coordinators, and families with
/// networks and years of history (visits, notes with amendments, reallocations with and without handover notes and
/// joint visits, conferences and plans with progress). The same seed gives the same organisation on a given day;
/// history is laid out backwards from today so that "days since last contact" reads naturally.
public struct DemoOrganisation: Sendable {
    /// Every demo worker signs in with this password.
    public static let password = "kith-demo-password"

    let families: Int
    let years: Int
    let seed: UInt64

    public init(families: Int = 24, years: Int = 3, seed: UInt64 = 1) {
        self.families = max(1, families)
        self.years = max(1, years)
        self.seed = seed
    }

    public func load(into db: PostgresClient, logger: Logger) async throws -> String {
        var random = SplitMix64(seed: seed)
        let organisation = random.uuid()
        // Loaded behind the same wall as the server's own writes, so it works whoever DATABASE_URL names.
        let exists = try await db.withTransaction(logger: logger) { connection in
            try await connection.enterWall(organisation: organisation, logger: logger)
            return try await connection.query("SELECT count(*) FROM organisations WHERE id = \(organisation)", logger: logger)
                .decode(Int.self).first { _ in true } ?? 0
        }
        if exists > 0 { return "The demo organisation for seed \(seed) is already loaded.\n" + Self.logins }

        let hash = try await Passwords.hash(Self.password)
        let staff = Staff(organisation: organisation, random: &random, families: families)
        try await db.withTransaction(logger: logger) { connection in
            try await connection.enterWall(organisation: organisation, logger: logger)
            try await connection.query(
                "INSERT INTO organisations (id, name) VALUES (\(organisation), 'Riverside Family Group Conference Service')",
                logger: logger)
            try await staff.insert(into: connection, passwordHash: hash, logger: logger)
        }

        let today = CalendarDay.today
        var written = Counts()
        var index = 0
        while index < families {
            var batch = Batch(organisation: organisation)
            if index == 0 { ShowcaseFamily.add(today: today, staff: staff, into: &batch) }
            for _ in 0..<min(250, families - index) {
                index += 1
                FamilyHistory.generate(number: index, years: years, today: today, staff: staff, random: &random, into: &batch)
            }
            try await db.withTransaction(logger: logger) { connection in
                try await connection.enterWall(organisation: organisation, logger: logger)
                try await batch.insert(into: connection, logger: logger)
            }
            written.add(batch)
        }
        return """
            Loaded the demo organisation: \(staff.workers.count) workers in 2 teams, \(families) families and the \
            Whitfields (\(ShowcaseFamily.reference), Priya's, for trying Kith by hand), \(written.contacts) contacts, \
            \(written.notes) notes, \(written.allocations) allocations.

            """ + Self.logins
    }

    static let logins = """
        Sign in with password '\(password)' as:
          priya@kith.demo   practitioner, North team
          sam@kith.demo     supervisor, North team
          chris@kith.demo   FGC coordinator, North team
          admin@kith.demo   administrator
          ig@kith.demo      information governance (subject access requests, retention)
          records@kith.demo information governance (a second officer, to approve a disposal)
          admin2@kith.demo  administrator (a second one, to approve a study of practice)
        """

    struct Counts {
        var contacts = 0, notes = 0, allocations = 0
        mutating func add(_ batch: Batch) {
            contacts += batch.contacts.count
            notes += batch.notes.count
            allocations += batch.allocations.count
        }
    }
}

/// The organisation's teams and workers.
struct Staff {
    struct Worker {
        let id: UUID
        let name: String
        let email: String
        let role: String
        let team: Int?
    }

    let organisation: UUID
    let teams: [(id: UUID, name: String)]
    var workers: [Worker] = []

    init(organisation: UUID, random: inout SplitMix64, families: Int) {
        self.organisation = organisation
        teams = [(random.uuid(), "North team"), (random.uuid(), "South team")]
        func add(_ name: String, _ email: String, _ role: String, _ team: Int?, _ random: inout SplitMix64) {
            workers.append(Worker(id: random.uuid(), name: name, email: email, role: role, team: team))
        }
        add("Alex Morgan", "admin@kith.demo", "admin", nil, &random)
        add("Sam Okafor", "sam@kith.demo", "supervisor", 0, &random)
        add("Ruth Evans", "ruth@kith.demo", "supervisor", 1, &random)
        add("Chris Doyle", "chris@kith.demo", "coordinator", 0, &random)
        add("Mei Lin", "mei@kith.demo", "coordinator", 1, &random)
        let named = [("Priya Shah", "priya"), ("Dan Kowalski", "dan"), ("Tom Walsh", "tom"), ("Leah Byrne", "leah"),
                     ("Grace Mensah", "grace"), ("Omar Haddad", "omar")]
        for (index, (name, email)) in named.enumerated() { add(name, "\(email)@kith.demo", "practitioner", index % 2, &random) }
        // Large organisations for benchmarks keep caseloads near twenty families a practitioner.
        let more = max(0, families / 20 - named.count)
        for number in 0..<more {
            let name = "\(Names.first[number % Names.first.count]) \(Names.surnames[(number / Names.first.count) % Names.surnames.count])"
            add(name, "worker\(number + 1)@kith.demo", "practitioner", number % 2, &random)
        }
        add("Ines Okoro", "ig@kith.demo", "informationGovernance", nil, &random)
        add("Olu Adebayo", "records@kith.demo", "informationGovernance", nil, &random)
        add("Nia Pritchard", "admin2@kith.demo", "admin", nil, &random)
    }

    func practitioners(team: Int) -> [Worker] { workers.filter { $0.role == "practitioner" && $0.team == team } }
    func coordinator(team: Int) -> Worker { workers.first { $0.role == "coordinator" && $0.team == team }! }

    func insert(into connection: PostgresConnection, passwordHash: String, logger: Logger) async throws {
        for team in teams {
            try await connection.query(
                "INSERT INTO teams (organisation_id, id, name) VALUES (\(organisation), \(team.id), \(team.name))", logger: logger)
        }
        let today = CalendarDay.today
        var rows = Table("workers", ["organisation_id": "uuid", "id": "uuid", "name": "text", "email": "text",
                                     "password_hash": "text", "roles": "text[]", "started_on": "date"])
        var members = Table("team_members", ["organisation_id": "uuid", "team_id": "uuid", "worker_id": "uuid"])
        for worker in workers {
            rows.add(["organisation_id": organisation.text, "id": worker.id.text, "name": worker.name, "email": worker.email,
                      "password_hash": passwordHash, "roles": "{\(worker.role)}", "started_on": today.adding(days: -6 * 365).text])
            if let team = worker.team {
                members.add(["organisation_id": organisation.text, "team_id": teams[team].id.text, "worker_id": worker.id.text])
            }
        }
        try await rows.insert(into: connection, logger: logger)
        try await members.insert(into: connection, logger: logger)
    }
}

/// Rows for a batch of families, one multi-row insert per table.
struct Batch {
    var families: Table
    var people: Table
    var allocations: Table
    var handovers: Table
    var contacts: Table
    var contactPeople: Table
    var contactWorkers: Table
    var notes: Table
    var revisions: Table
    var conferences: Table
    var coordinators: Table
    var meetings: Table
    var stages: Table
    var participants: Table
    var plans: Table
    var planItems: Table
    var planUpdates: Table

    init(organisation: UUID) {
        families = Table("families", ["id": "uuid", "team_id": "uuid", "display_name": "text", "reference": "text",
                                      "reason_for_involvement": "text", "status": "text", "opened_on": "date",
                                      "closed_on": "date", "created_by": "uuid", "created_at": "timestamptz"], organisation)
        people = Table("people", ["id": "uuid", "family_id": "uuid", "name": "text", "relationship_to_child": "text",
                                  "is_child_in_focus": "boolean", "date_of_birth": "date", "phone": "text", "language": "text",
                                  "interpreter_needed": "boolean", "created_by": "uuid"], organisation)
        allocations = Table("allocations", ["id": "uuid", "family_id": "uuid", "worker_id": "uuid", "role": "text",
                                            "started_on": "date", "ended_on": "date", "end_reason": "text",
                                            "handover_note": "text", "joint_handover_visit": "boolean",
                                            "handover_written_by": "uuid", "handover_written_at": "timestamptz",
                                            "created_by": "uuid"], organisation)
        handovers = Table("handover_notes", ["id": "uuid", "allocation_id": "uuid", "family_id": "uuid", "version": "integer",
                                             "note": "text", "written_by": "uuid", "written_at": "timestamptz"], organisation)
        contacts = Table("contacts", ["id": "uuid", "family_id": "uuid", "occurred_at": "timestamptz", "duration_minutes": "integer",
                                      "kind": "text", "location": "text", "child_seen": "boolean", "child_seen_alone": "boolean",
                                      "recorded_by": "uuid", "recorded_at": "timestamptz"], organisation)
        contactPeople = Table("contact_people", ["contact_id": "uuid", "person_id": "uuid"], organisation)
        contactWorkers = Table("contact_workers", ["contact_id": "uuid", "worker_id": "uuid"], organisation)
        notes = Table("notes", ["id": "uuid", "family_id": "uuid", "contact_id": "uuid", "audience": "text",
                                "written_with_family": "boolean", "author_id": "uuid", "created_at": "timestamptz"], organisation)
        revisions = Table("note_revisions", ["id": "uuid", "note_id": "uuid", "family_id": "uuid", "number": "integer",
                                             "supersedes": "uuid", "body": "text", "observed": "text", "analysis": "text",
                                             "decision": "text", "family_words": "text", "next_steps": "text", "reason": "text",
                                             "author_id": "uuid", "created_at": "timestamptz"], organisation)
        conferences = Table("conferences", ["id": "uuid", "family_id": "uuid", "referrer_id": "uuid", "referral_reason": "text",
                                            "family_agreed": "boolean", "bottom_lines": "text[]", "coordinator_id": "uuid",
                                            "stage": "text", "stage_since": "date", "referred_on": "date",
                                            "referrer_name": "text", "referrer_agency": "text", "created_by": "uuid"], organisation)
        coordinators = Table("conference_coordinators", ["id": "uuid", "conference_id": "uuid", "family_id": "uuid",
                                                         "coordinator_id": "uuid", "from_on": "date", "changed_by": "uuid"], organisation)
        meetings = Table("conference_meetings", ["id": "uuid", "conference_id": "uuid", "family_id": "uuid", "kind": "text",
                                                 "held_on": "date", "private_time_started_at": "timestamptz",
                                                 "private_time_ended_at": "timestamptz", "recorded_by": "uuid"], organisation)
        stages = Table("conference_stage_events", ["id": "uuid", "conference_id": "uuid", "family_id": "uuid", "stage": "text",
                                                   "on_date": "date", "recorded_by": "uuid", "recorded_at": "timestamptz"], organisation)
        participants = Table("conference_participants", ["id": "uuid", "conference_id": "uuid", "family_id": "uuid",
                                                         "person_id": "uuid", "worker_id": "uuid", "invited": "boolean",
                                                         "attended": "boolean"], organisation)
        plans = Table("family_plans", ["id": "uuid", "conference_id": "uuid", "family_id": "uuid", "version": "integer",
                                       "contingency": "text", "review_on": "date", "agreed_by_referrer": "boolean",
                                       "created_by": "uuid", "created_at": "timestamptz"], organisation)
        planItems = Table("plan_items", ["id": "uuid", "plan_id": "uuid", "family_id": "uuid", "position": "integer",
                                         "person_id": "uuid", "worker_id": "uuid", "what": "text", "by_when": "date"], organisation)
        planUpdates = Table("plan_item_updates", ["id": "uuid", "plan_item_id": "uuid", "family_id": "uuid", "text": "text",
                                                  "status": "text", "author_id": "uuid", "created_at": "timestamptz"], organisation)
    }

    /// In foreign-key order.
    func insert(into connection: PostgresConnection, logger: Logger) async throws {
        for table in [families, people, allocations, handovers, contacts, contactPeople, contactWorkers, notes, revisions, conferences,
                      coordinators, stages, participants, meetings, plans, planItems, planUpdates] {
            try await table.insert(into: connection, logger: logger)
        }
    }
}

/// Rows of one table as text columns, written with a single `INSERT … SELECT … FROM unnest(…)`: one round trip
/// and one statement per table per batch, whatever the number of rows.
struct Table {
    let name: String
    let columns: [(name: String, type: String)]
    private(set) var values: [[String]]
    private let organisation: UUID?
    private static let null = "\u{1F}null"

    init(_ name: String, _ columns: KeyValuePairs<String, String>, _ organisation: UUID? = nil) {
        self.name = name
        self.organisation = organisation
        self.columns = columns.map { ($0.key, $0.value) }
        self.values = Array(repeating: [], count: columns.count)
    }

    var count: Int { values.first?.count ?? 0 }

    mutating func add(_ row: [String: String?]) {
        for (index, column) in columns.enumerated() {
            values[index].append((row[column.name] ?? nil) ?? Self.null)
        }
    }

    func insert(into connection: PostgresConnection, logger: Logger) async throws {
        guard count > 0 else { return }
        var names = columns.map(\.name)
        var selects = columns.enumerated().map { "nullif(c\($0.offset), '\(Self.null)')::\($0.element.type)" }
        if let organisation {
            names.insert("organisation_id", at: 0)
            selects.insert("'\(organisation.text)'::uuid", at: 0)
        }
        let inputs = columns.indices.map { "$\($0 + 1)::text[]" }.joined(separator: ", ")
        let aliases = columns.indices.map { "c\($0)" }.joined(separator: ", ")
        var binds = PostgresBindings(capacity: columns.count)
        for column in values { binds.append(column) }
        // Only names and types from this file make up the statement; every value is a bind.
        let sql = "INSERT INTO \(name) (\(names.joined(separator: ", "))) SELECT \(selects.joined(separator: ", ")) FROM unnest(\(inputs)) AS t(\(aliases))"
        try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }
}

/// A deterministic random source (SplitMix64), so a seed always gives the same organisation.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func uuid() -> UUID {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &self) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &self) < probability }
    mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &self)] }
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
}

extension Date {
    var text: String { formatted(.iso8601) }
}
