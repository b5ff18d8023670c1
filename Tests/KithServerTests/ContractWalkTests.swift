import Foundation
import HTTPTypes
import HummingbirdTesting
import KithAPI
import PostgresNIO
import Testing
@testable import KithServer

/// Walks the served contract: every operation that takes an id in its path, called by each kind of worker who is
/// outside the relationship (of another family, and of another organisation) with the real ids of existing records,
/// answers 403 or 404, shows nothing of the record and changes nothing. Then the ids inside bodies: a worker's own
/// request naming another family's or another organisation's records changes nothing either.
@Suite struct ContractWalkTests {
    /// One family of the North team with a record of every kind, written as its workers write them.
    struct Victim {
        var ids: [String: String] = [:]
        /// Everything of the record that must never come back to an outsider: its ids and its words.
        var secrets: [String] = []
    }

    static func victim(_ kith: Kith) async throws -> Victim {
        var victim = Victim()
        let family = try await kith.openFamily("The Quinlan-Secret family")
        let person = try await kith.json(
            .post, "/v1/families/\(family.id)/people", as: .priya, ["name": "Wren Secretperson", "isChildInFocus": true])
        let contact = try await kith.json(
            .post, "/v1/families/\(family.id)/contacts", as: .priya,
            ["occurredAt": "2026-06-01T10:00:00Z", "kind": "homeVisit", "childSeen": true])
        let note: Components.Schemas.JudgmentNote = try await kith.send(
            .post, "/v1/families/\(family.id)/notes", as: .priya,
            json: ["body": "Secret words of the visit.", "contactId": contact["id"] as! String], expect: .created)
        struct Allocations: Decodable { let items: [Components.Schemas.Allocation] }
        let allocations: Allocations = try await kith.send(.get, "/v1/families/\(family.id)/allocations", as: .priya)
        let referral: [String: Any] = ["referrerId": kith.fixture.id(.priya).text, "reason": "Secret referral reason", "familyAgreed": true, "bottomLines": []]
        let conference = try await kith.json(.post, "/v1/families/\(family.id)/conferences", as: .priya, ["referral": referral])
        let plan = try await kith.json(
            .post, "/v1/conferences/\(conference["id"] as! String)/plans", as: .priya,
            ["items": [["who": person["id"] as! String, "what": "Secret plan step"]], "agreedByReferrer": true])
        let invitation = try await kith.json(.post, "/v1/people/\(person["id"] as! String)/invitations", as: .priya, [:])
        let device = try await FieldDevice.register(kith, as: .priya)
        let scimToken = try await ProvisioningTests.token(kith)
        let reviewItem = UUID()
        try await kith.db.query(
            """
            INSERT INTO review_items (organisation_id, id, kind, family_id, team_id, worker_id, summary, payload)
            VALUES (\(kith.fixture.organisation), \(reviewItem), 'late', \(UUID(uuidString: family.id)!), \(kith.fixture.north),
                    \(kith.fixture.id(.priya)), 'Secret summary', '{"args": {"body": "Secret payload"}}')
            """, logger: TestDatabase.logger)
        try await kith.db.query(
            "INSERT INTO review_item_recipients VALUES (\(kith.fixture.organisation), \(reviewItem), \(kith.fixture.id(.priya)))",
            logger: TestDatabase.logger)
        let officer = try await kith.addWorker("Ines Governance", roles: ["informationGovernance"], team: nil)
        let request = try await kith.request(
            .post, "/v1/subject-access-requests", token: officer.token,
            body: try JSONSerialization.data(withJSONObject: [
                "requester": ["name": "Wren Secretperson"], "actingFor": "self", "dataSubjects": [person["id"] as! String],
                "receivedOn": CalendarDayText.today]))
        let requestId = try #require(try JSONSerialization.jsonObject(with: Data(buffer: request.body)) as? [String: Any])["id"] as! String
        let disclosure = try await kith.request(.post, "/v1/subject-access-requests/\(requestId)/disclosures", token: officer.token, body: nil)
        let disclosureId = try #require(try JSONSerialization.jsonObject(with: Data(buffer: disclosure.body)) as? [String: Any])["id"] as! String
        let hold = try await kith.request(
            .post, "/v1/legal-holds", token: officer.token,
            body: try JSONSerialization.data(withJSONObject: ["familyId": family.id, "reason": "Litigation"]))
        let holdId = try #require(try JSONSerialization.jsonObject(with: Data(buffer: hold.body)) as? [String: Any])["id"] as! String
        // A family long closed, proposed for disposal.
        let old = try await kith.openFamily("The Secretold family")
        _ = try await kith.json(.patch, "/v1/families/\(old.id)", as: .priya, ["status": "closed", "closedOn": "2010-01-01"], expect: .ok)
        _ = try await kith.request(
            .post, "/v1/families/\(old.id)/retention", token: officer.token, body: try JSONSerialization.data(withJSONObject: ["rule": "closedSevenYears"]))
        let batch = try await kith.request(
            .post, "/v1/disposal-batches", token: officer.token, body: try JSONSerialization.data(withJSONObject: ["familyIds": [old.id]]))
        let batchId = try #require(try JSONSerialization.jsonObject(with: Data(buffer: batch.body)) as? [String: Any])["id"] as! String
        let incident = UUID()
        try await kith.db.query(
            """
            INSERT INTO data_incidents (organisation_id, id, kind, family_id, note_id, opened_by)
            VALUES (\(kith.fixture.organisation), \(incident), 'familyPageDisclosure', \(UUID(uuidString: family.id)!),
                    \(UUID(uuidString: note.id)!), \(kith.fixture.id(.priya)))
            """, logger: TestDatabase.logger)
        let friction = try await kith.json(
            .post, "/v1/frictions", as: .priya, ["text": "Secret obstacle", "familyId": family.id], expect: .created)
        let study = try await kith.json(
            .post, "/v1/research-studies", as: .alex,
            ["title": "A study", "ethicsReference": "REC 1", "from": "2020-01-01", "to": "2020-12-31"], expect: .created)
        victim.ids = [
            "familyId": family.id, "personId": person["id"] as! String, "allocationId": allocations.items[0].id, "noteId": note.id,
            "revisionId": note.current.id, "contactId": contact["id"] as! String, "conferenceId": conference["id"] as! String,
            "planItemId": ((plan["items"] as! [[String: Any]])[0]["id"] as! String), "workerId": kith.fixture.id(.priya).text,
            "teamId": kith.fixture.north.text, "deviceId": device.id, "reviewItemId": reviewItem.text,
            "invitationId": invitation["id"] as! String, "scimTokenId": scimToken.id, "incidentId": incident.text,
            "requestId": requestId, "disclosureId": disclosureId, "holdId": holdId, "batchId": batchId,
            "frictionId": friction["id"] as! String, "studyId": study["id"] as! String,
        ]
        victim.secrets = Array(victim.ids.filter { !["workerId", "teamId"].contains($0.key) }.values)
            + ["Secret", "Quinlan", "Wren", invitation["code"] as! String, invitation["url"] as! String, scimToken.token]
        return victim
    }

    /// A valid body for each operation that takes an id, so a refusal is the access policy's and not validation's.
    /// An operation added to the contract without an entry here fails the walk.
    static func bodies(_ v: Victim, outsider: String) -> [String: [String: Any]?] {
        [
            "updateWorker": ["roles": ["practitioner", "supervisor"]],
            "createPasswordReset": nil,
            "revokeDevice": nil,
            "getFamily": nil,
            "updateFamily": ["displayName": "Renamed by an outsider"],
            "listPeople": nil,
            "addPerson": ["name": "Intruder"],
            "updatePerson": ["fields": ["phone": ["value": "0", "baseVersion": 0]]],
            "listAllocations": nil,
            "createAllocation": ["workerId": outsider, "role": "familySupport", "startedOn": "2026-01-01"],
            "endAllocation": ["endedOn": CalendarDayText.today, "reason": "ended by an outsider"],
            "writeHandover": ["note": "An outsider's handover"],
            "listHandoverVersions": nil,
            "reallocateFamily": ["toWorkerId": outsider, "reason": "taken by an outsider"],
            "listTeamBreakGlass": nil,
            "getTeamAccessReview": nil,
            "recordContact": ["occurredAt": "2026-06-02T10:00:00Z", "kind": "phone"],
            "correctContact": ["childSeen": false, "reason": "Corrected by an outsider"],
            "withdrawContact": ["reason": "Withdrawn by an outsider"],
            "createNote": ["body": "An outsider's note"],
            "getNote": nil,
            "amendNote": ["supersedes": v.ids["revisionId"]!, "body": "Rewritten", "reason": "outsider"],
            "withdrawNote": ["reason": "Withdrawn by an outsider"],
            "changeNoteAudience": ["audience": "restricted", "reason": "Narrowed by an outsider"],
            "refileNote": ["familyId": v.ids["familyId"]!, "reason": "Refiled by an outsider"],
            "decideIncident": ["reportedToRegulator": false, "reason": "Decided by an outsider"],
            "getTimeline": nil,
            "listConferences": nil,
            "createConference": ["referral": ["referrerId": outsider, "reason": "x", "familyAgreed": true, "bottomLines": []]],
            "getConference": nil,
            "changeConferenceStage": ["stage": "preparing", "on": CalendarDayText.today],
            "setConferenceParticipant": ["personId": v.ids["personId"]!, "invited": true, "attended": false],
            "recordPrivateFamilyTime": ["startedAt": "2026-06-03T10:00:00Z"],
            "recordMeeting": ["kind": "review", "heldOn": "2026-06-03"],
            "changeCoordinator": ["workerId": outsider],
            "listPlans": nil,
            "createPlan": ["items": [], "agreedByReferrer": true],
            "addPlanItemUpdate": ["text": "Done, says an outsider"],
            "getFamilyContinuity": nil,
            "getWorkerContinuity": nil,
            "getTeamContinuity": nil,
            "getSignalSettings": nil,
            "putSignalSettings": ["noContactDays": 1, "childNotSeenDays": 1, "planReviewOverdueDays": 0, "workerChanges365": 1],
            "openBreakGlassAccess": ["reason": "Just having a look around"],
            "getFamilyAudit": nil,
            "exportFamily": nil,
            "resolveReviewItem": ["action": "discard"],
            "invitePerson": nil,
            "listInvitations": nil,
            "revokeInvitation": nil,
            "revokeScimToken": nil,
            "getSubjectAccessRequest": nil,
            "recordSubjectAccessEvent": ["kind": "closed", "on": CalendarDayText.today],
            "getSubjectAccessBundle": nil,
            "redactSubjectAccessItem": ["itemId": "person:\(v.ids["personId"]!)", "exemption": "other", "reason": "By an outsider"],
            "releaseSubjectAccessItem": ["itemId": "person:\(v.ids["personId"]!)", "reason": "By an outsider"],
            "createSubjectAccessDisclosure": nil,
            "getSubjectAccessDisclosure": nil,
            "chooseRetentionRule": ["rule": "closedSevenYears"],
            "releaseLegalHold": ["reason": "Released by an outsider"],
            "approveDisposal": nil,
            "getFriction": nil,
            "recordFrictionEvent": ["kind": "wontChange", "text": "Answered by an outsider"],
            "getTeamFeedback": nil,
            "approveResearchStudy": nil,
            "createResearchExtract": nil,
        ]
    }

    /// What the policy allows a worker of the same organisation outside the relationship, on purpose: break-glass is
    /// never refused for want of one (it is audited and shown to the family's workers), and an administrator manages
    /// workers (a reset link among it), devices, team settings and the identity provider's SCIM tokens, reviews who
    /// can read a team's families, and runs the organisation's studies (VoiceTests holds their approval and extracts).
    static func allowedInOrganisation(_ operation: String, admin: Bool) -> Bool {
        admin
            ? ["updateWorker", "createPasswordReset", "revokeDevice", "getSignalSettings", "getTeamAccessReview", "revokeScimToken",
               "approveResearchStudy", "createResearchExtract"]
                .contains(operation)
            : operation == "openBreakGlassAccess"
    }

    struct Operation { let method: HTTPRequest.Method; let path: String; let id: String }

    /// The operations of the served document (its `paths:`, as this project writes YAML: a path at two spaces, a
    /// method at four, its `operationId` below).
    static func operations(in document: String) -> [Operation] {
        var operations: [Operation] = []
        var path: String?, method: HTTPRequest.Method?
        var inPaths = false
        for line in document.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, !line.isEmpty, !line.hasPrefix(" ") { break }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()); continue }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("    "), !line.hasPrefix("     "),
               let verb = ["get", "post", "put", "patch", "delete"].first(where: { trimmed == "\($0):" }) {
                method = HTTPRequest.Method(rawValue: verb.uppercased())
                continue
            }
            if line.hasPrefix("      operationId: "), let path, let method {
                operations.append(.init(method: method, path: path, id: String(trimmed.dropFirst("operationId: ".count))))
            }
        }
        return operations
    }

    @Test func everyOperationTakingAnIdRefusesEveryoneOutsideTheRelationship() async throws {
        try await Kith.run { kith in
            let victim = try await Self.victim(kith)
            let southCoordinator = try await kith.addWorker("South Coordinator", roles: ["coordinator"], team: kith.fixture.south)
            let otherTeam = try await kith.db.query(
                "SELECT id FROM teams WHERE organisation_id = \(kith.fixture.otherOrganisation)", logger: TestDatabase.logger
            ).decode(UUID.self).first { _ in true }!
            let other = kith.fixture.otherOrganisation
            let otherCoordinator = try await kith.addWorker("Other Coordinator", roles: ["coordinator"], team: otherTeam, organisation: other)
            let otherAdmin = try await kith.addWorker("Other Admin", roles: ["admin"], team: nil, organisation: other)
            let otherSupervisor = try await kith.addWorker("Other Supervisor", roles: ["supervisor"], team: otherTeam, organisation: other)
            let otherOfficer = try await kith.addWorker("Other Officer", roles: ["informationGovernance"], team: nil, organisation: other)
            // (name, token, id, same organisation, administrator)
            let outsiders: [(String, String, UUID, Bool, Bool)] = [
                ("practitioner of another family", kith.fixture.tokens[.omar]!, kith.fixture.id(.omar), true, false),
                ("coordinator of another family", southCoordinator.token, southCoordinator.id, true, false),
                ("supervisor of another team", kith.fixture.tokens[.ruth]!, kith.fixture.id(.ruth), true, false),
                ("administrator", kith.fixture.tokens[.alex]!, kith.fixture.id(.alex), true, true),
                ("practitioner of another organisation", kith.fixture.tokens[.zed]!, kith.fixture.id(.zed), false, false),
                ("coordinator of another organisation", otherCoordinator.token, otherCoordinator.id, false, false),
                ("supervisor of another organisation", otherSupervisor.token, otherSupervisor.id, false, false),
                ("administrator of another organisation", otherAdmin.token, otherAdmin.id, false, true),
                ("information-governance officer of another organisation", otherOfficer.token, otherOfficer.id, false, false),
            ]

            let document = String(buffer: try await kith.request(.get, "/openapi.yaml", as: nil).body)
            // A sign-in's organisation in its path is the public name people type, not a record's id.
            let operations = Self.operations(in: document).filter { $0.path.contains("{") && !SignIn.public.contains($0.id) }
            #expect(operations.count >= 30, "the document's operations were not read")
            let covered = Set(Self.bodies(victim, outsider: "").keys)
            #expect(Set(operations.map(\.id)) == covered, "an operation taking an id has no call in this walk")

            let before = try await kith.fingerprint()
            for operation in operations {
                var path = operation.path
                for (name, value) in victim.ids { path = path.replacingOccurrences(of: "{\(name)}", with: value) }
                #expect(!path.contains("{"), "\(operation.id): no record for \(path)")
                for (who, token, id, sameOrganisation, admin) in outsiders {
                    if sameOrganisation, Self.allowedInOrganisation(operation.id, admin: admin) { continue }
                    let body = try Self.bodies(victim, outsider: id.text)[operation.id]!.map { try JSONSerialization.data(withJSONObject: $0) }
                    let response = try await kith.request(operation.method, path, token: token, body: body)
                    let text = String(buffer: response.body)
                    #expect([.forbidden, .notFound].contains(response.status), "\(operation.id) as \(who): \(response.status) \(text)")
                    for secret in victim.secrets {
                        #expect(!text.contains(secret), "\(operation.id) as \(who) showed \(secret)")
                    }
                }
            }
            #expect(try await kith.fingerprint() == before)
        }
    }

    /// A device's token reaches its sync, who it belongs to, and signing itself out: every other operation of the
    /// served contract answers 401 to it, though its worker (the victim family's allocated worker) may do them all.
    @Test func aDeviceTokenReachesOnlyItsSync() async throws {
        try await Kith.run { kith in
            let victim = try await Self.victim(kith)
            let device = try await FieldDevice.register(kith, as: .priya)
            let reaches: Set<String> = [
                "syncPush", "syncPull", "syncAck", "getMe", "logout", "login", "loginWithIdToken", "startDeviceSignIn", "finishDeviceSignIn",
                "getSignInProvider",
            ]
            let document = String(buffer: try await kith.request(.get, "/openapi.yaml", as: nil).body)
            let operations = Self.operations(in: document)
            #expect(Set(operations.map(\.id)).isSuperset(of: reaches))
            let before = try await kith.fingerprint()
            for operation in operations where !reaches.contains(operation.id) {
                var path = operation.path
                for (name, value) in victim.ids { path = path.replacingOccurrences(of: "{\(name)}", with: value) }
                let body = try (Self.bodies(victim, outsider: kith.fixture.id(.tom).text)[operation.id] ?? [:])
                    .map { try JSONSerialization.data(withJSONObject: $0) }
                let response = try await kith.request(operation.method, path, token: device.token, body: body)
                #expect(response.status == .unauthorized, "\(operation.id) with a device token: \(response.status)")
                for secret in victim.secrets {
                    #expect(!String(buffer: response.body).contains(secret), "\(operation.id) showed \(secret)")
                }
            }
            #expect(try await kith.fingerprint() == before)
            // What it reaches, it reaches; signing itself out revokes the device.
            #expect(try await kith.request(.get, "/v1/me", token: device.token, body: nil).status == .ok)
            let (pages, _) = try await device.pullAll(from: nil)
            #expect(pages.flatMap { $0.ids(.family) }.contains(victim.ids["familyId"]!))
            #expect(try await kith.request(.post, "/v1/auth/logout", token: device.token, body: nil).status == .noContent)
            #expect(try await kith.count("SELECT count(*) FROM devices WHERE id = '\(device.id)' AND revoked_at IS NOT NULL") == 1)
        }
    }

    /// Reads that show none of a family's record: who is signed in, the organisation's teams, workers and devices, the
    /// team's signal thresholds, the audit log itself (reading it is not a read of a family's record), supervision
    /// sessions (the worker's own record, naming the families talked about), and the lists that name families to open
    /// (the caseload, a worker's continuity, the access review, the break-glass list, the data incidents, whose views
    /// are the family's own audit, the family finder's names): each family opened from them is audited where it is read.
    /// Counts of frictions and of families' answers, and the changes of practice, name no family; the named answers
    /// about a worker's own work are audited per family when there are any (the supervisor here has none; VoiceTests).
    static let readsOfNoFamilysRecord: Set<String> = [
        "getMe", "listTeams", "listWorkers", "listDevices", "getSignalSettings", "getOrganisationAudit", "getFamilyAudit",
        "listSupervisionSessions", "listFamilies", "getWorkerContinuity", "getTeamAccessReview", "listTeamBreakGlass",
        "listIncidents", "findFamilies", "getFrictionSummary", "getTeamFeedback", "listMyFeedback", "listPracticeChanges",
    ]

    /// Reads of the organisation's settings that only its administrators make, and of subject access requests, which
    /// only information-governance officers make (a supervisor is refused them; SubjectAccessTests holds their audit).
    static let readsRefusedToSupervisors: Set<String> = [
        "getIdentityProvider", "listScimTokens", "getHolidays", "listSubjectAccessRequests", "getSubjectAccessRequest",
        "getSubjectAccessBundle", "getSubjectAccessDisclosure", "getRetentionRules", "listLegalHolds", "listDisposalDue",
        "listDisposalCertificates", "listResearchStudies",
    ]

    /// Every read of the served contract (each GET, and the sync pull), made by the family's supervisor, leaves an audit
    /// event for the family unless it is one of `readsOfNoFamilysRecord`: a read added without its audit event fails.
    @Test func everyReadOfAFamilysRecordIsAudited() async throws {
        try await Kith.run { kith in
            let victim = try await Self.victim(kith)
            let familyId = try #require(UUID(uuidString: victim.ids["familyId"]!))
            let sam = kith.fixture.id(.sam)
            let document = String(buffer: try await kith.request(.get, "/openapi.yaml", as: nil).body)
            let reads = Self.operations(in: document).filter { $0.method == .get && !SignIn.public.contains($0.id) }
            #expect(reads.count >= 20, "the document's operations were not read")
            #expect(Self.readsOfNoFamilysRecord.isSubset(of: Set(reads.map(\.id))))
            func audited() async throws -> Int {
                try await kith.count(
                    "SELECT count(*) FROM audit_events WHERE worker_id = '\(sam)' AND family_id = '\(familyId)' AND action IN ('read', 'export')")
            }
            for operation in reads {
                var path = operation.path
                for (name, value) in victim.ids { path = path.replacingOccurrences(of: "{\(name)}", with: value) }
                if operation.id == "listSupervisionSessions" { path += "?workerId=\(kith.fixture.id(.priya).text)" }
                if operation.id == "searchNotes" { path += "?q=secret%20words" }
                if operation.id == "findFamilies" { path += "?q=family" }
                if operation.id == "listFrictions" { path += "?teamId=\(kith.fixture.north.text)" }
                let before = try await audited()
                let response = try await kith.request(.get, path, as: .sam)
                let expected: HTTPResponse.Status = Self.readsRefusedToSupervisors.contains(operation.id) ? .forbidden : .ok
                #expect(response.status == expected, "\(operation.id): \(response.status) \(String(buffer: response.body))")
                let events = try await audited() - before
                if Self.readsOfNoFamilysRecord.union(Self.readsRefusedToSupervisors).contains(operation.id) {
                    #expect(events == 0, "\(operation.id) is listed as no read of a family's record, yet was audited as one")
                } else {
                    #expect(events >= 1, "\(operation.id) read the family's record without an audit event")
                }
            }
            // The sync pull of the family's allocated worker's tablet reads the family's record too.
            let device = try await FieldDevice.register(kith, as: .priya)
            let synced = "SELECT count(*) FROM audit_events WHERE family_id = '\(familyId)' AND entity = 'sync' AND action = 'read'"
            let before = try await kith.count(synced)
            _ = try await device.pullAll(from: nil)
            #expect(try await kith.count(synced) > before)
        }
    }

    @Test func idsInsideBodiesNamingOthersRecordsChangeNothing() async throws {
        try await Kith.run { kith in
            let victim = try await Self.victim(kith)
            // Omar's own family in the South team, where he may write.
            let own = try await kith.openFamily("Omar's family", by: .omar)
            let ownNote: Components.Schemas.JudgmentNote = try await kith.send(
                .post, "/v1/families/\(own.id)/notes", as: .omar, json: ["body": "Own note"], expect: .created)
            let referral: [String: Any] = ["referrerId": kith.fixture.id(.omar).text, "reason": "own", "familyAgreed": true, "bottomLines": []]
            let conference = try await kith.json(.post, "/v1/families/\(own.id)/conferences", as: .omar, ["referral": referral])
            let zed = kith.fixture.id(.zed).text
            let before = try await kith.fingerprint()

            let attempts: [(String, HTTPRequest.Method, String, [String: Any])] = [
                ("present person of another family", .post, "/v1/families/\(own.id)/contacts",
                 ["occurredAt": "2026-06-02T10:00:00Z", "kind": "homeVisit", "presentPersonIds": [victim.ids["personId"]!]]),
                ("present worker of another organisation", .post, "/v1/families/\(own.id)/contacts",
                 ["occurredAt": "2026-06-02T10:00:00Z", "kind": "homeVisit", "presentWorkerIds": [zed]]),
                ("contactId of another family", .post, "/v1/families/\(own.id)/notes",
                 ["body": "x", "contactId": victim.ids["contactId"]!]),
                ("supersedes a revision of another family's note", .post, "/v1/notes/\(ownNote.id)/amendments",
                 ["supersedes": victim.ids["revisionId"]!, "body": "x", "reason": "y"]),
                ("plan who of another family", .post, "/v1/conferences/\(conference["id"] as! String)/plans",
                 ["items": [["who": victim.ids["personId"]!, "what": "x"]], "agreedByReferrer": true]),
                ("plan who of another organisation", .post, "/v1/conferences/\(conference["id"] as! String)/plans",
                 ["items": [["who": zed, "what": "x"]], "agreedByReferrer": true]),
                ("participant of another family", .post, "/v1/conferences/\(conference["id"] as! String)/participants",
                 ["personId": victim.ids["personId"]!, "invited": true, "attended": true]),
                ("referrer of another organisation", .post, "/v1/families/\(own.id)/conferences",
                 ["referral": ["referrerId": zed, "reason": "x", "familyAgreed": true, "bottomLines": []]]),
            ]
            for (what, method, path, body) in attempts {
                let response = try await kith.request(
                    method, path, token: kith.fixture.tokens[.omar]!, body: try JSONSerialization.data(withJSONObject: body))
                #expect([.badRequest, .notFound].contains(response.status), "\(what): \(response.status) \(String(buffer: response.body))")
                for secret in victim.secrets { #expect(!String(buffer: response.body).contains(secret), "\(what) showed \(secret)") }
            }
            // A supervisor's session naming a family of another team.
            let supervision = try await kith.request(
                .post, "/v1/supervision-sessions", token: kith.fixture.tokens[.ruth]!,
                body: try JSONSerialization.data(withJSONObject: [
                    "workerId": kith.fixture.id(.omar).text, "heldOn": "2026-06-01", "familyIds": [victim.ids["familyId"]!],
                    "notes": "Discussed a family that is not ours"]))
            #expect([.badRequest, .notFound].contains(supervision.status), "supervision: \(String(buffer: supervision.body))")
            #expect(try await kith.fingerprint() == before)

            // A device's mutations naming another family's records are rejected one by one and kept for review; the
            // records themselves are untouched.
            let device = try await FieldDevice.register(kith, as: .omar)
            let pushed = try await device.push([
                Mutation.mutation(1, "note.amend", args: [
                    "noteId": victim.ids["noteId"]!, "supersedes": victim.ids["revisionId"]!, "body": "x", "reason": "y"]),
                Mutation.setPhone(2, person: victim.ids["personId"]!, phone: "0", baseVersion: 0),
                Mutation.note(3, family: victim.ids["familyId"]!),
                Mutation.mutation(4, "planItem.addUpdate", args: ["planItemId": victim.ids["planItemId"]!, "text": "x"]),
            ])
            #expect(pushed.results.map(\.status) == [.rejected, .rejected, .rejected, .rejected])
            #expect(try await kith.count("SELECT count(*) FROM note_revisions WHERE family_id = '\(victim.ids["familyId"]!)'") == 1)
            #expect(try await kith.count("SELECT count(*) FROM notes WHERE family_id = '\(victim.ids["familyId"]!)'") == 1)
            #expect(try await kith.count("SELECT count(*) FROM people WHERE id = '\(victim.ids["personId"]!)' AND phone IS NOT NULL") == 0)
            #expect(try await kith.count("SELECT count(*) FROM plan_item_updates") == 0)
            // What was refused goes to the supervisors of the family it named, not to Omar (he may not read that family)
            // nor to another team's supervisors.
            let north: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: .sam)
            #expect(north.items.filter { $0.kind == .rejected }.count == 4)
            let south: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: .ruth)
            #expect(!south.items.contains { $0.kind == .rejected })
            let omars: Components.Schemas.ReviewItemPage = try await kith.send(.get, "/v1/review-items", as: .omar)
            #expect(!omars.items.contains { $0.kind == .rejected })
        }
    }
}

enum CalendarDayText {
    static var today: String { String(ISO8601DateFormatter().string(from: Date()).prefix(10)) }
}

extension Kith {
    /// A request that must answer 201, its body as a JSON object.
    func json(_ method: HTTPRequest.Method, _ path: String, as who: Fixture.Who, _ body: [String: Any]) async throws -> [String: Any] {
        let response = try await request(method, path, token: fixture.tokens[who]!, body: try JSONSerialization.data(withJSONObject: body))
        #expect(response.status == .created, "\(path): \(String(buffer: response.body))")
        return try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any] ?? [:]
    }
}
