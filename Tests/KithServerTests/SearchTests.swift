import Foundation
import HTTPTypes
import KithAPI
import KithCore
import Testing
@testable import KithServer

/// Find (issue #28): notes searched by their words and families found by their names, inside the access policy and
/// audited without the words asked.
@Suite struct SearchTests {
    /// The notes a search finds, as `who`.
    static func search(
        _ kith: Kith, _ q: String, as who: Fixture.Who, family: String? = nil, limit: Int? = nil, cursor: String? = nil
    ) async throws -> Components.Schemas.NoteSearchPage {
        try await kith.send(.get, path(q, family: family, limit: limit, cursor: cursor), as: who)
    }

    static func path(_ q: String, family: String? = nil, limit: Int? = nil, cursor: String? = nil) -> String {
        var items = [URLQueryItem(name: "q", value: q)]
        if let family { items.append(.init(name: "familyId", value: family)) }
        if let limit { items.append(.init(name: "limit", value: String(limit))) }
        if let cursor { items.append(.init(name: "cursor", value: cursor)) }
        var components = URLComponents()
        components.path = "/v1/search/notes"
        components.queryItems = items
        // `+` is a space to some servers' query parsers; sent escaped, it is a plus to all of them.
        return components.string!.replacingOccurrences(of: "+", with: "%2B")
    }

    static func find(_ kith: Kith, _ q: String, as who: Fixture.Who) async throws -> [Components.Schemas.FoundFamily] {
        var components = URLComponents()
        components.path = "/v1/search/families"
        components.queryItems = [URLQueryItem(name: "q", value: q)]
        let found: Components.Schemas.FamilyFinderResult = try await kith.send(.get, components.string!, as: who)
        return found.items
    }

    @discardableResult
    static func note(
        _ kith: Kith, _ body: String, on family: Components.Schemas.Family, by who: Fixture.Who = .priya,
        audience: String = "professional"
    ) async throws -> Components.Schemas.JudgmentNote {
        try await kith.send(
            .post, "/v1/families/\(family.id)/notes", as: who, json: ["body": body, "audience": audience], expect: .created)
    }

    /// Another family's, another organisation's and withdrawn notes never appear; a restricted note only for those who
    /// see restricted notes; a supervisor searches the team; break-glass opens one family's notes for its time only.
    @Test func aSearchFindsOnlyWhatTheCallerMayReadNow() async throws {
        try await Kith.run { kith in
            let north = try await kith.openFamily("The Fairweather family")
            let south = try await kith.openFamily("The Quinn family", by: .omar)
            let priyas = try await Self.note(kith, "We talked about the school move in September.", on: north)
            let restricted = try await Self.note(kith, "Concerns about the new partner at the school gate.", on: north, audience: "restricted")
            let trip = try await Self.note(kith, "The school trip form went home with Amy.", on: north)
            try await Self.note(kith, "The school move for the Quinn children is agreed.", on: south, by: .omar)
            let elsewhere: Components.Schemas.Family = try await kith.send(
                .post, "/v1/families", as: .zed, json: ["displayName": "The Elsewhere family"], expect: .created)
            try await Self.note(kith, "A school move elsewhere.", on: elsewhere, by: .zed)
            let _: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/notes/\(trip.id)/withdraw", as: .priya, json: ["reason": "Written on the wrong family"])

            let mine = try await Self.search(kith, "school", as: .priya)
            #expect(Set(mine.items.map(\.noteId)) == [priyas.id, restricted.id])
            #expect(mine.items.allSatisfy { $0.familyId == north.id && $0.displayName == "The Fairweather family" })
            #expect(try await Self.search(kith, "school", as: .omar).items.allSatisfy { $0.familyId == south.id })
            #expect(try await Self.search(kith, "school", as: .zed).items.map(\.familyId) == [elsewhere.id])
            #expect(try await Self.search(kith, "trip", as: .priya).items.isEmpty)
            #expect(try await Self.search(kith, "school", as: .tom).items.isEmpty)

            // The North supervisor reads the whole team, restricted notes too; the coordinator reads the family's
            // notes but not its restricted one; the administrator reads no case content.
            #expect(Set(try await Self.search(kith, "school", as: .sam).items.map(\.noteId)) == [priyas.id, restricted.id])
            try await kith.allocate(.chris, to: north, role: .coordinator)
            #expect(try await Self.search(kith, "school", as: .chris).items.map(\.noteId) == [priyas.id])
            #expect(try await Self.search(kith, "school", as: .alex).items.isEmpty)
            #expect(try await Self.search(kith, "school", as: .ruth).items.allSatisfy { $0.familyId == south.id })

            // A family the caller may not read is not one to search in: 404, as for no family.
            let other = try await kith.request(.get, Self.path("school", family: south.id), as: .priya)
            #expect(other.status == .notFound)
            #expect(try await Self.search(kith, "school", as: .priya, family: north.id).items.count == 2)

            // Break-glass opens the family, restricted notes too, for its time only; the read is marked break-glass.
            let _: Components.Schemas.BreakGlassGrant = try await kith.send(
                .post, "/v1/families/\(north.id)/access", as: .tom,
                json: ["reason": "Duty cover: the school rang about Amy this afternoon"], expect: .created)
            #expect(Set(try await Self.search(kith, "school", as: .tom).items.map(\.noteId)) == [priyas.id, restricted.id])
            #expect(try await kith.count(
                """
                SELECT count(*) FROM audit_events
                WHERE entity = 'noteSearch' AND family_id = '\(north.id)' AND worker_id = '\(kith.fixture.id(.tom))' AND break_glass
                """) == 1)
            try await kith.db.query("UPDATE break_glass_grants SET expires_at = now() - interval '1 second'")
            #expect(try await Self.search(kith, "school", as: .tom).items.isEmpty)
        }
    }

    /// English stems, phrases, words left out, the last word as a prefix, and words no stemmer knows.
    @Test func wordsAreFoundByStemPhrasePrefixAndAsWrittenAndCanBeLeftOut() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily("The Okafor family")
            let visited = try await Self.note(kith, "Visited the family at home; Mr Okafor was there with the baby.", on: family)
            let move = try await Self.note(kith, "The school move is planned for September.", on: family)
            let moved = try await Self.note(kith, "Moved school last year after the house move.", on: family)
            let welsh = try await Self.note(kith, "Dyw Cerys ddim yn hapus yn yr ysgol newydd.", on: family)

            #expect(try await Self.search(kith, "visits", as: .priya).items.map(\.noteId) == [visited.id])
            #expect(Set(try await Self.search(kith, "school move", as: .priya).items.map(\.noteId)) == [move.id, moved.id])
            #expect(try await Self.search(kith, "\"school move\"", as: .priya).items.map(\.noteId) == [move.id])
            #expect(try await Self.search(kith, "school -September", as: .priya).items.map(\.noteId) == [moved.id])
            #expect(try await Self.search(kith, "school -\"is planned\"", as: .priya).items.map(\.noteId) == [moved.id])
            #expect(try await Self.search(kith, "Okaf", as: .priya).items.map(\.noteId) == [visited.id])
            #expect(try await Self.search(kith, "Okaf ", as: .priya).items.isEmpty)
            #expect(try await Self.search(kith, "ysgol", as: .priya).items.map(\.noteId) == [welsh.id])
            #expect(try await Self.search(kith, "Cerys hapus", as: .priya).items.map(\.noteId) == [welsh.id])

            let hit = try #require(try await Self.search(kith, "\"school move\"", as: .priya).items.first)
            #expect(hit.snippet.contains("**school** **move**"))
            #expect(hit.authorId == kith.fixture.id(.priya).text && hit.audience == .professional && hit.rank > 0)
        }
    }

    /// Any text is a question: what holds no word to look for is a 400 naming `q`, never a 500, and changes nothing.
    @Test func aQuestionWithNothingToFindIsABadRequestAndChangesNothing() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            try await Self.note(kith, "The school move.", on: family)
            let before = try await kith.fingerprint()
            for q in ["", "-school", "\"\"", "!!&&|(", "':*", "- -", String(repeating: "a", count: 501),
                      (1...33).map { "w\($0)" }.joined(separator: " ")] {
                let response = try await kith.request(.get, Self.path(q), as: .priya)
                #expect(response.status == .badRequest, "\(q)")
                #expect(try kith.problem(response).errors?.map(\.field) == ["q"], "\(q)")
            }
            for q in ["\\school", "a:b & c | !d", "o'brien's", "(school", "school)", "\"school"] {
                #expect(try await kith.request(.get, Self.path(q), as: .priya).status == .ok, "\(q)")
            }
            #expect(try await kith.request(.get, Self.path("school", limit: 51), as: .priya).status == .badRequest)
            let after = try await kith.fingerprint()
            #expect(after.filter { $0.key != "audit_events" } == before.filter { $0.key != "audit_events" })
        }
    }

    /// An amended note is found by its new words and no longer by its old.
    @Test func anAmendedNoteIsFoundByItsNewWordsAndNotItsOld() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            let note = try await Self.note(kith, "We met at the library on Tuesday.", on: family)
            #expect(try await Self.search(kith, "library", as: .priya).items.map(\.noteId) == [note.id])
            let _: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/notes/\(note.id)/amendments", as: .priya,
                json: ["supersedes": note.current.id, "body": "We met at the community centre on Tuesday.", "reason": "Wrong place"],
                expect: .created)
            #expect(try await Self.search(kith, "library", as: .priya).items.isEmpty)
            #expect(try await Self.search(kith, "community centre", as: .priya).items.map(\.noteId) == [note.id])
        }
    }

    /// A search's audit says how long the question was and how many it found, once for the search and once for each
    /// family it showed, and never holds its words.
    @Test func aSearchIsAuditedWithoutItsWords() async throws {
        try await Kith.run { kith in
            let first = try await kith.openFamily("The Fairweather family")
            let second = try await kith.openFamily("The Lowe family")
            _ = try await kith.openFamily("The Quiet family")
            try await Self.note(kith, "Talked about the zebra crossing by the school.", on: first)
            try await Self.note(kith, "The zebra crossing again.", on: first)
            try await Self.note(kith, "A zebra crossing near the new flat.", on: second)
            let q = "zebra crossing"
            let found = try await Self.search(kith, q, as: .priya)
            #expect(found.items.count == 3)

            #expect(try await kith.count(
                """
                SELECT count(*) FROM audit_events WHERE entity = 'noteSearch' AND family_id IS NULL
                  AND search_length = \(q.count) AND search_hits = 3 AND worker_id = '\(kith.fixture.id(.priya))'
                """) == 1)
            #expect(try await kith.count(
                "SELECT count(DISTINCT family_id) FROM audit_events WHERE entity = 'noteSearch' AND family_id IS NOT NULL") == 2)
            #expect(try await kith.count("SELECT count(*) FROM audit_events e WHERE e::text ILIKE '%zebra%'") == 0)
            let audit: Components.Schemas.AuditPage = try await kith.send(.get, "/v1/families/\(first.id)/audit", as: .sam)
            let event = try #require(audit.items.first { $0.entity == "noteSearch" })
            #expect(event.action == .read && event.search?.length == q.count && event.search?.hits == 3)

            _ = try await Self.find(kith, "Fairwether", as: .tom)
            #expect(try await kith.count(
                "SELECT count(*) FROM audit_events WHERE entity = 'familySearch' AND search_length = 10 AND search_hits = 1") == 1)
            #expect(try await kith.count("SELECT count(*) FROM audit_events e WHERE e::text ILIKE '%fairwether%'") == 0)
        }
    }

    /// Pages follow one another in rank order without a note twice or left out; a cursor is good only for its
    /// question and its caller.
    @Test func pagesOfASearchFollowInRankOrderAndACursorIsForItsQuestion() async throws {
        try await Kith.run { kith in
            let family = try await kith.openFamily()
            var written: Set<String> = []
            for n in 1...7 {
                let words = Array(repeating: "garden", count: n).joined(separator: " ")
                written.insert(try await Self.note(kith, "Visit \(n): \(words) and the shed.", on: family).id)
            }
            var seen: [Components.Schemas.NoteSearchHit] = []
            var cursor: String?
            repeat {
                let page = try await Self.search(kith, "garden", as: .priya, limit: 3, cursor: cursor)
                seen += page.items
                cursor = page.nextCursor ?? nil
            } while cursor != nil
            #expect(seen.count == 7 && Set(seen.map(\.noteId)) == written)
            #expect(seen.map(\.rank) == seen.map(\.rank).sorted(by: >))

            let first = try await Self.search(kith, "garden", as: .priya, limit: 3)
            let next = try #require(first.nextCursor ?? nil)
            let otherQuestion = try await kith.request(.get, Self.path("shed", limit: 3, cursor: next), as: .priya)
            #expect(otherQuestion.status == .badRequest)
            #expect(try kith.problem(otherQuestion).errors?.map(\.field) == ["cursor"])
            #expect(try await kith.request(.get, Self.path("garden", limit: 3, cursor: next), as: .sam).status == .badRequest)
        }
    }

    /// The family finder answers for every family of the organisation, misspelt names too, with the reference, the name
    /// and whether the caller has a relationship to it, nothing more; then break-glass by what it found opens search.
    @Test func theFamilyFinderFindsMisspeltNamesAndTellsOnlyNameReferenceAndRelationship() async throws {
        try await Kith.run { kith in
            let fairweather: Components.Schemas.Family = try await kith.send(
                .post, "/v1/families", as: .priya, json: ["displayName": "The Fairweather family", "reference": "NR-0042"],
                expect: .created)
            let okafor = try await kith.openFamily("The Brook family", by: .omar)
            let second = try await kith.openFamily("The Hill family", by: .omar)
            for (family, born) in [(okafor, "2019-03-04"), (second, "2016-11-30")] {
                let _: Components.Schemas.Person = try await kith.send(
                    .post, "/v1/families/\(family.id)/people", as: .omar,
                    json: ["name": "Chidi Okafor", "dateOfBirth": born], expect: .created)
            }
            try await Self.note(kith, "Amy's school rang about the bus.", on: fairweather)
            let _: Components.Schemas.Family = try await kith.send(
                .post, "/v1/families", as: .zed, json: ["displayName": "The Fairweather family"], expect: .created)

            let found = try await Self.find(kith, "Fairwether", as: .tom)
            #expect(found.count == 1)
            let match = try #require(found.first)
            #expect(match.familyId == fairweather.id && match.reference == "NR-0042" && !match.relationship && !match.breakGlassOpen)
            #expect(try await Self.find(kith, "Fairwether", as: .priya).first?.relationship == true)
            #expect(try await Self.find(kith, "NR-0042", as: .tom).map(\.familyId) == [fairweather.id])
            #expect(Set(try await Self.find(kith, "Okafur", as: .tom).map(\.familyId)) == [okafor.id, second.id])
            #expect(try await Self.find(kith, "Okafor 2019-03-04", as: .tom).map(\.familyId) == [okafor.id])
            #expect(try await Self.find(kith, "Nobody Like This", as: .tom).isEmpty)

            // Nothing but the reference, the name and the relationship goes out.
            let raw = try await kith.request(.get, "/v1/search/families?q=Okafor", as: .tom)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer: raw.body)) as? [String: Any])
            let items = try #require(object["items"] as? [[String: Any]])
            #expect(items.allSatisfy { Set($0.keys).isSubset(of: ["familyId", "reference", "displayName", "relationship", "breakGlassOpen"]) })
            #expect(!String(buffer: raw.body).contains("Chidi") && !String(buffer: raw.body).contains("2019"))

            for q in ["ab", "2019-03-04", "Okafor 2019-03-04 2016-11-30"] {
                let refused = try await kith.request(.get, "/v1/search/families?q=\(q.replacingOccurrences(of: " ", with: "%20"))", as: .tom)
                #expect(refused.status == .badRequest, "\(q)")
            }
            #expect(try await kith.request(.get, "/v1/search/families?q=Fairweather", as: .alex).status == .forbidden)

            // Found, then opened by break-glass with a reason: now Tom's search reads it.
            #expect(try await Self.search(kith, "school", as: .tom).items.isEmpty)
            let _: Components.Schemas.BreakGlassGrant = try await kith.send(
                .post, "/v1/families/\(match.familyId)/access", as: .tom,
                json: ["reason": "Duty call from the school about Amy's bus"], expect: .created)
            #expect(try await Self.find(kith, "Fairwether", as: .tom).first?.breakGlassOpen == true)
            #expect(try await Self.search(kith, "school", as: .tom).items.map(\.familyId) == [fairweather.id])
        }
    }

    /// A worker's searches are limited like other reads: past the allowance, 429 with when to come back.
    @Test func searchingTooOftenIsToldToWait() async throws {
        // One a minute, so that however slowly a loaded machine runs the test, the second comes too soon.
        try await Kith.run({ $0.searchesPerMinute = 1 }) { kith in
            #expect(try await kith.request(.get, Self.path("school"), as: .priya).status == .ok)
            let refused = try await kith.request(.get, "/v1/search/families?q=Fairweather", as: .priya)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.retryAfter].flatMap(Int.init) ?? 0 >= 1)
            #expect(try await kith.request(.get, Self.path("school"), as: .tom).status == .ok)
        }
    }
}

/// The search's scope is the access policy's decision for many families at once: a family is in it, and its
/// restricted notes, exactly when `FamilyAccess` says the caller reads it and sees restricted notes.
@Suite struct SearchScopeTests {
    @Test func theScopeIsWhatTheAccessPolicySaysOfEveryKindOfCaller() {
        let team = UUID(), otherTeam = UUID()
        let roleSets: [[Role]] = [[.practitioner], [.coordinator], [.supervisor], [.admin], [.admin, .supervisor], [.informationGovernance]]
        for roles in roleSets {
            for teams in [[team], [otherTeam], []] {
                let principal = Principal(
                    organisationId: UUID(), workerId: UUID(), sessionId: UUID(), deviceId: nil, roles: Set(roles), teamIds: teams)
                for familyTeam in [team, otherTeam] {
                    for role in [nil] + AllocationRole.allCases.map(Optional.some) {
                        for breakGlass in [false, true] {
                            let fact = FamilyRelationship(
                                familyId: UUID(), teamId: familyTeam, allocationRole: role?.rawValue, breakGlass: breakGlass)
                            let access = FamilyAccess(fact, of: principal)
                            // What kith_relationships would return: families with an allocation or open break-glass.
                            let related = role != nil || breakGlass ? [access] : []
                            let scope = ReadingScope(principal, relationships: related)
                            let inScope = scope.teams.contains(familyTeam) || scope.families.contains(fact.familyId)
                            let restricted = scope.teams.contains(familyTeam) || scope.restrictedFamilies.contains(fact.familyId)
                            #expect(inScope == access.allows(.read), "\(roles) \(String(describing: role)) \(breakGlass)")
                            #expect(!inScope || restricted == access.seesRestricted, "\(roles) \(String(describing: role)) \(breakGlass)")
                        }
                    }
                }
            }
        }
    }
}
