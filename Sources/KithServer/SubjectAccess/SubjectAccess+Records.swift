import Crypto
import Foundation
import KithAPI
import KithCore
import PostgresNIO

extension Records {
    /// Logs a request with its data subjects (each a person of the organisation, with their family), audited in each
    /// family's trail as a write naming the request.
    func save(_ request: NewSubjectAccessRequest) async throws {
        let found = try await query(
            "SELECT id, family_id FROM people WHERE organisation_id = \(principal.organisationId) AND id = ANY(\(request.dataSubjects))"
        ).collect().map { try $0.decode((UUID, UUID).self) }
        guard found.count == request.dataSubjects.count else {
            throw KithError.invalidField("dataSubjects", "names someone who is not in the organisation's records")
        }
        if let requester = request.requesterPersonId {
            let known = try await query("SELECT count(*) FROM people WHERE organisation_id = \(principal.organisationId) AND id = \(requester)")
                .decode(Int.self).first { _ in true } ?? 0
            guard known == 1 else { throw KithError.invalidField("requester.personId", "is not a person of the organisation's records") }
        }
        let body = request.body
        try await query(
            """
            INSERT INTO subject_access_requests (organisation_id, id, requester_person_id, requester_name, acting_for, received_on,
                                                 channel, created_by)
            VALUES (\(principal.organisationId), \(request.id), \(request.requesterPersonId), \(request.requesterName), \(body.actingFor.rawValue),
                    \(request.receivedOn.description)::date, \(body.channel.nilIfBlank), \(principal.workerId))
            """)
        try await query(
            """
            INSERT INTO subject_access_subjects (organisation_id, request_id, person_id, family_id)
            SELECT \(principal.organisationId), \(request.id), s.person, s.family FROM unnest(\(found.map(\.0)), \(found.map(\.1))) AS s(person, family)
            """)
        try await audit(.write, "subjectAccessRequest", recordId: request.id, familyIds: Array(Set(found.map(\.1))), subjectAccessRequest: request.id)
    }

    /// The organisation's requests (or the one asked for), each with its events, clock and disclosure log, soonest due
    /// first. A request of no organisation of the caller's is none at all.
    func subjectAccessRequests(only id: UUID? = nil) async throws -> [Components.Schemas.SubjectAccessRequest] {
        let holidays = Set(try await holidays())
        let today = CalendarDay.today
        let rows = try await query(
            """
            SELECT r.id, r.requester_person_id, r.requester_name, r.acting_for, r.received_on::text, r.channel, r.created_by, r.created_at,
                   (SELECT json_agg(json_build_object('personId', s.person_id, 'familyId', s.family_id) ORDER BY s.person_id)
                    FROM subject_access_subjects s WHERE s.organisation_id = r.organisation_id AND s.request_id = r.id)::text AS subjects,
                   coalesce((SELECT json_agg(json_build_object(
                                 'id', e.id, 'kind', e.kind, 'on', e.on_date, 'reason', e.reason, 'by', e.recorded_by,
                                 'at', to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
                             ORDER BY e.on_date, e.recorded_at)
                             FROM subject_access_events e WHERE e.organisation_id = r.organisation_id AND e.request_id = r.id), '[]')::text AS events,
                   coalesce((SELECT json_agg(json_build_object(
                                 'id', d.id, 'requestId', d.request_id, 'sha256', encode(d.sha256, 'hex'),
                                 'itemsDisclosed', d.items_disclosed, 'itemsWithheld', d.items_withheld, 'createdBy', d.created_by,
                                 'createdAt', to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
                             ORDER BY d.created_at)
                             FROM subject_access_disclosures d WHERE d.organisation_id = r.organisation_id AND d.request_id = r.id), '[]')::text AS disclosures
            FROM subject_access_requests r
            WHERE r.organisation_id = \(principal.organisationId) AND (\(id)::uuid IS NULL OR r.id = \(id))
            ORDER BY r.received_on, r.id
            LIMIT 1000
            """)
        var requests: [Components.Schemas.SubjectAccessRequest] = []
        for try await row in rows {
            let row = row.makeRandomAccess()
            let events = try KithJSON.decode(
                [Components.Schemas.SubjectAccessRequest.EventsPayloadPayload].self, from: try row.decode("events"))
            let received = CalendarDay(try row.decode("received_on", as: String.self))!
            let clock = SubjectAccessClock(
                receivedOn: received,
                events: events.compactMap { event in
                    CalendarDay(event.on).flatMap { on in SubjectAccessEventKind(rawValue: event.kind.rawValue).map { ($0, on) } }
                },
                holidays: holidays)
            requests.append(.init(
                id: try row.decode("id", as: UUID.self).text,
                requester: .init(personId: try row.decode("requester_person_id", as: UUID?.self)?.text, name: try row.decode("requester_name")),
                actingFor: .init(rawValue: try row.decode("acting_for"))!,
                dataSubjects: try KithJSON.decode([Components.Schemas.SubjectAccessRequest.DataSubjectsPayloadPayload].self, from: try row.decode("subjects")),
                receivedOn: received.description, channel: try row.decode("channel"), status: .init(rawValue: clock.status.rawValue)!,
                dueOn: clock.dueOn(today: today).description, overdue: clock.overdue(today: today), pausedDays: clock.pausedDays(today: today),
                extended: clock.extended, events: events,
                disclosures: try KithJSON.decode([Components.Schemas.SubjectAccessDisclosure].self, from: try row.decode("disclosures")),
                createdBy: try row.decode("created_by", as: UUID.self).text, createdAt: try row.decode("created_at")))
        }
        return requests.sorted { ($0.dueOn, $0.id) < ($1.dueOn, $1.id) }
    }

    /// The request as it stands; 404 for none, 409 `request_closed` for a closed one when `open` is asked for. Work on
    /// one request is serialised.
    func subjectAccessRequest(_ id: UUID, open: Bool) async throws -> Components.Schemas.SubjectAccessRequest {
        try await query("SELECT pg_advisory_xact_lock(hashtextextended(\(id.text), 0))")
        guard let request = try await subjectAccessRequests(only: id).first else { throw KithError.notFound }
        if open, request.status == .closed {
            throw KithError.conflict("request_closed", "This request is closed: its record is no longer read through it.")
        }
        return request
    }

    func save(_ event: SubjectAccessEvent) async throws {
        let request = try await subjectAccessRequest(event.requestId, open: true)
        guard event.on >= CalendarDay(request.receivedOn)! else {
            throw KithError.invalidField("on", "is before the request was received")
        }
        try await query(
            """
            INSERT INTO subject_access_events (organisation_id, id, request_id, kind, on_date, reason, recorded_by)
            VALUES (\(principal.organisationId), \(UUID()), \(event.requestId), \(event.kind.rawValue), \(event.on.description)::date, \(event.reason),
                    \(principal.workerId))
            """)
        try await auditAdministration("subjectAccessEvent", recordId: event.requestId, reason: event.kind.rawValue)
    }

    /// The request's data subjects, each with their family and name.
    func dataSubjects(of request: Components.Schemas.SubjectAccessRequest) async throws -> [DataSubject] {
        let ids = request.dataSubjects.compactMap { UUID(uuidString: $0.personId) }
        return try await query(
            "SELECT id, family_id, name FROM people WHERE organisation_id = \(principal.organisationId) AND id = ANY(\(ids)) ORDER BY name, id"
        ).collect().map { row in
            let (person, family, name) = try row.decode((UUID, UUID, String).self)
            return DataSubject(personId: person, familyId: family, name: name)
        }
    }

    /// The decisions made so far about the request's items, oldest first.
    func subjectAccessDecisions(_ requestId: UUID) async throws -> [Components.Schemas.SubjectAccessDecision] {
        let rows = try await query(
            """
            SELECT id, item_id, kind, text, exemption, reason, decided_by, decided_at FROM subject_access_decisions
            WHERE organisation_id = \(principal.organisationId) AND request_id = \(requestId)
            ORDER BY decided_at, id
            """)
        var decisions: [Components.Schemas.SubjectAccessDecision] = []
        for try await (id, item, kind, text, exemption, reason, by, at) in rows.decode((UUID, String, String, String?, String?, String, UUID, Date).self) {
            decisions.append(.init(
                id: id.text, itemId: item, kind: .init(rawValue: kind)!, text: text, exemption: exemption.flatMap { .init(rawValue: $0) },
                reason: reason, by: by.text, at: at))
        }
        return decisions
    }

    /// The bundle as decided so far: every item with its proposal, its decisions and where they leave it. A read of
    /// each family's record through the request, audited naming it, when `audited`.
    func subjectAccessBundle(_ requestId: UUID, audited: Bool = true) async throws -> (items: [BundleItem], decided: [Components.Schemas.SubjectAccessItem]) {
        let request = try await subjectAccessRequest(requestId, open: true)
        let subjects = try await dataSubjects(of: request)
        let items = try await bundleItems(of: subjects)
        let decisions = Dictionary(grouping: try await subjectAccessDecisions(requestId), by: \.itemId)
        if audited {
            try await audit(.read, "subjectAccessBundle", recordId: requestId, familyIds: Array(Set(subjects.map(\.familyId))), subjectAccessRequest: requestId)
        }
        let decided = items.map { item in
            let made = decisions[item.id] ?? []
            let outcome = DisclosureOutcome(item.proposal, decisions: made.map(\.outcome))
            return Components.Schemas.SubjectAccessItem(
                id: item.id, kind: item.kind, dataSubjectId: item.dataSubjectId.text, familyId: item.familyId.text, at: item.at,
                title: item.title, text: item.text, withdrawn: item.withdrawn ? true : nil, proposal: .init(rawValue: item.proposal.rawValue)!,
                rule: item.rule.rawValue, disclosed: outcome.disclosed, exemption: outcome.exemption.flatMap { .init(rawValue: $0.rawValue) },
                disclosedText: outcome.disclosed ? outcome.apply(to: item.text) : nil, decisions: made)
        }
        return (items, decided)
    }

    /// A person's decision about an item of the bundle: the item must be one of it, and a span must be in its text.
    func save(_ draft: SubjectAccessDecisionDraft) async throws -> Components.Schemas.SubjectAccessDecision {
        let (items, _) = try await subjectAccessBundle(draft.requestId, audited: false)
        guard let item = items.first(where: { $0.id == draft.itemId }) else {
            throw KithError.invalidField("itemId", "is not an item of this request's bundle")
        }
        let (kind, text, exemption): (String, String?, String?) = switch draft.decision {
        case .withhold(let why): ("redaction", nil, why.rawValue)
        case .redactSpan(let span, let why): ("redaction", span, why.rawValue)
        case .release: ("release", nil, nil)
        }
        if let text, !item.text.contains(text) { throw KithError.invalidField("text", "is not in the item's text") }
        let id = UUID()
        let at = try await query(
            """
            INSERT INTO subject_access_decisions (organisation_id, id, request_id, item_id, kind, text, exemption, reason, decided_by)
            VALUES (\(principal.organisationId), \(id), \(draft.requestId), \(draft.itemId), \(kind), \(text), \(exemption), \(draft.reason), \(principal.workerId))
            RETURNING decided_at
            """).decode(Date.self).first { _ in true } ?? Date()
        try await audit(
            .write, "subjectAccessDecision", recordId: id, familyIds: [item.familyId], reason: "\(kind) \(draft.itemId): \(draft.reason)",
            subjectAccessRequest: draft.requestId)
        return .init(
            id: id.text, itemId: draft.itemId, kind: .init(rawValue: kind)!, text: text, exemption: exemption.flatMap { .init(rawValue: $0) },
            reason: draft.reason, by: principal.workerId.text, at: at)
    }

    /// Renders the disclosure as decided now, keeps it with its SHA-256, and audits it as an export of each family's
    /// record naming the request.
    func disclose(_ requestId: UUID, templates: SubjectAccessDocument.Templates) async throws -> Components.Schemas.SubjectAccessDisclosure {
        let request = try await subjectAccessRequest(requestId, open: true)
        let subjects = try await dataSubjects(of: request)
        let (_, decided) = try await subjectAccessBundle(requestId, audited: false)
        let document = SubjectAccessDocument(request: request, subjects: subjects, items: decided)
        let html = templates.render(document)
        let digest = Data(SHA256.hash(data: Data(html.utf8)))
        let id = UUID()
        let at = try await query(
            """
            INSERT INTO subject_access_disclosures (organisation_id, id, request_id, document, sha256, items_disclosed, items_withheld, created_by)
            VALUES (\(principal.organisationId), \(id), \(requestId), \(html), \(digest), \(document.disclosedCount), \(document.withheldCount), \(principal.workerId))
            RETURNING created_at
            """).decode(Date.self).first { _ in true } ?? Date()
        try await audit(.export, "subjectAccessDisclosure", recordId: id, familyIds: Array(Set(subjects.map(\.familyId))), subjectAccessRequest: requestId)
        return .init(
            id: id.text, requestId: requestId.text, sha256: digest.hex, itemsDisclosed: document.disclosedCount,
            itemsWithheld: document.withheldCount, createdBy: principal.workerId.text, createdAt: at)
    }

    /// A disclosure's document exactly as it was made; reading it again is a read of each family's record through
    /// the request, audited naming it.
    func disclosureDocument(_ requestId: UUID, _ disclosureId: UUID) async throws -> String {
        let found = try await query(
            """
            SELECT d.document, ARRAY(SELECT DISTINCT s.family_id FROM subject_access_subjects s
                                     WHERE s.organisation_id = d.organisation_id AND s.request_id = d.request_id)
            FROM subject_access_disclosures d
            WHERE d.organisation_id = \(principal.organisationId) AND d.request_id = \(requestId) AND d.id = \(disclosureId)
            """).decode((String, [UUID]).self).first { _ in true }
        guard let (document, families) = found else { throw KithError.notFound }
        try await audit(.read, "subjectAccessDisclosure", recordId: disclosureId, familyIds: families, subjectAccessRequest: requestId)
        return document
    }

    func holidays() async throws -> [CalendarDay] {
        try await query("SELECT day::text FROM organisation_holidays WHERE organisation_id = \(principal.organisationId) ORDER BY day")
            .collect().compactMap { CalendarDay(try $0.decode(String.self)) }
    }

    /// Replaces the organisation's days off, audited in its feed.
    func setHolidays(_ days: [CalendarDay]) async throws {
        try await query("DELETE FROM organisation_holidays WHERE organisation_id = \(principal.organisationId)")
        try await query(
            """
            INSERT INTO organisation_holidays (organisation_id, day)
            SELECT \(principal.organisationId), d::date FROM unnest(\(days.map(\.description))::text[]) AS d
            """)
        try await auditAdministration("holidays", recordId: nil, reason: "\(days.count) days")
    }
}

extension Components.Schemas.SubjectAccessDecision {
    /// The decision as KithCore's outcome reads it.
    var outcome: DisclosureDecision {
        let exemption = self.exemption.flatMap { Exemption(rawValue: $0.rawValue) } ?? .other
        switch kind {
        case .release: return .release
        case .redaction: return text.map { .redactSpan($0, exemption) } ?? .withhold(exemption)
        }
    }
}
