/// A record the sync feed carries, and the `Change` variant that carries it. The server builds changes through this,
/// clients read them through `Change`'s accessors, so the mapping between an entity and its record type is written
/// once (beside the `oneOf` of `openapi.yaml`).
package protocol ChangeRecord: Encodable, Sendable {
    static var changeEntity: Components.Schemas.ChangeEntity { get }
    static func change(_ header: Components.Schemas.ChangeHeader, _ record: Self?) -> Components.Schemas.Change
    var id: String { get }
}

extension Components.Schemas.Change {
    /// The record as it now stands.
    package static func upsert<Record: ChangeRecord>(_ record: Record, familyId: String) -> Self {
        Record.change(.init(entity: Record.changeEntity, op: .upsert, id: record.id, familyId: familyId), record)
    }

    /// The record is gone (or out of the device's sight).
    package static func delete<Record: ChangeRecord>(_ type: Record.Type, id: String, familyId: String) -> Self {
        Record.change(.init(entity: Record.changeEntity, op: .delete, id: id, familyId: familyId), nil)
    }

    package var header: Components.Schemas.ChangeHeader {
        switch self {
        case .family(let change): change.value1
        case .person(let change): change.value1
        case .allocation(let change): change.value1
        case .contact(let change): change.value1
        case .note(let change): change.value1
        case .familyMessage(let change): change.value1
        case .conference(let change): change.value1
        case .plan(let change): change.value1
        }
    }

    /// The record in its REST shape; nil for a delete.
    package var record: (any ChangeRecord)? {
        switch self {
        case .family(let change): change.value2.data
        case .person(let change): change.value2.data
        case .allocation(let change): change.value2.data
        case .contact(let change): change.value2.data
        case .note(let change): change.value2.data
        case .familyMessage(let change): change.value2.data
        case .conference(let change): change.value2.data
        case .plan(let change): change.value2.data
        }
    }

    package var entity: Components.Schemas.ChangeEntity { header.entity }
    package var op: Components.Schemas.ChangeHeader.OpPayload { header.op }
    package var id: String { header.id }
    package var familyId: String? { header.familyId }
}

extension Components.Schemas.Family: ChangeRecord {
    package static var changeEntity: Components.Schemas.ChangeEntity { .family }
    package static func change(_ header: Components.Schemas.ChangeHeader, _ record: Self?) -> Components.Schemas.Change {
        .family(.init(value1: header, value2: .init(data: record)))
    }
}

extension Components.Schemas.Person: ChangeRecord {
    package static var changeEntity: Components.Schemas.ChangeEntity { .person }
    package static func change(_ header: Components.Schemas.ChangeHeader, _ record: Self?) -> Components.Schemas.Change {
        .person(.init(value1: header, value2: .init(data: record)))
    }
}

extension Components.Schemas.Allocation: ChangeRecord {
    package static var changeEntity: Components.Schemas.ChangeEntity { .allocation }
    package static func change(_ header: Components.Schemas.ChangeHeader, _ record: Self?) -> Components.Schemas.Change {
        .allocation(.init(value1: header, value2: .init(data: record)))
    }
}

extension Components.Schemas.Contact: ChangeRecord {
    package static var changeEntity: Components.Schemas.ChangeEntity { .contact }
    package static func change(_ header: Components.Schemas.ChangeHeader, _ record: Self?) -> Components.Schemas.Change {
        .contact(.init(value1: header, value2: .init(data: record)))
    }
}

extension Components.Schemas.JudgmentNote: ChangeRecord {
    package static var changeEntity: Components.Schemas.ChangeEntity { .note }
    package static func change(_ header: Components.Schemas.ChangeHeader, _ record: Self?) -> Components.Schemas.Change {
        .note(.init(value1: header, value2: .init(data: record)))
    }
}

extension Components.Schemas.FamilyMessage: ChangeRecord {
    package static var changeEntity: Components.Schemas.ChangeEntity { .familyMessage }
    package static func change(_ header: Components.Schemas.ChangeHeader, _ record: Self?) -> Components.Schemas.Change {
        .familyMessage(.init(value1: header, value2: .init(data: record)))
    }
}

extension Components.Schemas.Conference: ChangeRecord {
    package static var changeEntity: Components.Schemas.ChangeEntity { .conference }
    package static func change(_ header: Components.Schemas.ChangeHeader, _ record: Self?) -> Components.Schemas.Change {
        .conference(.init(value1: header, value2: .init(data: record)))
    }
}

extension Components.Schemas.FamilyPlan: ChangeRecord {
    package static var changeEntity: Components.Schemas.ChangeEntity { .plan }
    package static func change(_ header: Components.Schemas.ChangeHeader, _ record: Self?) -> Components.Schemas.Change {
        .plan(.init(value1: header, value2: .init(data: record)))
    }
}
