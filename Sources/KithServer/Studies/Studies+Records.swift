import Crypto
import Foundation
import KithAPI
import KithCore
import PostgresNIO

extension Records {
    /// A change of practice, recorded by the team's supervisors or an administrator, in the organisation's feed.
    func save(_ change: PracticeChangeDraft) async throws -> Components.Schemas.PracticeChange {
        guard principal.supervises(team: change.teamId) || principal.has(.admin) else {
            throw KithError.forbidden("A team's changes of practice are recorded by its supervisors or an administrator.")
        }
        guard try await query(
            "SELECT 1 FROM teams WHERE organisation_id = \(principal.organisationId) AND id = \(change.teamId)"
        ).decode(Int.self).first(where: { _ in true }) != nil else { throw KithError.invalidField("teamId", "is not a team of the organisation") }
        try await query(
            """
            INSERT INTO practice_changes (organisation_id, id, team_id, started_on, description, created_by)
            VALUES (\(principal.organisationId), \(change.id), \(change.teamId), \(change.startedOn.description)::date,
                    \(change.description), \(principal.workerId))
            """)
        try await auditAdministration("practiceChange", recordId: change.id, teamIds: [change.teamId], reason: "started on \(change.startedOn)")
        return try await practiceChanges().first { $0.id == change.id.text }!
    }

    /// The organisation's changes of practice (or a team's), earliest first, each with its code: `C` and its place in
    /// the order the organisation recorded them, so a code never changes.
    func practiceChanges(team: UUID? = nil) async throws -> [Components.Schemas.PracticeChange] {
        var changes: [Components.Schemas.PracticeChange] = []
        for try await row in try await query(
            """
            SELECT id, code, team_id, started_on::text, description, created_by, created_at FROM (
                SELECT c.*, 'C' || row_number() OVER (ORDER BY c.created_at, c.id) AS code FROM practice_changes c
                WHERE c.organisation_id = \(principal.organisationId)) numbered
            WHERE \(team)::uuid IS NULL OR team_id = \(team)
            ORDER BY started_on, created_at, id
            LIMIT 1000
            """) {
            let row = row.makeRandomAccess()
            changes.append(.init(
                id: try row.decode("id", as: UUID.self).text, code: try row.decode("code"), teamId: try row.decode("team_id", as: UUID.self).text,
                startedOn: try row.decode("started_on"), description: try row.decode("description"),
                createdBy: try row.decode("created_by", as: UUID.self).text, createdAt: try row.decode("created_at")))
        }
        return changes
    }

    func save(_ study: ResearchStudyDraft) async throws -> Components.Schemas.ResearchStudy {
        try await query(
            """
            INSERT INTO research_studies (organisation_id, id, title, ethics_reference, from_day, to_day, fields, pseudonym_key, created_by)
            VALUES (\(principal.organisationId), \(study.id), \(study.title), \(study.ethicsReference), \(study.from.description)::date,
                    \(study.to.description)::date, \(study.fields.map(\.rawValue)), \(ResearchExtract.newKey()), \(principal.workerId))
            """)
        try await auditAdministration("researchStudy", recordId: study.id, reason: "proposed under \(study.ethicsReference)")
        return try await researchStudies(only: study.id)[0]
    }

    /// The organisation's studies, newest first, each with its approval and the log of its extracts.
    func researchStudies(only id: UUID? = nil) async throws -> [Components.Schemas.ResearchStudy] {
        var studies: [Components.Schemas.ResearchStudy] = []
        for try await row in try await query(
            """
            SELECT s.id, s.title, s.ethics_reference, s.from_day::text, s.to_day::text, s.fields, s.created_by, s.created_at,
                   a.approved_by, a.approved_at,
                   coalesce((SELECT json_agg(json_build_object(
                                 'id', e.id, 'rows', e.rows, 'sha256', encode(e.sha256, 'hex'), 'createdBy', e.created_by,
                                 'createdAt', to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) ORDER BY e.created_at)
                             FROM research_extracts e WHERE e.organisation_id = s.organisation_id AND e.study_id = s.id), '[]')::text AS extracts
            FROM research_studies s
            LEFT JOIN research_study_approvals a ON a.organisation_id = s.organisation_id AND a.study_id = s.id
            WHERE s.organisation_id = \(principal.organisationId) AND (\(id)::uuid IS NULL OR s.id = \(id))
            ORDER BY s.created_at DESC, s.id
            LIMIT 200
            """) {
            let row = row.makeRandomAccess()
            studies.append(.init(
                id: try row.decode("id", as: UUID.self).text, title: try row.decode("title"), ethicsReference: try row.decode("ethics_reference"),
                from: try row.decode("from_day"), to: try row.decode("to_day"),
                fields: try row.decode("fields", as: [String].self).compactMap(Components.Schemas.ExtractField.init(rawValue:)),
                createdBy: try row.decode("created_by", as: UUID.self).text, createdAt: try row.decode("created_at"),
                approvedBy: try row.decode("approved_by", as: UUID?.self)?.text, approvedAt: try row.decode("approved_at"),
                extracts: try KithJSON.decode([Components.Schemas.ResearchStudy.ExtractsPayloadPayload].self, from: try row.decode("extracts"))))
        }
        if id != nil, studies.isEmpty { throw KithError.notFound }
        return studies
    }

    /// Another administrator than its proposer approves a study, once.
    func approveStudy(_ id: UUID) async throws -> Components.Schemas.ResearchStudy {
        let study = try await researchStudies(only: id)[0]
        guard study.createdBy != principal.workerId.text else {
            throw KithError.forbidden("A study is approved by another administrator than the one who proposed it.")
        }
        guard study.approvedBy == nil else { throw KithError.conflict("already_approved", "This study is already approved.") }
        try await query(
            """
            INSERT INTO research_study_approvals (organisation_id, study_id, approved_by)
            VALUES (\(principal.organisationId), \(id), \(principal.workerId))
            ON CONFLICT DO NOTHING
            """)
        try await auditAdministration("researchStudy", recordId: id, reason: "approved")
        return try await researchStudies(only: id)[0]
    }

    /// An approved study's extract, drawn now, kept as its SHA-256 and row count and audited with them.
    func drawExtract(_ id: UUID) async throws -> ResearchExtract {
        let study = try await researchStudies(only: id)[0]
        guard study.approvedBy != nil else {
            throw KithError.conflict("study_not_approved", "A study draws no extract until another administrator approves it.")
        }
        guard let (key, from, to) = try await query(
            """
            SELECT pseudonym_key, from_day::text, to_day::text FROM research_studies
            WHERE organisation_id = \(principal.organisationId) AND id = \(id)
            """).decode((Data, String, String).self).first(where: { _ in true }) else { throw KithError.notFound }
        let codes = Dictionary(uniqueKeysWithValues: try await practiceChanges().map { ($0.id, $0.code) })
        var episodes: [ResearchExtract.Episode] = []
        for row in try await query(ResearchEpisodes.self, ResearchExtract.episodes(organisation: principal.organisationId, from: from, to: to)) {
            episodes.append(try ResearchExtract.Episode(row.makeRandomAccess(), codes: codes))
        }
        let extract = ResearchExtract(
            key: SymmetricKey(data: key), fields: study.fields.isEmpty ? Components.Schemas.ExtractField.allCases : study.fields,
            episodes: episodes)
        try await query(
            """
            INSERT INTO research_extracts (organisation_id, id, study_id, rows, sha256, created_by)
            VALUES (\(principal.organisationId), \(UUID()), \(id), \(episodes.count)::integer, \(extract.sha256), \(principal.workerId))
            """)
        try await auditAdministration(
            "researchExtract", recordId: id, reason: "\(episodes.count) rows, SHA-256 \(extract.sha256.hex)")
        return extract
    }
}

/// The statement an extract's episodes are read by.
enum ResearchEpisodes: HotStatement {}
