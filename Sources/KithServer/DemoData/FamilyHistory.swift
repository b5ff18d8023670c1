import Foundation
import KithCore

/// One demo family's history from the day it was opened: its network, its workers over time, visits and notes,
/// and for about half of the families a conference with a plan.
enum FamilyHistory {
    static func generate(number: Int, years: Int, today: CalendarDay, staff: Staff, random: inout SplitMix64, into batch: inout Batch) {
        let familyId = random.uuid()
        let team = number % 2 == 1 ? 0 : 1
        let surname = Names.surnames[(number - 1) % Names.surnames.count]
        let practitioners = staff.practitioners(team: team)
        let opened = today.adding(days: -random.int(30...(years * 365)))
        let closed: CalendarDay? = random.chance(0.15) && today - opened > 240
            ? opened.adding(days: random.int(180...(today - opened - 30))) : nil
        let end = closed ?? today

        batch.families.add([
            "id": familyId.text, "team_id": staff.teams[team].id.text,
            "display_name": "The \(surname) family" + (number > Names.surnames.count ? " (\(number))" : ""),
            "reference": String(format: "FGC-%05d", number),
            "reason_for_involvement": random.pick(Names.reasons),
            "status": closed == nil ? "open" : "closed", "opened_on": opened.text, "closed_on": closed?.text,
            "created_by": staff.coordinator(team: team).id.text, "created_at": opened.at(hour: 9).text,
        ])

        // The network: one or two children in focus, their parents, and wider family or friends.
        var people: [(id: UUID, name: String, child: Bool)] = []
        let childCount = random.chance(0.4) ? 2 : 1
        for index in 0..<(childCount + random.int(2...4)) {
            let child = index < childCount
            let first = child ? Names.children[random.int(0...(Names.children.count - 1))] : random.pick(Names.first)
            let relationship = child ? "child" : random.pick(Names.relationships)
            let id = random.uuid()
            people.append((id, first, child))
            batch.people.add([
                "id": id.text, "family_id": familyId.text, "name": child || random.chance(0.5) ? "\(first) \(surname)" : first,
                "relationship_to_child": relationship, "is_child_in_focus": String(child),
                "date_of_birth": child ? today.adding(days: -random.int(2 * 365...15 * 365)).text : nil,
                "phone": !child && random.chance(0.6) ? "07700 9\(random.int(10000...99999))" : nil,
                "language": random.chance(0.15) ? random.pick(["Polish", "Urdu", "Somali", "Romanian", "Welsh"]) : nil,
                "interpreter_needed": String(random.chance(0.08)), "created_by": staff.coordinator(team: team).id.text,
            ])
        }
        let childName = people[0].name

        // Allocated workers over time: most families keep one, some see two, three or four.
        let changes = [0, 0, 0, 0, 0, 1, 1, 1, 2, 3][random.int(0...9)]
        // Most changes of worker fall in the last year, where supervision looks.
        var boundaries = (0..<changes).map { _ in
            let earliest = random.chance(0.7) ? max(1, end - opened - 365) : 1
            return opened.adding(days: random.int(earliest...max(earliest, end - opened - 1)))
        }.sorted()
        boundaries.append(end)
        var spans: [(worker: Staff.Worker, from: CalendarDay, to: CalendarDay)] = []
        var from = opened
        var previous: Staff.Worker?
        for boundary in boundaries where boundary > from || boundary == end {
            var worker = random.pick(practitioners)
            while practitioners.count > 1, worker.id == previous?.id { worker = random.pick(practitioners) }
            spans.append((worker, from, max(boundary, from)))
            previous = worker
            from = max(boundary, from)
        }
        for (index, span) in spans.enumerated() {
            let last = index == spans.count - 1
            let ended = !last || closed != nil
            let next = last ? nil : spans[index + 1].worker
            let allocationId = random.uuid()
            // The outgoing worker writes the handover on their last day.
            let handover = next != nil && random.chance(0.6)
                ? "For \(next!.name): \(childName) responds best to visits after school. \(random.pick(Names.handovers))" : nil
            let writtenAt = span.to.at(hour: 16, minute: 0).text
            batch.allocations.add([
                "id": allocationId.text, "family_id": familyId.text, "worker_id": span.worker.id.text, "role": "allocatedWorker",
                "started_on": span.from.text, "ended_on": ended ? span.to.text : nil,
                "end_reason": ended ? (last ? "family's involvement closed" : random.pick(Names.endReasons)) : nil,
                "handover_note": handover, "handover_written_by": handover.map { _ in span.worker.id.text },
                "handover_written_at": handover.map { _ in writtenAt },
                "joint_handover_visit": ended ? String(next != nil && random.chance(0.4)) : nil,
                "created_by": staff.workers.first { $0.role == "supervisor" && $0.team == team }!.id.text,
            ])
            if let handover {
                batch.handovers.add([
                    "id": random.uuid().text, "allocation_id": allocationId.text, "family_id": familyId.text, "version": "1",
                    "note": handover, "written_by": span.worker.id.text, "written_at": writtenAt,
                ])
            }
        }
        func worker(on day: CalendarDay) -> Staff.Worker {
            spans.last { $0.from <= day }?.worker ?? spans[0].worker
        }

        // Visits and other contacts, with judgment notes for most of them. Some open families are drifting: nobody has
        // been in touch for one to three months.
        let lastContact = closed == nil && random.chance(0.15) ? end.adding(days: -random.int(35...90)) : end
        var day = opened.adding(days: random.int(1...7))
        while day <= lastContact {
            let author = worker(on: day)
            let contactId = random.uuid()
            let kind = random.pick(["homeVisit", "homeVisit", "homeVisit", "phone", "phone", "video", "school", "office"])
            let occurred = day.at(hour: random.int(9...17), minute: random.pick([0, 15, 30, 45]))
            let recorded = min(occurred.addingTimeInterval(TimeInterval(random.int(0...(random.chance(0.8) ? 24 : 96)) * 3600 + 1800)), Date())
            let seen = (kind == "homeVisit" || kind == "school") && random.chance(0.8)
            batch.contacts.add([
                "id": contactId.text, "family_id": familyId.text, "occurred_at": occurred.text,
                "duration_minutes": String(random.pick([20, 30, 45, 60, 90])), "kind": kind,
                "location": kind == "homeVisit" ? "family home" : kind == "school" ? "school" : nil,
                "child_seen": String(seen), "child_seen_alone": String(seen && random.chance(0.4)),
                "recorded_by": author.id.text, "recorded_at": recorded.text,
            ])
            for person in people where random.chance(0.4) {
                batch.contactPeople.add(["contact_id": contactId.text, "person_id": person.id.text])
            }
            if random.chance(0.05), let peer = practitioners.first(where: { $0.id != author.id }) {
                batch.contactWorkers.add(["contact_id": contactId.text, "worker_id": author.id.text])
                batch.contactWorkers.add(["contact_id": contactId.text, "worker_id": peer.id.text])
            }
            if random.chance(0.6) {
                addNote(family: familyId, contact: contactId, author: author, at: recorded, child: childName, random: &random, into: &batch)
            }
            day = day.adding(days: random.int(5...35))
        }

        if random.chance(0.5) {
            addConference(family: familyId, team: team, opened: opened, end: end, people: people, staff: staff,
                          referrer: worker(on: opened), random: &random, into: &batch)
        }
    }

    static func addNote(family: UUID, contact: UUID, author: Staff.Worker, at: Date, child: String, random: inout SplitMix64, into batch: inout Batch) {
        let noteId = random.uuid()
        let audience = random.chance(0.05) ? "restricted" : random.chance(0.15) ? "family" : "professional"
        batch.notes.add([
            "id": noteId.text, "family_id": family.text, "contact_id": contact.text, "audience": audience,
            "written_with_family": String(random.chance(0.2)), "author_id": author.id.text, "created_at": at.text,
        ])
        let original = random.uuid()
        let sections = random.chance(0.7)
        let observed = random.pick(Names.observed).replacingOccurrences(of: "{child}", with: child)
        batch.revisions.add([
            "id": original.text, "note_id": noteId.text, "family_id": family.text, "number": "1", "supersedes": nil,
            "body": observed + " " + random.pick(Names.analysis),
            "observed": sections ? observed : nil, "analysis": sections ? random.pick(Names.analysis) : nil,
            "decision": sections ? random.pick(Names.decisions) : nil,
            "family_words": sections && random.chance(0.6) ? random.pick(Names.familyWords) : nil,
            "next_steps": sections ? random.pick(Names.nextSteps) : nil, "reason": nil,
            "author_id": author.id.text, "created_at": at.text,
        ])
        if random.chance(0.08) {
            let later = min(at.addingTimeInterval(TimeInterval(random.int(2...72) * 3600)), Date())
            batch.revisions.add([
                "id": random.uuid().text, "note_id": noteId.text, "family_id": family.text, "number": "2",
                "supersedes": original.text, "body": observed + " " + random.pick(Names.analysis) + " (corrected)",
                "observed": nil, "analysis": nil, "decision": nil, "family_words": nil, "next_steps": nil,
                "reason": random.pick(Names.amendReasons), "author_id": author.id.text, "created_at": later.text,
            ])
        }
    }

    static func addConference(
        family: UUID, team: Int, opened: CalendarDay, end: CalendarDay, people: [(id: UUID, name: String, child: Bool)], staff: Staff,
        referrer: Staff.Worker, random: inout SplitMix64, into batch: inout Batch
    ) {
        let coordinator = staff.coordinator(team: team)
        let conferenceId = random.uuid()
        let referred = opened.adding(days: random.int(5...40))
        guard referred <= end else { return }
        let dates: [(String, CalendarDay)] = [
            ("referred", referred), ("preparing", referred.adding(days: random.int(5...14))),
            ("conferenceHeld", referred.adding(days: random.int(28...45))),
        ]
        var reached = dates.filter { $0.1 <= end }
        let held = dates[2].1
        if held <= end {
            reached.append(("planAgreed", held))
            if held.adding(days: 90) <= end { reached.append(("reviewing", held.adding(days: 90))) }
        }
        let stage = reached.last!
        batch.conferences.add([
            "id": conferenceId.text, "family_id": family.text, "referrer_id": referrer.id.text,
            "referral_reason": "The family asked for help to plan how \(people[0].name) can stay safely at home.",
            "family_agreed": "true",
            "bottom_lines": "{\"\(people[0].name) attends school every day\",\"No contact with the ex-partner at home\"}",
            "coordinator_id": coordinator.id.text, "stage": stage.0, "stage_since": stage.1.text, "referred_on": referred.text,
            "created_by": referrer.id.text,
        ])
        batch.coordinators.add([
            "id": random.uuid().text, "conference_id": conferenceId.text, "family_id": family.text,
            "coordinator_id": coordinator.id.text, "from_on": referred.text, "changed_by": referrer.id.text,
        ])
        for (kind, day) in [("initial", held), ("review", held.adding(days: 90))] where day <= end {
            batch.meetings.add([
                "id": random.uuid().text, "conference_id": conferenceId.text, "family_id": family.text, "kind": kind,
                "held_on": day.text, "private_time_started_at": day.at(hour: 11).text,
                "private_time_ended_at": day.at(hour: 12, minute: 30).text, "recorded_by": coordinator.id.text,
            ])
        }
        for (name, day) in reached {
            batch.stages.add([
                "id": random.uuid().text, "conference_id": conferenceId.text, "family_id": family.text, "stage": name,
                "on_date": day.text, "recorded_by": coordinator.id.text, "recorded_at": day.at(hour: 16).text,
            ])
        }
        for person in people where !person.child {
            batch.participants.add([
                "id": random.uuid().text, "conference_id": conferenceId.text, "family_id": family.text,
                "person_id": person.id.text, "worker_id": nil, "invited": "true", "attended": String(held <= end && random.chance(0.85)),
            ])
        }
        guard held <= end else { return }
        let planId = random.uuid()
        batch.plans.add([
            "id": planId.text, "conference_id": conferenceId.text, "family_id": family.text, "version": "1",
            "contingency": "If the plan is not working, \(people.last!.name) will call the coordinator and a review will be arranged.",
            // Most plans were reviewed and have their next review ahead; some reviews are overdue.
            "review_on": max(held.adding(days: 28), end.adding(days: random.chance(0.7) ? random.int(7...90) : -random.int(1...60))).text,
            "agreed_by_referrer": "true", "created_by": coordinator.id.text,
            "created_at": held.at(hour: 15).text,
        ])
        for (position, what) in Names.planItems.shuffled(using: &random).prefix(random.int(3...5)).enumerated() {
            let itemId = random.uuid()
            let who = people.filter { !$0.child }.randomElement(using: &random) ?? people[0]
            batch.planItems.add([
                "id": itemId.text, "plan_id": planId.text, "family_id": family.text, "position": String(position + 1),
                "person_id": who.id.text, "worker_id": nil,
                "what": what.replacingOccurrences(of: "{child}", with: people[0].name),
                "by_when": random.chance(0.5) ? held.adding(days: random.int(14...60)).text : nil,
            ])
            var updateDay = held.adding(days: random.int(7...30))
            while updateDay <= end, random.chance(0.7) {
                batch.planUpdates.add([
                    "id": random.uuid().text, "plan_item_id": itemId.text, "family_id": family.text,
                    "text": random.pick(Names.progress), "status": random.chance(0.3) ? "done" : nil,
                    "author_id": coordinator.id.text, "created_at": updateDay.at(hour: 14).text,
                ])
                updateDay = updateDay.adding(days: random.int(14...45))
            }
        }
    }
}

enum Names {
    static let surnames = ["Adeyemi", "Brennan", "Campbell", "Davies", "Evans", "Fletcher", "Ghosh", "Hughes", "Iqbal",
                           "Jones", "Kaur", "Lewis", "Morgan", "Nowak", "O'Neill", "Patel", "Quinn", "Roberts", "Singh",
                           "Thomas", "Usman", "Vaughan", "Williams", "Yilmaz", "Zielinski", "Ahmed", "Baker", "Clarke"]
    static let first = ["Aisha", "Ben", "Carla", "Darren", "Elena", "Femi", "Gemma", "Hassan", "Irene", "Jamal", "Karen",
                        "Liam", "Maria", "Nathan", "Olga", "Paul", "Rosa", "Steve", "Tanya", "Victor"]
    static let children = ["Amy", "Leo", "Maya", "Noah", "Zara", "Kai", "Ruby", "Theo", "Isla", "Yusuf", "Mia", "Finn"]
    static let relationships = ["mum", "dad", "nan", "grandad", "aunt", "uncle", "mum's partner", "family friend",
                                "neighbour who helps with school runs", "older sister", "godmother"]
    static let reasons = [
        "Worries about neglect raised by school; family want support to make their own plan.",
        "Mum's mental health and the children's school attendance.",
        "Domestic abuse in the past; family network wants to keep the children safe at home.",
        "Kinship care arrangement with grandparents needs a plan the family owns.",
        "Young carer responsibilities affecting school; family asked for a conference.",
    ]
    static let endReasons = ["caseload rebalanced", "worker moved to another team", "worker on long-term leave",
                             "worker left the service"]
    static let handovers = ["Dad prefers phone contact before visits.", "Nan is the key support and should be involved.",
                            "School have been very helpful; contact the head of year.", "The family plan review is due soon."]
    static let observed = [
        "{child} was playing in the living room and showed me a drawing.",
        "The house was warm and tidy; {child} had breakfast before school.",
        "{child} was quiet at first but chatted once we went for a walk.",
        "Mum was tired but engaged; {child} sat with her throughout.",
        "{child} was at nan's house; both seemed relaxed.",
    ]
    static let analysis = [
        "I think the family plan is holding and the network is doing what they agreed.",
        "Things seem more stretched this week; the school run is the pressure point.",
        "I think the worries from the referral are reducing.",
        "The relationship between mum and nan is the strength here.",
    ]
    static let decisions = ["Carry on with fortnightly visits.", "Ask the coordinator to arrange a review.",
                            "No change to the plan for now; I'll check in by phone next week.",
                            "Talk to school about a breakfast club place."]
    static let familyWords = ["\"We're getting there, one day at a time.\"", "\"Nan has been a lifesaver.\"",
                              "\"I want to do this myself, with my family.\"", "\"It's better when it's the same worker.\""]
    static let nextSteps = ["Visit again in two weeks.", "Phone mum on Friday.", "Share the plan with school.",
                            "Meet nan and mum together next time."]
    static let amendReasons = ["Corrected who was present", "Wrong date for the school meeting", "Added what mum said at the door",
                               "Moved third-party information to a restricted note"]
    static let planItems = ["Nan collects {child} from school on Mondays and Wednesdays",
                            "Mum attends the parenting group on Thursday mornings",
                            "Uncle takes {child} to football on Saturdays",
                            "The family meet monthly to check how the plan is going",
                            "Mum calls nan if she is struggling in the evening",
                            "Dad has contact every other weekend at nan's house"]
    static let progress = ["Going well, nan has not missed a day.", "Missed two weeks because of illness, back on track now.",
                           "The family say this is the part that helps most.", "Harder than expected; talk about it at review."]
}
