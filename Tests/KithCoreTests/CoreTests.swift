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
