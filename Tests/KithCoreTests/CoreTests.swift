import Testing
@testable import KithCore

@Suite struct ValidationTests {
    @Test func acceptsOrdinaryTextAndCollectsEveryProblem() {
        var check = Validation()
        check.text("body", "Saw Amy at home.\nShe was well.", max: 100)
        #expect(check.isValid)
        check.requiredText("displayName", "   ", max: 10)
        check.text("reference", String(repeating: "x", count: 11), max: 10)
        check.text("location", "kitchen\u{0}", max: 100)
        check.range("durationMinutes", 2000, 0...1440)
        #expect(check.problems.map(\.field) == ["displayName", "reference", "location", "durationMinutes"])
    }

    @Test func absentOptionalTextIsFine() {
        var check = Validation()
        check.text("reasonForInvolvement", nil, max: 10)
        #expect(check.isValid)
    }
}

@Suite struct PageCursorTests {
    @Test func roundTrips() {
        let cursor = PageCursor(["2026-01-02T10:00:00Z", "0190a3c4-0000-7000-8000-000000000001"])
        #expect(PageCursor(encoded: cursor.encoded, count: 2) == cursor)
        #expect(!cursor.encoded.contains("="))
    }

    @Test func rejectsForeignOrWrongShapedCursors() {
        #expect(PageCursor(encoded: "not a cursor!", count: 1) == nil)
        #expect(PageCursor(encoded: PageCursor(["a"]).encoded, count: 2) == nil)
    }
}

@Suite struct SQLScriptTests {
    @Test func splitsOnSemicolonsOutsideQuotesCommentsAndDollarBodies() {
        let script = """
        -- a comment; not a statement
        CREATE TABLE a (x text DEFAULT 'semi;colon');
        CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'no; way';
        END
        $$;
        /* block; comment */ SELECT $1, "odd;name" FROM a;
        -- trailing comment
        """
        let statements = SQLScript.statements(in: script)
        #expect(statements.count == 3)
        #expect(statements[0].hasSuffix("DEFAULT 'semi;colon')"))
        #expect(statements[1].contains("RAISE EXCEPTION 'no; way';"))
        #expect(statements[2].hasSuffix("FROM a"))
    }

    @Test func namedDollarTagsKeepTheirBodiesWhole() {
        let statements = SQLScript.statements(in: "CREATE TABLE t (a int);\n\n$tag$ x; $tag$;")
        #expect(statements == ["CREATE TABLE t (a int)", "$tag$ x; $tag$"])
    }
}

@Suite struct CalendarDayTests {
    @Test func readsRealDaysOnly() {
        #expect(CalendarDay("2024-02-29")?.description == "2024-02-29")
        #expect(CalendarDay("2023-02-29") == nil)
        #expect(CalendarDay("2023-13-01") == nil)
        #expect(CalendarDay("23-01-01") == nil)
        #expect(CalendarDay("2023-1-01") == nil)
        #expect(CalendarDay("2023-01-02")! < CalendarDay("2023-02-01")!)
    }
}

@Suite struct SignalTests {
    @Test func aSignalIsRaisedOnlyPastItsThresholdAndAlwaysShown() {
        var inputs = SignalInputs(daysSinceLastContact: 28, daysSinceChildSeen: 43, daysPastPlanReview: -5, distinctAllocatedWorkers365: 3)
        let signals = inputs.signals(.defaults)
        #expect(signals.map(\.measure)
            == ["daysSinceLastContact", "daysSinceChildSeen", "planReviewPassed", "distinctAllocatedWorkers365", "workerLeft"])
        #expect(signals.map(\.raised) == [false, true, false, true, false])
        #expect(signals.map(\.threshold) == [28, 42, 0, 3, 0])
        inputs.allocatedWorkersLeaving = 1
        #expect(inputs.signals(.defaults)[4].raised)
    }

    @Test func changingAThresholdChangesTheSignalNotTheMeasure() {
        let inputs = SignalInputs(daysSinceLastContact: 20, daysSinceChildSeen: nil, daysPastPlanReview: nil, distinctAllocatedWorkers365: 1)
        var settings = SignalSettings.defaults
        #expect(inputs.signals(settings)[0].raised == false)
        settings.noContactDays = 14
        #expect(inputs.signals(settings)[0] == Signal(measure: "daysSinceLastContact", threshold: 14, raised: true))
        #expect(inputs.daysSinceLastContact == 20)
        // Never seen on record is worth a conversation; no plan review date is not.
        #expect(inputs.signals(settings)[1].raised && !inputs.signals(settings)[2].raised)
    }
}

@Suite struct DayNumberTests {
    @Test func dayNumbersCountCivilDaysFromTheEpoch() {
        let known = [0: "1970-01-01", 19_782: "2024-02-29", 11_017: "2000-03-01", -1: "1969-12-31", 47_481: "2099-12-31"]
        for (number, text) in known {
            #expect(CalendarDay(dayNumber: number).description == text)
            #expect(CalendarDay(text)?.dayNumber == number)
        }
        #expect(CalendarDay("2025-03-01")! - CalendarDay("2024-03-01")! == 365)
        #expect(CalendarDay("2024-12-31")!.adding(days: 1).description == "2025-01-01")
    }
}

@Suite struct TeamFiguresTests {
    let asOf = CalendarDay("2026-06-30")!

    func family(_ id: String, opened: String, closed: String? = nil, workers: Int, handovers: Int) -> FamilyFigures {
        FamilyFigures(familyId: id, openedOn: CalendarDay(opened)!, closedOn: closed.flatMap(CalendarDay.init),
                      distinctAllocatedWorkers365: workers, handovers365: handovers)
    }

    @Test func teamFiguresComputedByHand() {
        let families = [
            family("a", opened: "2024-01-01", workers: 1, handovers: 0),                      // a year+ open, kept one worker
            family("b", opened: "2025-07-01", workers: 2, handovers: 1),                      // open exactly 365 days on asOf
            family("c", opened: "2025-07-02", workers: 1, handovers: 0),                      // 364 days: too new for the share
            family("d", opened: "2024-01-01", closed: "2026-01-01", workers: 3, handovers: 2), // closed: not in the share
        ]
        let figures = TeamFigures(families: families, asOf: asOf)
        #expect(figures.keptOneWorkerShare == 0.5)
        // Days open in the window 2025-07-01 … 2026-06-30: a 365, b 365, c 364, d 184 (to 2025-12-31).
        #expect(families.map { $0.daysOpen(inYearTo: asOf) } == [365, 365, 364, 184])
        #expect(figures.workerChangesPerFamilyYear == 3.0 / (1278.0 / 365.0))
        #expect(figures.familiesWithThreeOrMoreWorkers365 == ["d"])
    }

    @Test func noFamiliesMeansNoFigures() {
        let figures = TeamFigures(families: [], asOf: asOf)
        #expect(figures.keptOneWorkerShare == nil && figures.workerChangesPerFamilyYear == nil)
    }
}

/// The subject access clock (docs/information-governance.md): examples the ICO gives, then properties over random
/// requests.
@Suite struct SubjectAccessClockTests {
    static func day(_ text: String) -> CalendarDay { CalendarDay(text)! }

    static func due(
        _ received: String, _ events: [(SubjectAccessEventKind, String)] = [], holidays: [String] = [], today: String? = nil
    ) -> String {
        let clock = SubjectAccessClock(
            receivedOn: day(received), events: events.map { ($0.0, day($0.1)) }, holidays: Set(holidays.map(day)))
        return clock.dueOn(today: day(today ?? received)).description
    }

    @Test func aMonthFromTheDayOfReceiptOrThatMonthsLastDay() {
        #expect(Self.due("2026-03-05") == "2026-04-06")  // 5 April 2026 is a Sunday
        #expect(Self.due("2028-01-31") == "2028-02-29")
        #expect(Self.due("2026-07-03") == "2026-08-03")
    }

    @Test func aWeekendOrAHolidayMovesItToTheNextWorkingDay() {
        #expect(Self.due("2026-01-31") == "2026-03-02")  // 28 February 2026 is a Saturday
        #expect(Self.due("2026-11-25") == "2026-12-25")
        #expect(Self.due("2026-11-25", holidays: ["2026-12-25"]) == "2026-12-28")
    }

    @Test func waitingForIdentityOrClarificationStopsTheClock() {
        let asked: [(SubjectAccessEventKind, String)] = [(.identityRequested, "2026-03-06"), (.identityReceived, "2026-03-09")]
        #expect(Self.due("2026-03-05", asked) == "2026-04-08")
        // Still waiting: the clock stands still up to today, and the request is paused.
        let waiting = SubjectAccessClock(receivedOn: Self.day("2026-03-05"), events: [(.clarificationRequested, Self.day("2026-03-06"))], holidays: [])
        #expect(waiting.status == .paused && waiting.dueOn(today: Self.day("2026-03-10")).description == "2026-04-09")
        // An answer with nothing asked changes nothing; two requests while one waits stop it once.
        #expect(Self.due("2026-03-05", [(.identityReceived, "2026-03-06")]) == "2026-04-06")
        #expect(Self.due("2026-03-05", [(.identityRequested, "2026-03-06"), (.clarificationRequested, "2026-03-07"), (.clarified, "2026-03-09")])
                == "2026-04-08")
    }

    @Test func anExtensionIsThreeMonthsFromReceiptWithTheSameRules() {
        #expect(Self.due("2026-03-05", [(.extended, "2026-03-20")]) == "2026-06-05")
        #expect(Self.due("2026-03-05", [(.identityRequested, "2026-03-06"), (.identityReceived, "2026-03-09"), (.extended, "2026-03-20")])
                == "2026-06-08")
        let closed = SubjectAccessClock(receivedOn: Self.day("2026-03-05"), events: [(.closed, Self.day("2026-03-30"))], holidays: [])
        #expect(closed.status == .closed && !closed.overdue(today: Self.day("2027-01-01")))
        let open = SubjectAccessClock(receivedOn: Self.day("2026-03-05"), events: [], holidays: [])
        #expect(open.status == .open && open.overdue(today: Self.day("2026-04-07")) && !open.overdue(today: Self.day("2026-04-06")))
    }

    /// A generator that gives the same requests for the same seed (SplitMix64), so a failure can be replayed.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64]) func everyDueDayIsTheFirstWorkingDayOnOrAfterTheCountedDay(seed: UInt64) {
        var random = Seeded(state: seed)
        for _ in 0..<2_000 {
            let received = CalendarDay(dayNumber: Int.random(in: 7_300...65_000, using: &random))
            let holidays = Set((0..<Int.random(in: 0...12, using: &random)).map { _ in received.adding(days: Int.random(in: 20...120, using: &random)) })
            var events: [(kind: SubjectAccessEventKind, on: CalendarDay)] = []
            var on = received
            for _ in 0..<Int.random(in: 0...6, using: &random) {
                on = on.adding(days: Int.random(in: 0...10, using: &random))
                events.append((SubjectAccessEventKind.allCases.randomElement(using: &random)!, on))
            }
            let today = on.adding(days: Int.random(in: 0...40, using: &random))
            let clock = SubjectAccessClock(receivedOn: received, events: events, holidays: holidays)
            let due = clock.dueOn(today: today)
            let counted = received.sameDay(monthsLater: clock.extended ? 3 : 1).adding(days: clock.pausedDays(today: today))
            // The counted day is the same day of the month (or that month's last), and the due day the first working
            // day from it.
            let month = received.sameDay(monthsLater: clock.extended ? 3 : 1)
            #expect(month.day == received.day || (month.day < received.day && month.adding(days: 1).day == 1))
            #expect(due >= counted && due.weekday <= 5 && !holidays.contains(due))
            #expect((0..<(due - counted)).allSatisfy { counted.adding(days: $0).weekday >= 6 || holidays.contains(counted.adding(days: $0)) })
            // Waiting longer never makes it due sooner; an extension never does either.
            #expect(clock.dueOn(today: today.adding(days: 5)) >= due)
            let unextended = SubjectAccessClock(receivedOn: received, events: events.filter { $0.kind != .extended }, holidays: holidays)
            #expect(unextended.dueOn(today: today) <= due)
        }
    }
}

/// What a search asks, read the same way by the server and by a device offline.
@Suite struct SearchQueryTests {
    @Test func readsWordsPhrasesWordsLeftOutAndTheLastWordAsAPrefix() throws {
        #expect(try SearchQuery(parsing: "school move") == SearchQuery(words: ["school"], prefix: "move"))
        #expect(try SearchQuery(parsing: "school move ") == SearchQuery(words: ["school", "move"]))
        #expect(try SearchQuery(parsing: "\"new partner\" -Dad nan") == SearchQuery(phrases: [["new", "partner"]], excluded: [["Dad"]], prefix: "nan"))
        #expect(try SearchQuery(parsing: "nan -\"school run\"") == SearchQuery(words: ["nan"], excluded: [["school", "run"]]))
        #expect(try SearchQuery(parsing: "\"Okafor\"") == SearchQuery(words: ["Okafor"]))
        #expect(try SearchQuery(parsing: "o'brien's") == SearchQuery(words: ["o", "brien"], prefix: "s"))
        #expect(try SearchQuery(parsing: "ysgol  ŵyr") == SearchQuery(words: ["ysgol"], prefix: "ŵyr"))
        #expect(try SearchQuery(parsing: "a:b & !c | (d") == SearchQuery(words: ["a", "b", "c"], prefix: "d"))
        #expect(try SearchQuery(parsing: "\"unclosed phrase") == SearchQuery(phrases: [["unclosed", "phrase"]]))
    }

    @Test func refusesWhatHasNothingToFind() {
        #expect(throws: SearchQuery.Problem.length) { try SearchQuery(parsing: "") }
        #expect(throws: SearchQuery.Problem.length) { try SearchQuery(parsing: String(repeating: "a", count: 501)) }
        #expect(throws: SearchQuery.Problem.nothingToFind) { try SearchQuery(parsing: "-school") }
        #expect(throws: SearchQuery.Problem.nothingToFind) { try SearchQuery(parsing: "!!& |") }
        #expect(throws: SearchQuery.Problem.tooManyTerms) { try SearchQuery(parsing: (1...33).map { "w\($0)" }.joined(separator: " ")) }
    }
}
