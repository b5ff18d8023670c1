import Foundation
import KithAPI
import KithCore

/// Search runs in a transaction of `records`: the caller's relationships beyond their teams (judged by `FamilyAccess`
/// into a `ReadingScope`), the search, and its audit events.
extension KithService {
    func searchNotes(_ input: Operations.SearchNotes.Input) async throws -> Operations.SearchNotes.Output {
        let principal = try Principal.required()
        let q = input.query.q
        let asked: SearchQuery
        do { asked = try SearchQuery(parsing: q) } catch { throw KithError.invalidField("q", error.description) }
        var check = Validation()
        let family = check.uuid("familyId", input.query.familyId)
        let limit = input.query.limit ?? 20
        if !(1...50).contains(limit) { check.add("limit", "must be between 1 and 50") }
        try check.orThrow()
        try admitSearch(by: principal)

        // The question is signed into the cursor, not carried in it: a cursor is good only for the same question.
        let cursors = try cursors()
        let context = q + "\u{0}" + (family?.text ?? "")
        var after: NoteSearchPosition?
        if let keys = try cursors.read(input.query.cursor, keys: 3, list: .noteSearch, for: principal, context: context, field: "cursor") {
            guard let asOf = Int(keys[0]), let rank = Double(keys[1]), let noteId = UUID(uuidString: keys[2]) else {
                throw ListCursor.notFromThisList("cursor")
            }
            after = NoteSearchPosition(asOf: asOf, rank: rank, noteId: noteId)
        }
        let asOf = after?.asOf ?? Int(Date().timeIntervalSince1970)

        let (found, more) = try await records { records in
            if let family { _ = try await records.access(family, for: .read) }
            let related = try await records.relationshipsBeyondTeams()
            var found = try await records.searchNotes(
                asked, in: ReadingScope(principal, relationships: related.values), family: family, asOf: asOf, after: after,
                limit: limit)
            let more = found.hits.count > limit
            if more { found.hits.removeLast() }
            try await records.auditSearch(
                "noteSearch", length: q.count, hits: found.total, shown: found.shown(related: related, for: principal))
            return (found, more)
        }
        let next = more ? found.hits.last.map { last in
            cursors.make([String(asOf), String(last.rank), last.noteId], list: .noteSearch, for: principal, context: context)
        } : nil
        return .ok(.init(body: .json(.init(items: found.hits, nextCursor: next))))
    }

    func findFamilies(_ input: Operations.FindFamilies.Input) async throws -> Operations.FindFamilies.Output {
        let principal = try Principal.required()
        guard !principal.isAdminOnly else {
            throw KithError.forbidden("Administrators manage the organisation; families are found by those who work with them.")
        }
        let asked = try FamilyFinderQuestion(input.query.q)
        try admitSearch(by: principal)
        let items = try await records { records in
            let found = try await records.findFamilies(like: asked.name, bornOn: asked.bornOn)
            let access = try await records.relationships(found.map(\.id))
            try await records.auditSearch("familySearch", length: input.query.q.count, hits: found.count)
            return found.map { family in
                Components.Schemas.FoundFamily(
                    familyId: family.id.text, reference: family.reference, displayName: family.displayName,
                    relationship: access[family.id]?.hasRelationship ?? false, breakGlassOpen: access[family.id]?.breakGlass ?? false)
            }
        }
        return .ok(.init(body: .json(.init(items: items))))
    }

    /// One of the worker's searches a minute (`KITH_SEARCHES_PER_MINUTE`), or 429.
    private func admitSearch(by principal: Principal) throws {
        if let wait = searches.take([(principal.workerId, config.searchesPerMinute)]) {
            throw KithError.tooManyRequests(retryAfter: wait, "You have searched very often; wait a moment, then search again.")
        }
    }
}

/// What the family finder is asked: a name (a family's, a reference or a person's) of three characters or more, and
/// perhaps a date of birth written yyyy-mm-dd among its words.
struct FamilyFinderQuestion {
    let name: String
    let bornOn: CalendarDay?

    init(_ q: String) throws {
        guard (3...200).contains(q.count) else { throw KithError.invalidField("q", "must be 3 to 200 characters") }
        var words: [Substring] = []
        var days: [CalendarDay] = []
        for word in q.split(whereSeparator: \.isWhitespace) {
            if word.count == 10, let day = CalendarDay(String(word)) { days.append(day) } else { words.append(word) }
        }
        name = words.joined(separator: " ")
        guard days.count <= 1 else { throw KithError.invalidField("q", "may hold one date of birth (yyyy-mm-dd)") }
        guard name.count >= 3 else {
            throw KithError.invalidField("q", "needs at least three letters of a name (a date of birth only narrows a name)")
        }
        bornOn = days.first
    }
}
