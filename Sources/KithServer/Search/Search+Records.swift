import Foundation
import KithAPI
import KithCore
import PostgresNIO

/// Where a page of a note search starts: after the last note shown, ranked as on the first page (whose moment `asOf`
/// weighs recency on every page, so a note's rank does not move between pages).
struct NoteSearchPosition {
    let asOf: Int
    let rank: Double
    let noteId: UUID
}

/// A page of notes found, and how many were found in all.
struct NoteSearchResult {
    var hits: [Components.Schemas.NoteSearchHit]
    var teamOf: [UUID: UUID]
    var total: Int

    /// Each family the page shows, with the caller's access to it (`related`: their allocations and break-glass; any
    /// other family shown is of a team they supervise) and whether it showed them a restricted note not their own: what
    /// the search's audit marks `breakGlass`.
    func shown(related: [UUID: FamilyAccess], for principal: Principal) -> [(access: FamilyAccess, restricted: Bool)] {
        Dictionary(grouping: hits, by: \.familyId).compactMap { familyText, hits in
            guard let familyId = UUID(uuidString: familyText), let team = teamOf[familyId] else { return nil }
            let access = related[familyId] ?? FamilyAccess(
                FamilyRelationship(familyId: familyId, teamId: team, allocationRole: nil, breakGlass: false), of: principal)
            return (access, hits.contains { $0.audience == .restricted && $0.authorId != principal.workerId.text })
        }
    }
}

extension Records {
    /// The notes in `scope` whose current text matches `asked`: never a withdrawn note, a restricted one only where the
    /// scope sees restricted notes (and to its author), best first (text-search rank over one plus the note's age in
    /// years at `asOf`). The latest revision of a note is the one searched (note_revisions.search, migration 0036);
    /// `limit + 1` rows say whether a page follows.
    ///
    /// The candidates are found two ways, each planned on its own: in the families named (a caseload: their revisions by
    /// the family index, a few hundred, each tested against the question by `ts_match_vq`, the function behind `@@`,
    /// which no index serves: given `@@`, PostgreSQL would first read the GIN index's every match of a common word in
    /// the whole organisation, 70 ms of 75 for "breakfast club" among 20,000 families) and in the teams supervised
    /// (thousands of families: the question's GIN index first). Each candidate says whether the caller sees restricted
    /// notes there (the scope's decision), so the families are read for the page's rows only. For a caller who supervises no team the second is never run: its
    /// `cardinality(teams) > 0` is a one-time filter, checked before it reads anything even in a plan PostgreSQL keeps
    /// for the prepared statement.
    func searchNotes(
        _ asked: SearchQuery, in scope: ReadingScope, family: UUID?, asOf: Int, after: NoteSearchPosition?, limit: Int
    ) async throws -> NoteSearchResult {
        let phrases = asked.phrases.map { $0.joined(separator: " ") }
        let excluded = asked.excluded.map { $0.joined(separator: " ") }
        let organisation = principal.organisationId
        let query: PostgresQuery = """
            WITH asked AS (SELECT kith_search_query(\(asked.words), \(phrases), \(excluded), \(asked.prefix)::text) AS q),
            candidates AS (
                SELECT r.id, r.note_id, r.family_id, r.number, r.search,
                       r.family_id = ANY(\(scope.restrictedFamilies)) AS sees_restricted
                FROM asked, note_revisions r
                WHERE r.organisation_id = \(organisation) AND r.family_id = ANY(\(scope.families))
                  AND ts_match_vq(r.search, asked.q)
                  AND (\(family)::uuid IS NULL OR r.family_id = \(family)::uuid)
                UNION ALL
                SELECT r.id, r.note_id, r.family_id, r.number, r.search, true
                FROM asked, note_revisions r
                JOIN families f ON f.organisation_id = r.organisation_id AND f.id = r.family_id
                WHERE cardinality(\(scope.teams)::uuid[]) > 0
                  AND r.organisation_id = \(organisation) AND f.team_id = ANY(\(scope.teams))
                  AND NOT r.family_id = ANY(\(scope.families)) AND r.search @@ asked.q
                  AND (\(family)::uuid IS NULL OR r.family_id = \(family)::uuid)),
            found AS (
                SELECT c.id AS revision_id, c.note_id, c.family_id, n.author_id, n.audience,
                       CASE WHEN n.clock_suspect THEN n.created_at ELSE coalesce(n.device_recorded_at, n.created_at) END AS at,
                       (ts_rank(c.search, asked.q)
                        / (1 + extract(epoch FROM to_timestamp(\(asOf)::bigint) - n.created_at) / 31557600))::float8 AS rank
                FROM asked, candidates c
                JOIN current_notes n ON n.organisation_id = \(organisation) AND n.id = c.note_id
                WHERE NOT EXISTS (SELECT 1 FROM note_revisions later
                                  WHERE later.organisation_id = \(organisation) AND later.note_id = c.note_id
                                    AND later.number > c.number)
                  AND NOT EXISTS (SELECT 1 FROM note_withdrawals w
                                  WHERE w.organisation_id = \(organisation) AND w.note_id = c.note_id)
                  AND kith_note_readable(n.audience, n.author_id, \(principal.workerId), c.sees_restricted)),
            page AS (
                SELECT * FROM (SELECT found.*, count(*) OVER () AS total FROM found) counted
                WHERE \(after?.noteId)::uuid IS NULL
                   OR (rank, note_id) < (\(after?.rank)::float8, \(after?.noteId)::uuid)
                ORDER BY rank DESC, note_id DESC
                LIMIT \(limit + 1))
            SELECT page.note_id, page.family_id, f.team_id, f.reference, f.display_name, page.author_id,
                   page.audience, page.at, page.rank, page.total,
                   ts_headline('english',
                               r.body || ' ' || coalesce(r.observed, '') || ' ' || coalesce(r.analysis, '') || ' '
                               || coalesce(r.decision, '') || ' ' || coalesce(r.family_words, '') || ' '
                               || coalesce(r.next_steps, ''),
                               asked.q, 'StartSel=**, StopSel=**, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "')
                   AS snippet
            FROM page
            CROSS JOIN asked
            JOIN note_revisions r ON r.organisation_id = \(organisation) AND r.id = page.revision_id
            JOIN families f ON f.organisation_id = \(organisation) AND f.id = page.family_id
            ORDER BY page.rank DESC, page.note_id DESC
            """
        // A caseload's search is prepared once per connection (the plan PostgreSQL keeps for it reads the family index);
        // a supervisor's, over thousands of families, is planned each time with its teams in hand: the kept plan, not
        // knowing them, took three times as long (3.6 s against 1.2 s for "breakfast club" in a 10,000-family team).
        let rows = scope.teams.isEmpty ? try await self.query(NoteSearch.self, query) : try await self.query(query).collect()
        var result = NoteSearchResult(hits: [], teamOf: [:], total: 0)
        for row in rows {
            let row = row.makeRandomAccess()
            let noteId = try row.decode("note_id", as: UUID.self)
            let familyId = try row.decode("family_id", as: UUID.self)
            let rank = try row.decode("rank", as: Double.self)
            result.total = try row.decode("total", as: Int.self)
            result.teamOf[familyId] = try row.decode("team_id", as: UUID.self)
            result.hits.append(.init(
                noteId: noteId.text, familyId: familyId.text, reference: try row.decode("reference"),
                displayName: try row.decode("display_name"), at: try row.decode("at"),
                authorId: try row.decode("author_id", as: UUID.self).text,
                audience: .init(rawValue: try row.decode("audience")) ?? .restricted,
                snippet: try row.decode("snippet"), rank: rank))
        }
        return result
    }

    /// Families of the organisation like `name` (trigram word similarity at least one half, so "Okafur" finds "Okafor")
    /// in their name, reference or a person's name, and with a person born on `bornOn` when given: at most 20, most
    /// alike first. Only what the finder shows is read.
    func findFamilies(like name: String, bornOn: CalendarDay?) async throws -> [(id: UUID, reference: String?, displayName: String)] {
        try await query("SELECT set_config('pg_trgm.word_similarity_threshold', '0.5', true)")
        let rows = try await query(
            """
            SELECT f.id, f.reference, f.display_name, max(alike.score) AS score
            FROM (SELECT id AS family_id, word_similarity(\(name), display_name) AS score FROM families
                  WHERE organisation_id = \(principal.organisationId) AND \(name) <% display_name
                  UNION ALL
                  SELECT id, word_similarity(\(name), reference) FROM families
                  WHERE organisation_id = \(principal.organisationId) AND \(name) <% reference
                  UNION ALL
                  SELECT family_id, word_similarity(\(name), p.name) FROM people p
                  WHERE organisation_id = \(principal.organisationId) AND \(name) <% p.name) alike
            JOIN families f ON f.organisation_id = \(principal.organisationId) AND f.id = alike.family_id
            WHERE \(bornOn?.description)::date IS NULL
               OR EXISTS (SELECT 1 FROM people born
                          WHERE born.organisation_id = f.organisation_id AND born.family_id = f.id
                            AND born.date_of_birth = \(bornOn?.description)::date)
            GROUP BY f.id, f.reference, f.display_name
            ORDER BY score DESC, f.display_name, f.id
            LIMIT 20
            """)
        var found: [(id: UUID, reference: String?, displayName: String)] = []
        for try await (id, reference, displayName, _) in rows.decode((UUID, String?, String, Float).self) {
            found.append((id, reference, displayName))
        }
        return found
    }

    /// The search's audit: one event for the search itself (no family), and one for each family whose notes it showed,
    /// marked `breakGlass` where only break-glass let the caller read them. Each says how long the question was and how
    /// many it found; none holds its words.
    func auditSearch(
        _ entity: String, length: Int, hits: Int, shown: [(access: FamilyAccess, restricted: Bool)] = []
    ) async throws {
        try await query(
            SearchAudit.self,
            """
            SELECT kith_audit(\(principal.workerId), NULL, ARRAY[NULL]::uuid[] || \(shown.map(\.access.familyId)), 'read',
                              \(entity), ARRAY[NULL]::uuid[], NULL,
                              ARRAY[false] || \(shown.map { $0.access.needsBreakGlass(.read, restricted: $0.restricted) }),
                              '{}', NULL, NULL, \(length)::integer, \(hits)::integer)
            """)
    }
}

enum NoteSearch: HotStatement {}
enum SearchAudit: HotStatement {}
