/// What team-level continuity needs to know about each family, as of one day.
public struct FamilyFigures: Sendable, Equatable {
    public var familyId: String
    public var openedOn: CalendarDay
    public var closedOn: CalendarDay?
    public var distinctAllocatedWorkers365: Int
    public var handovers365: Int

    public init(familyId: String, openedOn: CalendarDay, closedOn: CalendarDay?, distinctAllocatedWorkers365: Int, handovers365: Int) {
        self.familyId = familyId
        self.openedOn = openedOn
        self.closedOn = closedOn
        self.distinctAllocatedWorkers365 = distinctAllocatedWorkers365
        self.handovers365 = handovers365
    }

    public func isOpen(on day: CalendarDay) -> Bool { openedOn <= day && (closedOn.map { $0 > day } ?? true) }

    /// Days of the 365-day window ending on `asOf` during which the family was open.
    public func daysOpen(inYearTo asOf: CalendarDay) -> Int {
        let from = max(openedOn, asOf.adding(days: -364))
        let to = min(closedOn?.adding(days: -1) ?? asOf, asOf)
        return max(0, to - from + 1)
    }
}

/// A team's continuity over the 365 days ending on `asOf`, from its families' figures.
public struct TeamFigures: Sendable, Equatable {
    /// Of the families open on `asOf` that had been open for at least 365 days, the share that had one allocated worker
    /// throughout the year; nil when there are none.
    public var keptOneWorkerShare: Double?
    /// Handovers per year of family time open in the window; nil when no family was open.
    public var workerChangesPerFamilyYear: Double?
    /// Families with three or more allocated workers in the window.
    public var familiesWithThreeOrMoreWorkers365: [String]

    public init(families: [FamilyFigures], asOf: CalendarDay) {
        let longOpen = families.filter { $0.isOpen(on: asOf) && $0.openedOn <= asOf.adding(days: -364) }
        keptOneWorkerShare = longOpen.isEmpty
            ? nil : Double(longOpen.filter { $0.distinctAllocatedWorkers365 == 1 }.count) / Double(longOpen.count)
        let familyYears = Double(families.map { $0.daysOpen(inYearTo: asOf) }.reduce(0, +)) / 365
        workerChangesPerFamilyYear = familyYears > 0 ? Double(families.map(\.handovers365).reduce(0, +)) / familyYears : nil
        familiesWithThreeOrMoreWorkers365 = families.filter { $0.distinctAllocatedWorkers365 >= 3 }.map(\.familyId).sorted()
    }
}
