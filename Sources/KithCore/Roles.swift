/// What a worker does in the organisation. A worker may hold several roles.
public enum Role: String, Sendable, Codable, CaseIterable {
    case practitioner, coordinator, supervisor, admin
    /// Subject access requests, retention and disposal; reads a family's record only through an open request naming
    /// one of its people.
    case informationGovernance
}

/// A worker's part in a family's life; only `allocatedWorker` counts towards "same worker over time".
public enum AllocationRole: String, Sendable, Codable, CaseIterable {
    case allocatedWorker, coordinator, familySupport
}
