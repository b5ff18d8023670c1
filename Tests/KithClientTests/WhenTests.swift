import Foundation
import KithClient
import Testing

@Suite struct WhenTests {
    static var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/London")!
        return calendar
    }

    /// Sunday 29 November 2026, 10:05 in London.
    static let now = calendar.date(from: DateComponents(year: 2026, month: 11, day: 29, hour: 10, minute: 5))!

    func parse(_ text: String) -> DateComponents? {
        When.parse(text, now: Self.now, calendar: Self.calendar).map {
            Self.calendar.dateComponents([.year, .month, .day, .hour, .minute], from: $0)
        }
    }

    /// A time in November 2026.
    func day(_ day: Int, _ hour: Int, _ minute: Int) -> DateComponents {
        DateComponents(year: 2026, month: 11, day: day, hour: hour, minute: minute)
    }

    @Test func wordsAWorkerTypes() {
        #expect(parse("now") == day(29, 10, 5))
        #expect(parse("today") == day(29, 10, 5))
        #expect(parse("today 14:30") == day(29, 14, 30))
        #expect(parse("Today 9:15") == day(29, 9, 15))
        #expect(parse("14:30") == day(29, 14, 30))
        #expect(parse("yesterday") == day(28, 10, 5))
        #expect(parse("yesterday 16:00") == day(28, 16, 0))
        // The last Friday before today, at noon unless a time is given.
        #expect(parse("friday") == day(27, 12, 0))
        #expect(parse("mon 08:45") == day(23, 8, 45))
        #expect(parse("sunday") == day(22, 12, 0))
    }

    @Test func datesAndISOTimes() {
        #expect(parse("2026-11-20") == day(20, 12, 0))
        #expect(parse("2026-11-20 07:10") == day(20, 7, 10))
        #expect(parse("2026-11-20T07:10") == day(20, 7, 10))
        #expect(parse("2026-11-20T07:10:30") == day(20, 7, 10))
        // An offset is honoured: 07:10 UTC is 07:10 in London in November.
        #expect(parse("2026-11-20T07:10:00Z") == day(20, 7, 10))
        #expect(parse("2026-11-20T07:10:00+01:00") == day(20, 6, 10))
    }

    @Test func nonsenseIsRefusedNotGuessed() {
        for text in ["", "soon", "today 25:00", "14:3", "2026-02-30", "yesterday noon", "2026-11-20 07:10 extra", "12"] {
            #expect(parse(text) == nil, "\(text)")
        }
    }
}
