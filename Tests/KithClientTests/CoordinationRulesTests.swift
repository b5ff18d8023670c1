import Foundation
import KithAPI
import KithClient
import Testing

/// The client library's rules for the coordinator's, the supervisor's and everyone's commands, without a terminal.
@Suite struct CoordinationRulesTests {
    @Test func aServerAddressIsReadAsAPersonTypesIt() throws {
        #expect(try SignIn.serverURL("kith.example.org").absoluteString == "https://kith.example.org")
        #expect(try SignIn.serverURL("localhost:8080/").absoluteString == "http://localhost:8080")
        #expect(try SignIn.serverURL("127.0.0.1:9000").absoluteString == "http://127.0.0.1:9000")
        #expect(throws: CommandError.self) { try SignIn.serverURL("ftp://kith.example.org") }
    }

    @Test func anOutsideReferrerIsANameAndAnAgency() throws {
        let school = try ConferenceDrafts.outsideReferrer("Mrs Hughes, Riverside Primary School")
        #expect(school.name == "Mrs Hughes" && school.agency == "Riverside Primary School")
        #expect(try ConferenceDrafts.outsideReferrer("PC Jones").agency == nil)
        #expect(throws: CommandError.self) { try ConferenceDrafts.outsideReferrer(" , Police") }
    }

    @Test func privateFamilyTimeIsAStartAndAnEndOnTheDay() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let time = try ConferenceDrafts.privateTime("13:00-14:30", on: "2026-11-20", calendar: calendar)
        #expect(time.startedAt == ISO8601DateFormatter().date(from: "2026-11-20T13:00:00Z"))
        #expect(time.endedAt.map { $0.timeIntervalSince(time.startedAt) } == 5400)
        #expect(throws: CommandError.self) { try ConferenceDrafts.privateTime("14:30-13:00", on: "2026-11-20", calendar: calendar) }
        #expect(throws: CommandError.self) { try ConferenceDrafts.privateTime("13:00", on: "2026-11-20", calendar: calendar) }
    }

    @Test func aPlanIsOneItemALineAndANewVersionStartsFromTheOpenOnes() throws {
        let ids = ["Margaret": "p-1", "Jade": "p-2"]
        let items = try ConferenceDrafts.planItems("""
            Margaret: Takes Amy to school on Mondays

            Jade: Calls the school if Amy is ill by 2027-01-31
            """) { name in try #require(ids[name]) }
        #expect(items.map(\.who) == ["p-1", "p-2"])
        #expect(items.map(\.what) == ["Takes Amy to school on Mondays", "Calls the school if Amy is ill"])
        #expect(items.map(\.byWhen) == [nil, "2027-01-31"])
        #expect(throws: CommandError.self) { try ConferenceDrafts.planItems("Nobody says who") { $0 } }

        let plan = Components.Schemas.FamilyPlan(
            id: "plan", conferenceId: "conference", familyId: "family", version: 1,
            items: [
                .init(id: "i-1", who: "p-1", whoKind: .person, what: "Takes Amy to school on Mondays", status: .done, updates: []),
                .init(id: "i-2", who: "p-2", whoKind: .person, what: "Calls the school if Amy is ill", byWhen: "2027-01-31",
                      status: .open, updates: []),
            ],
            agreedByReferrer: true, createdBy: "chris", createdAt: Date())
        let names = ["p-1": "Margaret", "p-2": "Jade"]
        let lines = ConferenceDrafts.carriedOver(plan) { names[$0] ?? $0 }
        #expect(lines == ["Jade: Calls the school if Amy is ill by 2027-01-31"])
        #expect(try ConferenceDrafts.planItems(lines.joined(separator: "\n")) { try #require(ids[$0]) }.map(\.byWhen) == ["2027-01-31"])
    }

    @Test func someoneElseAtAVisitIsANameAndARole() throws {
        let interpreter = try Practice.Visit.other("Ana Silva, interpreter")
        #expect(interpreter.name == "Ana Silva" && interpreter.role == "interpreter")
        #expect(throws: CommandError.self) { try Practice.Visit.other("Ana Silva") }
        #expect(throws: CommandError.self) { try Practice.Visit.other(", interpreter") }
    }

    @Test func aColleagueIsNamedByEmailNameOrIdAndAmbiguityIsSaid() throws {
        let workers: [Components.Schemas.Worker] = [
            .init(id: "a1", name: "Tom Walsh", email: "tom@kith.demo", roles: [.practitioner], teamIds: []),
            .init(id: "b2", name: "Tomasz Nowak", email: "tomasz@kith.demo", roles: [.practitioner], teamIds: []),
            .init(id: "c3", name: "Priya Shah", email: "priya@kith.demo", roles: [.practitioner], teamIds: []),
        ]
        #expect(try Office.worker("tom@kith.demo", among: workers).id == "a1")
        #expect(try Office.worker("Tom Walsh", among: workers).id == "a1")
        #expect(try Office.worker("priya", among: workers).id == "c3")
        #expect(throws: CommandError.self) { try Office.worker("tom", among: workers) }
        #expect(throws: CommandError.self) { try Office.worker("nobody", among: workers) }
    }

    @Test func whoWasThereIsSomeoneInTheNetworkElseAColleague() throws {
        let store = try LocalStore()
        let jade = Components.Schemas.Person(
            id: "p-jade", familyId: "family", name: "Jade Adeyemi", isChildInFocus: false, contact: .init(), interpreterNeeded: false,
            fieldVersions: .init())
        try store.keep([try .init(.person, id: jade.id, familyId: "family", jade)])
        try store.setWorkerNames(["me": "Priya Shah", "w-tom": "Tom Walsh"])
        let caseload = try Caseload(store: store, workerId: "me")
        #expect(try caseload.present("jade", in: "family") == .person("p-jade"))
        #expect(try caseload.present("tom", in: "family") == .worker("w-tom"))
        // Oneself is never a colleague of one's own.
        #expect(throws: CommandError.self) { try caseload.present("priya", in: "family") }
        #expect(throws: CommandError.self) { try caseload.present("nobody", in: "family") }
    }
}
