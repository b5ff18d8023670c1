import Foundation
import Logging
import PostgresNIO

/// Which families a device may hold offline: those its worker is currently allocated to, in any role. (Supervisors
/// read their teams' families online; a device holds a caseload, not a team.)
///
/// Grants are brought up to date at the start of every push and pull, under the device's row lock, so a device's
/// grants change one request at a time.
extension Records {
    /// Locks the device for this transaction and returns its `lastAppliedSeq`. A device's own requests wait their turn
    /// for as long as a statement may run, not the lock timeout, which is for locks held elsewhere: a push sent again on
    /// another connection while the first still runs is served after it. The wait is lengthened for this lock alone
    /// (the inner `set_config` runs before the rows are locked, the outer one after).
    func lockDevice(_ device: SyncDevice) async throws -> Int64 {
        guard let row = try await query(
            DeviceLock.self,
            """
            SELECT locked.last_applied_seq, set_config('lock_timeout', locked.usual, true)
            FROM (SELECT d.last_applied_seq, w.usual
                  FROM devices d,
                       (SELECT current_setting('lock_timeout') AS usual,
                               set_config('lock_timeout', current_setting('statement_timeout'), true)) w
                  WHERE d.organisation_id = \(device.organisationId) AND d.id = \(device.id) FOR UPDATE OF d) locked
            """).first else { throw KithError.notFound }
        return try row.decode((Int64, String).self).0
    }

    /// Starts a grant for every family newly allocated to the device's worker and ends the grants of families they
    /// no longer hold (a leaver holds none).
    func reconcileGrants(_ device: SyncDevice) async throws {
        _ = try await query(
            GrantsReconciled.self,
            """
            WITH held AS (
                SELECT DISTINCT a.family_id
                FROM current_allocations a
                JOIN workers w ON w.organisation_id = a.organisation_id AND w.id = a.worker_id
                WHERE a.organisation_id = \(device.organisationId) AND a.worker_id = \(device.workerId)
                  AND (w.left_on IS NULL OR w.left_on > current_date)
            ), ended AS (
                UPDATE device_grants g SET ended_at = now(), end_reason = 'reallocated'
                WHERE g.organisation_id = \(device.organisationId) AND g.device_id = \(device.id) AND g.ended_at IS NULL
                  AND g.family_id NOT IN (SELECT family_id FROM held)
                RETURNING g.family_id
            ), numbered AS (
                SELECT h.family_id,
                       (SELECT coalesce(max(number), 0) FROM device_grants
                         WHERE organisation_id = \(device.organisationId) AND device_id = \(device.id))
                       + row_number() OVER (ORDER BY h.family_id) AS number
                FROM held h
                WHERE NOT EXISTS (
                    SELECT 1 FROM device_grants g
                    WHERE g.organisation_id = \(device.organisationId) AND g.device_id = \(device.id)
                      AND g.family_id = h.family_id AND g.ended_at IS NULL)
            )
            INSERT INTO device_grants (organisation_id, id, device_id, family_id, number)
            SELECT \(device.organisationId), gen_random_uuid(), \(device.id), family_id, number FROM numbered
            """)
    }
}

/// The statements every push and pull begins with.
enum DeviceLock: HotStatement {}
enum GrantsReconciled: HotStatement {}
