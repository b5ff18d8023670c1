import Foundation
import KithCore

/// Calendar days on the server are UTC days.
extension CalendarDay {
    static var today: CalendarDay { CalendarDay(dayNumber: Int(Date().timeIntervalSince1970 / 86_400)) }

    var text: String { description }
    var date: Date { Date(timeIntervalSince1970: TimeInterval(dayNumber) * 86_400) }
    func at(hour: Int, minute: Int = 0) -> Date { date.addingTimeInterval(TimeInterval(hour * 3600 + minute * 60)) }
}
