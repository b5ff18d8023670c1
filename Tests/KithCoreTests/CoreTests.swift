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
