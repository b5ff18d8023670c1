/// What happens to a subject access request, in order: the request's life is these events, appended.
public enum SubjectAccessEventKind: String, Sendable, Codable, CaseIterable {
    case identityRequested, identityReceived, clarificationRequested, clarified, extended, disclosed, refused, closed

    /// The clock stops from a request for identity or clarification until its answer.
    var pauses: Bool { self == .identityRequested || self == .clarificationRequested }
    var resumes: Bool { self == .identityReceived || self == .clarified }
    /// A request is closed by either of these; until then it is open, and holds its families against disposal.
    public static let closing: [Self] = [.refused, .closed]
}

/// When a subject access request is due, as the ICO counts it (UK GDPR Art. 12(3)): the day of receipt is day one and
/// the request is due on the corresponding day of the next month, or that month's last day when it has no such day; the
/// days spent waiting for identity or clarification are added; an extension makes it the corresponding day three months
/// after receipt (plus the same waiting days); a due day on a weekend or one of the organisation's holidays moves to
/// the next working day. Overdue is a signal for the officer, never a block.
public struct SubjectAccessClock: Sendable {
    public enum Status: String, Sendable { case open, paused, closed }

    public let receivedOn: CalendarDay
    /// Waiting spells, each from the day identity or clarification was asked for to the day it came (nil: still waiting).
    public let pauses: [(from: CalendarDay, to: CalendarDay?)]
    public let extended: Bool
    public let closed: Bool
    public let holidays: Set<CalendarDay>

    /// The request's clock from its events in the order they happened (by day, then as recorded). A second request for
    /// identity while one waits does not stop the clock twice; an answer with nothing waiting changes nothing.
    public init(receivedOn: CalendarDay, events: [(kind: SubjectAccessEventKind, on: CalendarDay)], holidays: Set<CalendarDay>) {
        var pauses: [(from: CalendarDay, to: CalendarDay?)] = []
        var extended = false, closed = false
        for event in events {
            if event.kind.pauses, pauses.last.map({ $0.to != nil }) ?? true {
                pauses.append((max(event.on, receivedOn), nil))
            } else if event.kind.resumes, let last = pauses.last, last.to == nil {
                pauses[pauses.count - 1].to = max(event.on, last.from)
            }
            if event.kind == .extended { extended = true }
            if SubjectAccessEventKind.closing.contains(event.kind) { closed = true }
        }
        self.receivedOn = receivedOn
        self.pauses = pauses
        self.extended = extended
        self.closed = closed
        self.holidays = holidays
    }

    public var status: Status { closed ? .closed : pauses.last.map { $0.to == nil } == true ? .paused : .open }

    /// Days the clock stood still; one still waiting counts up to `today`.
    public func pausedDays(today: CalendarDay) -> Int {
        pauses.reduce(0) { $0 + max(0, ($1.to ?? max(today, $1.from)) - $1.from) }
    }

    public func dueOn(today: CalendarDay) -> CalendarDay {
        receivedOn.sameDay(monthsLater: extended ? 3 : 1).adding(days: pausedDays(today: today)).nextWorkingDay(holidays)
    }

    /// Past its due day and not closed.
    public func overdue(today: CalendarDay) -> Bool { !closed && today > dueOn(today: today) }
}

extension CalendarDay {
    /// The same day of the month `months` later, or that month's last day when it has no such day (31 January → the
    /// last day of February).
    public func sameDay(monthsLater months: Int) -> CalendarDay {
        let index = year * 12 + (month - 1) + months
        let (year, month) = (index / 12, index % 12 + 1)
        return CalendarDay(year: year, month: month, day: min(self.day, Self.days(inMonth: month, year: year)))
    }

    /// 1 for Monday to 7 for Sunday (1970-01-01 was a Thursday).
    public var weekday: Int { ((dayNumber % 7 + 7) % 7 + 3) % 7 + 1 }

    /// This day, or the next that is neither a Saturday, a Sunday nor one of `holidays`.
    public func nextWorkingDay(_ holidays: Set<CalendarDay>) -> CalendarDay {
        var day = self
        while day.weekday >= 6 || holidays.contains(day) { day = day.adding(days: 1) }
        return day
    }

    private init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }
}
