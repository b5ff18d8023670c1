import Foundation
import KithCore

/// One family told the same way every time, for trying Kith by hand (the README's walk-through): the Whitfields, FGC-00000,
/// Priya's family in the North team. Amy lives with her mum Jade; her nan Margaret is the family's strength and has a
/// part in the plan agreed at their conference. Priya has written one note for the family and one for professionals.
enum ShowcaseFamily {
    static let reference = "FGC-00000"

    static func add(today: CalendarDay, staff: Staff, into batch: inout Batch) {
        var random = SplitMix64(seed: 0x5eed_fa11)
        let priya = staff.workers.first { $0.email == "priya@kith.demo" }!
        let coordinator = staff.coordinator(team: 0)
        let supervisor = staff.workers.first { $0.role == "supervisor" && $0.team == 0 }!
        let family = random.uuid()
        let opened = today.adding(days: -120)
        batch.families.add([
            "id": family.text, "team_id": staff.teams[0].id.text, "display_name": "The Whitfield family", "reference": reference,
            "reason_for_involvement": "Amy's school raised worries about her attendance; the family asked for a conference.",
            "status": "open", "opened_on": opened.text, "closed_on": nil, "created_by": coordinator.id.text,
            "created_at": opened.at(hour: 9).text,
        ])
        let amy = random.uuid(), jade = random.uuid(), margaret = random.uuid()
        for (id, name, relationship, child) in [
            (amy, "Amy Whitfield", "child", true), (jade, "Jade Whitfield", "mum", false), (margaret, "Margaret Whitfield", "nan", false),
        ] {
            batch.people.add([
                "id": id.text, "family_id": family.text, "name": name, "relationship_to_child": relationship,
                "is_child_in_focus": String(child), "date_of_birth": child ? today.adding(days: -8 * 365 - 40).text : nil,
                "phone": child ? nil : "07700 900\(random.int(100...999))", "language": nil, "interpreter_needed": "false",
                "created_by": coordinator.id.text,
            ])
        }
        batch.allocations.add([
            "id": random.uuid().text, "family_id": family.text, "worker_id": priya.id.text, "role": "allocatedWorker",
            "started_on": opened.text, "ended_on": nil, "end_reason": nil, "handover_note": nil, "joint_handover_visit": nil,
            "created_by": supervisor.id.text,
        ])

        let visit = today.adding(days: -6)
        let contact = random.uuid()
        batch.contacts.add([
            "id": contact.text, "family_id": family.text, "occurred_at": visit.at(hour: 16).text, "duration_minutes": "60",
            "kind": "homeVisit", "location": "family home", "child_seen": "true", "child_seen_alone": "false",
            "recorded_by": priya.id.text, "recorded_at": visit.at(hour: 18).text,
        ])
        for (audience, body, words) in [
            ("family", "Thank you for having me round on Tuesday. Amy showed me her reading book and the drawing of the three of you. "
                + "We agreed that Margaret will pick Amy up from school on weekdays while Jade starts her new shifts, and that we "
                + "will all look at how it is going at the review.", "\"We want Amy at school every day and happy there.\" (Jade)"),
            ("professional", "Home visit. Amy relaxed and chatty; attendance up to 92% this half term. Jade's new job means late "
                + "shifts; Margaret's school runs are what holds the plan together. No concerns about the home.", nil),
        ] {
            let note = random.uuid()
            batch.notes.add([
                "id": note.text, "family_id": family.text, "contact_id": contact.text, "audience": audience,
                "written_with_family": String(audience == "family"), "author_id": priya.id.text, "created_at": visit.at(hour: 18).text,
            ])
            batch.revisions.add([
                "id": random.uuid().text, "note_id": note.text, "family_id": family.text, "number": "1", "supersedes": nil,
                "body": body, "observed": nil, "analysis": nil, "decision": nil, "family_words": words, "next_steps": nil,
                "reason": nil, "author_id": priya.id.text, "created_at": visit.at(hour: 18).text,
            ])
        }

        let conference = random.uuid()
        let held = opened.adding(days: 45)
        batch.conferences.add([
            "id": conference.text, "family_id": family.text, "referrer_name": "Mrs Hughes, head of year",
            "referrer_agency": "Riverside Primary School",
            "referral_reason": "The family asked for help to plan how Amy gets to school every day.", "family_agreed": "true",
            "bottom_lines": "{\"Amy attends school every day\"}", "coordinator_id": coordinator.id.text, "stage": "planAgreed",
            "stage_since": held.text, "referred_on": opened.adding(days: 5).text, "created_by": priya.id.text,
        ])
        batch.coordinators.add([
            "id": random.uuid().text, "conference_id": conference.text, "family_id": family.text,
            "coordinator_id": coordinator.id.text, "from_on": opened.adding(days: 5).text, "changed_by": priya.id.text,
        ])
        batch.meetings.add([
            "id": random.uuid().text, "conference_id": conference.text, "family_id": family.text, "kind": "initial",
            "held_on": held.text, "private_time_started_at": held.at(hour: 11).text,
            "private_time_ended_at": held.at(hour: 12, minute: 30).text, "recorded_by": coordinator.id.text,
        ])
        for (stage, day) in [("referred", opened.adding(days: 5)), ("preparing", opened.adding(days: 12)),
                             ("conferenceHeld", held), ("planAgreed", held)] {
            batch.stages.add([
                "id": random.uuid().text, "conference_id": conference.text, "family_id": family.text, "stage": stage,
                "on_date": day.text, "recorded_by": coordinator.id.text, "recorded_at": day.at(hour: 16).text,
            ])
        }
        for person in [jade, margaret] {
            batch.participants.add([
                "id": random.uuid().text, "conference_id": conference.text, "family_id": family.text, "person_id": person.text,
                "worker_id": nil, "invited": "true", "attended": "true",
            ])
        }
        let plan = random.uuid()
        batch.plans.add([
            "id": plan.text, "conference_id": conference.text, "family_id": family.text, "version": "1",
            "contingency": "If Margaret cannot do a school run, Jade calls the school office before 9 and Priya is told the same day.",
            "review_on": today.adding(days: 21).text, "agreed_by_referrer": "true", "created_by": coordinator.id.text,
            "created_at": held.at(hour: 15).text,
        ])
        for (position, (who, what)) in [
            (margaret, "Pick Amy up from school on weekdays"), (jade, "Tell the school about any day Amy will miss, before 9"),
            (jade, "Go to parents' evening with Margaret"),
        ].enumerated() {
            batch.planItems.add([
                "id": random.uuid().text, "plan_id": plan.text, "family_id": family.text, "position": String(position + 1),
                "person_id": who.text, "worker_id": nil, "what": what, "by_when": position == 2 ? today.adding(days: 14).text : nil,
            ])
        }
    }
}
