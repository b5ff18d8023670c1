import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import KithCore
import Testing
@testable import KithServer

/// Retention rules and legal holds (issue #27): every family says which rule it follows and until when, recomputed
/// from the record; a hold, a team's hold or an open subject access request keeps a closed family from disposal.
@Suite struct RetentionTests {
    @Test func aFamilysRetentionFollowsItsRuleAndHoldsKeepItFromDisposal() async throws {
        try await Kith.run { kith in
            let officer = try await kith.addWorker("Ines Governance", roles: ["informationGovernance"], team: nil)
            func call(_ method: HTTPRequest.Method, _ path: String, _ body: Any? = nil) async throws -> TestResponse {
                try await kith.request(method, path, token: officer.token, body: try body.map { try JSONSerialization.data(withJSONObject: $0) })
            }
            func due() async throws -> [String] {
                let response = try await call(.get, "/v1/disposal/due")
                #expect(response.status == .ok)
                return try Kith.decoder.decode(Components.Schemas.DisposalDue.self, from: response.body).items.map(\.familyId)
            }
            let family = try await kith.openFamily("The Quinlan family")
            let child = try await kith.json(
                .post, "/v1/families/\(family.id)/people", as: .priya, ["name": "Wren Quinlan", "isChildInFocus": true, "dateOfBirth": "2001-03-04"],
                expect: .created)
            var read: Components.Schemas.Family = try await kith.send(.get, "/v1/families/\(family.id)", as: .priya)
            #expect(read.retention?.rule == "childInNeed" && read.retention?.retainUntil == "2026-03-04" && read.retention?.holds.isEmpty == true)
            // Open, it is not due, however old its children.
            #expect(try await due().isEmpty)
            #expect(try await kith.request(.get, "/v1/disposal/due", as: .priya).status == .forbidden)
            let yesterday = CalendarDay(CalendarDayText.today)!.adding(days: -1).description
            _ = try await kith.json(.patch, "/v1/families/\(family.id)", as: .priya, ["status": "closed", "closedOn": yesterday], expect: .ok)
            #expect(try await due() == [family.id])

            // A hold on the family, then on its team, keeps it; each released, it is due again. Released once.
            let hold = try await call(.post, "/v1/legal-holds", ["familyId": family.id, "reason": "Litigation about the placement"])
            #expect(hold.status == .created)
            let holdId = try Kith.decoder.decode(Components.Schemas.LegalHold.self, from: hold.body).id
            #expect(try await due().isEmpty)
            read = try await kith.send(.get, "/v1/families/\(family.id)", as: .priya)
            #expect(read.retention?.holds.map(\.id) == [holdId] && read.retention?.holds.first?.kind == .legalHold)
            #expect(try await call(.post, "/v1/legal-holds/\(holdId)/release", ["reason": "Settled"]).status == .ok)
            #expect(try await call(.post, "/v1/legal-holds/\(holdId)/release", ["reason": "Again"]).status == .conflict)
            #expect(try await due() == [family.id])
            let teamHold = try await call(.post, "/v1/legal-holds", ["teamId": kith.fixture.north.text, "reason": "Inquiry into the North team"])
            let teamHoldId = try Kith.decoder.decode(Components.Schemas.LegalHold.self, from: teamHold.body).id
            #expect(try await due().isEmpty)
            #expect(try await call(.post, "/v1/legal-holds", ["familyId": family.id, "teamId": kith.fixture.north.text, "reason": "x"]).status == .badRequest)
            _ = try await call(.post, "/v1/legal-holds/\(teamHoldId)/release", ["reason": "Inquiry over"])
            #expect(try await due() == [family.id])

            // An open subject access request naming one of its people holds it by itself, until it is closed.
            let request = try await call(.post, "/v1/subject-access-requests", [
                "requester": ["name": "Wren Quinlan"], "actingFor": "self", "dataSubjects": [child["id"] as! String],
                "receivedOn": CalendarDayText.today])
            let requestId = try Kith.decoder.decode(Components.Schemas.SubjectAccessRequest.self, from: request.body).id
            #expect(try await due().isEmpty)
            let proposed = try await call(.post, "/v1/disposal-batches", ["familyIds": [family.id]])
            #expect(proposed.status == .conflict)
            #expect(try kith.problem(proposed).code == "legal_hold")
            _ = try await call(.post, "/v1/subject-access-requests/\(requestId)/events", ["kind": "closed", "on": CalendarDayText.today])
            #expect(try await due() == [family.id])

            // Another rule for the family: seven years from its closing, so not due; the rule it follows stays in the
            // organisation's rules, and a rule of none from the closing makes it due again.
            let chosen = try await call(.post, "/v1/families/\(family.id)/retention", ["rule": "closedSevenYears"])
            #expect(chosen.status == .ok)
            let retention = try Kith.decoder.decode(Components.Schemas.FamilyRetention.self, from: chosen.body)
            #expect(retention.retainUntil == CalendarDay(yesterday)!.sameDay(monthsLater: 84).description && retention.rule == "closedSevenYears")
            #expect(try await due().isEmpty)
            #expect(try await call(.post, "/v1/families/\(family.id)/retention", ["rule": "noSuchRule"]).status == .badRequest)
            let dropped = try await call(.put, "/v1/organisation/retention-rules", [
                ["code": "childInNeed", "description": "Until the youngest child is 25", "anchor": "youngestChildBirth", "years": 25]])
            #expect(dropped.status == .conflict)
            let rules = try await call(.put, "/v1/organisation/retention-rules", [
                ["code": "childInNeed", "description": "Until the youngest child is 25", "anchor": "youngestChildBirth", "years": 25],
                ["code": "closedSevenYears", "description": "Nothing kept after closing", "anchor": "familyClosed", "years": 0]])
            #expect(rules.status == .ok)
            #expect(try await due() == [family.id])
            #expect(try await kith.count("""
                SELECT count(*) FROM audit_events WHERE family_id = '\(family.id)' AND entity IN ('legalHold', 'legalHoldRelease', 'retentionRule')
                """) == 3)
        }
    }
}
