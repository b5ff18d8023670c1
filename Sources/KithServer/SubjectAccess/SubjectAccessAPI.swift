import Foundation
import KithAPI
import KithCore
import OpenAPIRuntime

/// Subject access requests, for information-governance officers only: the request is a record with a clock, its bundle
/// is read through it (each family's read audited naming it), decisions are appended and never touch the record, and
/// each disclosure is kept exactly as served. Each handler reaches the database in one transaction of `records`.
extension KithService {
    /// The caller, who must be an information-governance officer (administrators read no case content).
    func governanceOfficer() throws -> Principal {
        let principal = try Principal.required()
        guard principal.has(.informationGovernance) else {
            throw KithError.forbidden("Subject access requests, retention and disposal are for information-governance officers.")
        }
        return principal
    }

    func createSubjectAccessRequest(_ input: Operations.CreateSubjectAccessRequest.Input) async throws -> Operations.CreateSubjectAccessRequest.Output {
        _ = try governanceOfficer()
        let body = switch input.body { case .json(let body): body }
        let request = try NewSubjectAccessRequest(body)
        let created = try await records { records in
            try await records.save(request)
            return try await records.subjectAccessRequest(request.id, open: false)
        }
        return .created(.init(body: .json(created)))
    }

    func listSubjectAccessRequests(_ input: Operations.ListSubjectAccessRequests.Input) async throws -> Operations.ListSubjectAccessRequests.Output {
        _ = try governanceOfficer()
        let requests = try await records { try await $0.subjectAccessRequests() }
        let chosen = switch input.query.status {
        case nil: requests
        case .open?: requests.filter { $0.status != .closed }
        case .paused?: requests.filter { $0.status == .paused }
        case .closed?: requests.filter { $0.status == .closed }
        }
        return .ok(.init(body: .json(.init(items: chosen))))
    }

    func getSubjectAccessRequest(_ input: Operations.GetSubjectAccessRequest.Input) async throws -> Operations.GetSubjectAccessRequest.Output {
        _ = try governanceOfficer()
        let id = try UUID(path: input.path.requestId)
        return .ok(.init(body: .json(try await records { try await $0.subjectAccessRequest(id, open: false) })))
    }

    func recordSubjectAccessEvent(_ input: Operations.RecordSubjectAccessEvent.Input) async throws -> Operations.RecordSubjectAccessEvent.Output {
        _ = try governanceOfficer()
        let body = switch input.body { case .json(let body): body }
        let event = try SubjectAccessEvent(requestId: try UUID(path: input.path.requestId), body)
        let request = try await records { records in
            try await records.save(event)
            return try await records.subjectAccessRequest(event.requestId, open: false)
        }
        return .created(.init(body: .json(request)))
    }

    func getSubjectAccessBundle(_ input: Operations.GetSubjectAccessBundle.Input) async throws -> Operations.GetSubjectAccessBundle.Output {
        _ = try governanceOfficer()
        let id = try UUID(path: input.path.requestId)
        let items = try await records { try await $0.subjectAccessBundle(id).decided }
        return .ok(.init(body: .json(.init(requestId: id.text, items: items))))
    }

    func redactSubjectAccessItem(_ input: Operations.RedactSubjectAccessItem.Input) async throws -> Operations.RedactSubjectAccessItem.Output {
        _ = try governanceOfficer()
        let body = switch input.body { case .json(let body): body }
        let draft = try SubjectAccessDecisionDraft(requestId: try UUID(path: input.path.requestId), body)
        return .created(.init(body: .json(try await records { try await $0.save(draft) })))
    }

    func releaseSubjectAccessItem(_ input: Operations.ReleaseSubjectAccessItem.Input) async throws -> Operations.ReleaseSubjectAccessItem.Output {
        _ = try governanceOfficer()
        let body = switch input.body { case .json(let body): body }
        let draft = try SubjectAccessDecisionDraft(requestId: try UUID(path: input.path.requestId), body)
        return .created(.init(body: .json(try await records { try await $0.save(draft) })))
    }

    func createSubjectAccessDisclosure(_ input: Operations.CreateSubjectAccessDisclosure.Input) async throws -> Operations.CreateSubjectAccessDisclosure.Output {
        _ = try governanceOfficer()
        let id = try UUID(path: input.path.requestId)
        return .created(.init(body: .json(try await records { try await $0.disclose(id, templates: documents) })))
    }

    func getSubjectAccessDisclosure(_ input: Operations.GetSubjectAccessDisclosure.Input) async throws -> Operations.GetSubjectAccessDisclosure.Output {
        _ = try governanceOfficer()
        let (requestId, disclosureId) = (try UUID(path: input.path.requestId), try UUID(path: input.path.disclosureId))
        let document = try await records { try await $0.disclosureDocument(requestId, disclosureId) }
        return .ok(.init(body: .html(HTTPBody(document))))
    }

    func getHolidays(_ input: Operations.GetHolidays.Input) async throws -> Operations.GetHolidays.Output {
        try requireHolidayKeeper()
        return .ok(.init(body: .json(try await records { try await $0.holidays() }.map(\.description))))
    }

    func putHolidays(_ input: Operations.PutHolidays.Input) async throws -> Operations.PutHolidays.Output {
        try requireHolidayKeeper()
        let body = switch input.body { case .json(let body): body }
        var check = Validation()
        check.count("days", body.count, max: 400)
        let days = body.enumerated().compactMap { index, text in
            let day = CalendarDay(text)
            if day == nil { check.add("days[\(index)]", "must be a day, YYYY-MM-DD") }
            return day
        }
        try check.orThrow()
        let kept = try await records { records in
            try await records.setHolidays(Array(Set(days)).sorted())
            return try await records.holidays()
        }
        return .ok(.init(body: .json(kept.map(\.description))))
    }

    /// The organisation's days off are kept by its administrators and its information-governance officers.
    private func requireHolidayKeeper() throws {
        let principal = try Principal.required()
        guard principal.has(.admin) || principal.has(.informationGovernance) else {
            throw KithError.forbidden("The organisation's days off are kept by administrators and information-governance officers.")
        }
    }
}
