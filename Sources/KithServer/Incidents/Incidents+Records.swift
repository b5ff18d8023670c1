import Foundation
import KithAPI
import KithCore
import PostgresNIO

extension Records {
    /// The views of the family's page that showed a note while it was written for the family, from when it was written
    /// until `until` (now, without one): each page view of its family's members (`familyPage` reads in the family's
    /// audit), oldest first, as many as the record holds up to 1,000. The caller knows the note was the family's.
    func familyPageViews(of noteId: UUID, family familyId: UUID, until: Date? = nil) async throws -> [Components.Schemas.FamilyPageView] {
        let rows = try await query(
            """
            SELECT e.person_id, e.at FROM audit_events e
            JOIN notes n ON n.organisation_id = e.organisation_id AND n.id = \(noteId)
            WHERE e.organisation_id = \(principal.organisationId) AND e.family_id = \(familyId) AND e.action = 'read'
              AND e.entity = 'familyPage' AND e.person_id IS NOT NULL
              AND e.at >= n.created_at AND (\(until)::timestamptz IS NULL OR e.at <= \(until))
            ORDER BY e.at, e.id
            LIMIT 1000
            """)
        var views: [Components.Schemas.FamilyPageView] = []
        for try await (person, at) in rows.decode((UUID, Date).self) { views.append(.init(personId: person.text, viewedAt: at)) }
        return views
    }

    /// A note written for the family leaves their page (withdrawn or refiled) after someone there saw it: a data
    /// incident, a review item for the family's supervisors and an event in the family's audit. The views, none when
    /// nobody saw it (and nothing is opened).
    func openIncident(about noteId: UUID, access: FamilyAccess) async throws -> [Components.Schemas.FamilyPageView] {
        let views = try await familyPageViews(of: noteId, family: access.familyId)
        guard !views.isEmpty else { return [] }
        let id = UUID()
        let openedAt = try await query(
            """
            INSERT INTO data_incidents (organisation_id, id, kind, family_id, note_id, opened_by)
            VALUES (\(principal.organisationId), \(id), 'familyPageDisclosure', \(access.familyId), \(noteId), \(principal.workerId))
            RETURNING opened_at
            """).decode(Date.self).first { _ in true } ?? Date()
        struct About: Encodable { let incidentId: String; let noteId: String }
        try await addReviewItem(
            .incident, familyId: access.familyId, teamId: access.teamId, deviceId: nil, mutationId: nil,
            summary: "A note written for the family was shown on their page \(views.count == 1 ? "once" : "\(views.count) times") "
                + "and has been taken off it: decide by \(Incident.reportableBy(openedAt).formatted(.iso8601)) whether to report it",
            reason: "familyPageDisclosure", payload: try KithJSON.text(About(incidentId: id.text, noteId: noteId.text)), recipients: [])
        try await audit(.write, "dataIncident", recordId: id, access: access)
        return views
    }

    /// Incidents the caller may see, newest first (200 at most): whole for the supervisors of the family's team, and
    /// for administrators their ids, dates and counts without who saw what or why it was decided so.
    func incidents(only id: UUID? = nil) async throws -> [Components.Schemas.Incident] {
        let rows = try await query(
            """
            SELECT i.id, i.family_id, f.team_id, i.note_id, i.opened_at FROM data_incidents i
            JOIN families f ON f.organisation_id = i.organisation_id AND f.id = i.family_id
            WHERE i.organisation_id = \(principal.organisationId) AND (\(id)::uuid IS NULL OR i.id = \(id))
            ORDER BY i.opened_at DESC, i.id
            LIMIT 200
            """).collect().map { try $0.decode((UUID, UUID, UUID, UUID, Date).self) }
        var incidents: [Components.Schemas.Incident] = []
        for (incident, family, team, note, openedAt) in rows {
            let whole = principal.supervises(team: team)
            guard whole || principal.has(.admin) else { continue }
            let views = try await familyPageViews(of: note, family: family, until: openedAt)
            var decisions: [Components.Schemas.Incident.DecisionsPayloadPayload] = []
            for try await (reported, reason, by, at) in try await query(
                """
                SELECT reported_to_regulator, reason, decided_by, decided_at FROM incident_decisions
                WHERE organisation_id = \(principal.organisationId) AND incident_id = \(incident) ORDER BY decided_at, id
                """).decode((Bool, String, UUID, Date).self) {
                decisions.append(.init(reportedToRegulator: reported, reason: whole ? reason : nil, by: by.text, at: at))
            }
            incidents.append(.init(
                id: incident.text, kind: .familyPageDisclosure, familyId: family.text, noteId: note.text, openedAt: openedAt,
                reportableBy: Incident.reportableBy(openedAt), views: views.count, viewedBy: whole ? views : nil, decisions: decisions))
        }
        if id != nil, incidents.isEmpty { throw KithError.notFound }
        return incidents
    }

    /// A decision on an incident, the family's supervisors' to record.
    func decide(_ id: UUID, reportedToRegulator: Bool, reason: String) async throws {
        guard let family = try await query(
            "SELECT family_id FROM data_incidents WHERE organisation_id = \(principal.organisationId) AND id = \(id)"
        ).decode(UUID.self).first(where: { _ in true }) else { throw KithError.notFound }
        let access = try await self.access(family, for: .read)
        guard access.supervisesTeam else { throw KithError.forbidden("The family's supervisors decide on its data incidents.") }
        try await query(
            """
            INSERT INTO incident_decisions (organisation_id, id, incident_id, reported_to_regulator, reason, decided_by)
            VALUES (\(principal.organisationId), \(UUID()), \(id), \(reportedToRegulator), \(reason), \(principal.workerId))
            """)
        try await audit(
            .write, "incidentDecision", recordId: id, access: access,
            reason: reportedToRegulator ? "reported to the regulator" : "not reported to the regulator")
    }
}

/// What every incident is held to.
enum Incident {
    /// UK GDPR Art. 33: a breach is reported to the regulator within 72 hours of the controller becoming aware of it.
    static func reportableBy(_ openedAt: Date) -> Date { openedAt.addingTimeInterval(72 * 3600) }
}
