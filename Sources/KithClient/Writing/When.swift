import Foundation

/// Times as a worker types them after the fact: `now`, `today 14:30`, `yesterday`, `yesterday 9:15`, `14:30`,
/// `monday 10:00` (the last Monday before today), `2026-11-28`, `2026-11-28 14:30`, or an ISO 8601 time with or
/// without its offset. A day without a time means noon; `yesterday` alone means this time yesterday, as in git.
package enum When {
    package static func parse(_ text: String, now: Date = Date(), calendar: Calendar = .current) -> Date? {
        let words = text.lowercased().split(separator: " ").map(String.init)
        guard let first = words.first, words.count <= 2 else { return nil }
        let today = calendar.startOfDay(for: now)
        let clock = words.count == 2 ? time(words[1]) : nil
        if words.count == 2 && clock == nil { return nil }

        func on(_ day: Date, defaultTime: (hour: Int, minute: Int)) -> Date? {
            let (hour, minute) = clock ?? defaultTime
            return calendar.date(bySettingHour: hour, minute: minute, second: 0, of: day)
        }
        let nowTime = (calendar.component(.hour, from: now), calendar.component(.minute, from: now))

        switch first {
        case "now" where words.count == 1: return now
        case "today": return words.count == 1 ? now : on(today, defaultTime: nowTime)
        case "yesterday":
            guard let day = calendar.date(byAdding: .day, value: -1, to: today) else { return nil }
            return words.count == 1 ? calendar.date(byAdding: .day, value: -1, to: now) : on(day, defaultTime: nowTime)
        default: break
        }
        if words.count == 1, let (hour, minute) = time(first) {
            return calendar.date(bySettingHour: hour, minute: minute, second: 0, of: today)
        }
        if let weekday = weekdays.firstIndex(where: { first == $0 || (first.count >= 3 && $0.hasPrefix(first)) }) {
            var day = calendar.date(byAdding: .day, value: -1, to: today)!
            while calendar.component(.weekday, from: day) != weekday + 1 { day = calendar.date(byAdding: .day, value: -1, to: day)! }
            return on(day, defaultTime: (12, 0))
        }
        if let day = Self.day(first, calendar: calendar) { return on(day, defaultTime: (12, 0)) }
        if words.count == 1 { return iso(text, calendar: calendar) }
        return nil
    }

    /// The calendar day of `date` on this device, `YYYY-MM-DD`, as allocations, stages and supervision record days.
    package static func dayText(_ date: Date, calendar: Calendar = .current) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    private static let weekdays = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]

    private static func time(_ text: String) -> (hour: Int, minute: Int)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]),
              (0..<24).contains(hour), (0..<60).contains(minute) else { return nil }
        return (hour, minute)
    }

    private static func day(_ text: String, calendar: Calendar) -> Date? {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              let date = calendar.date(from: DateComponents(year: year, month: month, day: day)),
              calendar.component(.day, from: date) == day else { return nil }
        return date
    }

    /// `2026-11-28T14:30[:05][Z|+01:00]`; without an offset it is the device's local time.
    private static func iso(_ text: String, calendar: Calendar) -> Date? {
        let upper = text.uppercased()
        for format in ["yyyy-MM-dd'T'HH:mm:ssXXXXX", "yyyy-MM-dd'T'HH:mmXXXXX", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = calendar.timeZone
            formatter.dateFormat = format
            if let date = formatter.date(from: upper) { return date }
        }
        return nil
    }
}
