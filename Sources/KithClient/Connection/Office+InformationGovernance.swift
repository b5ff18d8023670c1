import Foundation
import KithAPI
import OpenAPIRuntime

/// An information-governance officer's work, all on the server: subject access requests, their bundles, decisions and
/// disclosures; retention rules, holds and what is due for disposal (docs/information-governance.md).
extension Office {
    package typealias Request = Components.Schemas.SubjectAccessRequest

    package func subjectAccessRequests(status: Operations.ListSubjectAccessRequests.Input.Query.StatusPayload? = nil) async throws -> [Request] {
        try await client.listSubjectAccessRequests(query: .init(status: status)).ok.body.json.items
    }

    /// The request whose id starts with `ref`.
    package func subjectAccessRequest(_ ref: String) async throws -> Request {
        let matches = try await subjectAccessRequests().filter { $0.id.hasPrefix(ref.lowercased()) }
        guard matches.count == 1, !ref.isEmpty else { throw CommandError.usage("'\(ref)' matches \(matches.count) subject access requests") }
        return matches[0]
    }

    package func logSubjectAccessRequest(_ request: Components.Schemas.CreateSubjectAccessRequest) async throws -> Request {
        try await client.createSubjectAccessRequest(body: .json(request)).created.body.json
    }

    package func record(_ event: Components.Schemas.SubjectAccessEventInput, on request: Request) async throws -> Request {
        try await client.recordSubjectAccessEvent(path: .init(requestId: request.id), body: .json(event)).created.body.json
    }

    package func bundle(of request: Request) async throws -> [Components.Schemas.SubjectAccessItem] {
        try await client.getSubjectAccessBundle(path: .init(requestId: request.id)).ok.body.json.items
    }

    package func redact(_ redaction: Components.Schemas.SubjectAccessRedaction, in request: Request) async throws {
        _ = try await client.redactSubjectAccessItem(path: .init(requestId: request.id), body: .json(redaction)).created
    }

    package func release(_ release: Components.Schemas.SubjectAccessRelease, in request: Request) async throws {
        _ = try await client.releaseSubjectAccessItem(path: .init(requestId: request.id), body: .json(release)).created
    }

    /// A new disclosure and its document exactly as the server kept it.
    package func disclose(_ request: Request) async throws -> (Components.Schemas.SubjectAccessDisclosure, Data) {
        let disclosure = try await client.createSubjectAccessDisclosure(path: .init(requestId: request.id)).created.body.json
        let document = try await client.getSubjectAccessDisclosure(path: .init(requestId: request.id, disclosureId: disclosure.id)).ok.body.html
        return (disclosure, try await Data(collecting: document, upTo: 64 << 20))
    }

    package func holds() async throws -> [Components.Schemas.LegalHold] {
        try await client.listLegalHolds().ok.body.json.items
    }

    package func placeHold(_ hold: Components.Schemas.CreateLegalHold) async throws -> Components.Schemas.LegalHold {
        try await client.placeLegalHold(body: .json(hold)).created.body.json
    }

    /// Releases the hold whose id starts with `ref`.
    package func releaseHold(_ ref: String, reason: String) async throws -> Components.Schemas.LegalHold {
        let matches = try await holds().filter { $0.id.hasPrefix(ref.lowercased()) && $0.released == nil }
        guard matches.count == 1, !ref.isEmpty else { throw CommandError.usage("'\(ref)' matches \(matches.count) holds in place") }
        return try await client.releaseLegalHold(path: .init(holdId: matches[0].id), body: .json(.init(reason: reason))).ok.body.json
    }

    package func retentionRules() async throws -> [Components.Schemas.RetentionRule] {
        try await client.getRetentionRules().ok.body.json
    }

    package func chooseRetentionRule(_ rule: String, forFamily familyId: String) async throws -> Components.Schemas.FamilyRetention {
        try await client.chooseRetentionRule(path: .init(familyId: familyId), body: .json(.init(rule: rule))).ok.body.json
    }

    package func disposalDue() async throws -> [Components.Schemas.DisposalDue.ItemsPayloadPayload] {
        try await client.listDisposalDue().ok.body.json.items
    }
}
