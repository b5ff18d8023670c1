import Foundation

/// Where a write of case records comes from: a request made online, or a device's mutation recorded offline,
/// whose clock is kept and shown but never trusted for ordering.
struct WriteOrigin: Sendable {
    var deviceRecordedAt: Date?
    var clockSuspect = false
    var lateAfterReallocation = false

    static let online = WriteOrigin()

    /// A device clock more than ten minutes ahead of the server's, or more than a year behind, is implausible.
    static func device(recordedAt: Date, now: Date = Date(), late: Bool) -> WriteOrigin {
        let offset = recordedAt.timeIntervalSince(now)
        return WriteOrigin(
            deviceRecordedAt: recordedAt, clockSuspect: offset > 600 || offset < -365 * 86_400, lateAfterReallocation: late)
    }
}
