/// A team's thresholds for continuity signals: prompts for a supervision conversation, never targets. A signal is
/// computed when it is asked for, never stored as a status, and blocks nothing.
public struct SignalSettings: Sendable, Equatable, Codable {
    /// Days without contact of any kind before a family is highlighted.
    public var noContactDays: Int
    /// Days since the child was last seen before a family is highlighted.
    public var childNotSeenDays: Int
    /// Days past the plan's review date before a family is highlighted.
    public var planReviewOverdueDays: Int
    /// Distinct allocated workers in 365 days at which a family is highlighted.
    public var workerChanges365: Int

    public init(noContactDays: Int = 28, childNotSeenDays: Int = 42, planReviewOverdueDays: Int = 0, workerChanges365: Int = 3) {
        self.noContactDays = noContactDays
        self.childNotSeenDays = childNotSeenDays
        self.planReviewOverdueDays = planReviewOverdueDays
        self.workerChanges365 = workerChanges365
    }

    public static let defaults = SignalSettings()
}

/// One measure beside its threshold, and whether it is past it.
public struct Signal: Sendable, Equatable {
    public var measure: String
    public var threshold: Int
    public var raised: Bool
}

/// The measures signals read, as computed for one family on one day.
public struct SignalInputs: Sendable, Equatable {
    public var daysSinceLastContact: Int?
    public var daysSinceChildSeen: Int?
    /// Days since the plan's review date (negative before it), or nil without a plan review date.
    public var daysPastPlanReview: Int?
    public var distinctAllocatedWorkers365: Int
    /// How many of the family's current allocated workers have a leaving date: the family wants a new worker.
    public var allocatedWorkersLeaving: Int

    public init(
        daysSinceLastContact: Int?, daysSinceChildSeen: Int?, daysPastPlanReview: Int?, distinctAllocatedWorkers365: Int,
        allocatedWorkersLeaving: Int = 0
    ) {
        self.daysSinceLastContact = daysSinceLastContact
        self.daysSinceChildSeen = daysSinceChildSeen
        self.daysPastPlanReview = daysPastPlanReview
        self.distinctAllocatedWorkers365 = distinctAllocatedWorkers365
        self.allocatedWorkersLeaving = allocatedWorkersLeaving
    }

    /// Every signal, raised or not, so the threshold is always shown beside the measure. A family with no contact or
    /// no sighting at all on record raises those signals: the absence is itself worth a conversation. `workerLeft` has
    /// no threshold to set: it is raised while an allocated worker with a leaving date still holds the family.
    public func signals(_ settings: SignalSettings) -> [Signal] {
        [
            Signal(measure: "daysSinceLastContact", threshold: settings.noContactDays,
                   raised: daysSinceLastContact.map { $0 > settings.noContactDays } ?? true),
            Signal(measure: "daysSinceChildSeen", threshold: settings.childNotSeenDays,
                   raised: daysSinceChildSeen.map { $0 > settings.childNotSeenDays } ?? true),
            Signal(measure: "planReviewPassed", threshold: settings.planReviewOverdueDays,
                   raised: daysPastPlanReview.map { $0 > settings.planReviewOverdueDays } ?? false),
            Signal(measure: "distinctAllocatedWorkers365", threshold: settings.workerChanges365,
                   raised: distinctAllocatedWorkers365 >= settings.workerChanges365),
            Signal(measure: "workerLeft", threshold: 0, raised: allocatedWorkersLeaving > 0),
        ]
    }
}
