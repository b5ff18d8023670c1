/// Every read and write of a family's record leaves an audit event: who, when, which family, what, and whether
/// the access came through break-glass. Writes record theirs in the same transaction as the write. Administrative
/// changes are `administer` events in the organisation's feed (`Records.auditAdministration`). Every event is written
/// by one SQL function, `kith_audit` (`db/functions/`), from here and from the database's own functions.
enum AuditAction: String {
    case read, write, export, breakGlass, administer
}

/// Audit events of reads and writes of families' records.
enum AuditWrite: HotStatement {}
