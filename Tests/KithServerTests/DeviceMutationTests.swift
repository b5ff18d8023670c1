import Foundation
import KithAPI
import OpenAPIRuntime
import Testing
@testable import KithServer

/// The mutation vocabulary is written once (`DeviceMutation` in KithAPI): what the client encodes is what the server
/// reads, for every kind, and a kind the server does not know is refused by name.
@Suite struct DeviceMutationTests {
    static let family = UUID().text, note = UUID().text, person = UUID().text, item = UUID().text, conflict = UUID().text,
               allocation = UUID().text, conference = UUID().text, friction = UUID().text

    static let everyKind: [DeviceMutation] = [
        .recordContact(familyId: family, .init(id: UUID().text, occurredAt: Date(timeIntervalSince1970: 1_780_000_000), kind: .homeVisit, childSeen: true)),
        .correctContact(contactId: UUID().text, .init(childSeen: false, childrenSeen: [.init(personId: person, seen: false, seenAlone: false)],
                                                      reason: "Amy was at school")),
        .withdrawContact(contactId: UUID().text, .init(reason: "Recorded on the wrong family")),
        .createNote(familyId: family, .init(id: note, revisionId: UUID().text, body: "Saw Amy at home", audience: .professional)),
        .amendNote(noteId: note, .init(id: UUID().text, supersedes: UUID().text, body: "Saw Amy and Jade at home", reason: "Jade was there")),
        .withdrawNote(noteId: note, .init(reason: "Written on the wrong family")),
        .refileNote(noteId: note, .init(id: UUID().text, familyId: family, reason: "Meant for the Morgans")),
        .changeNoteAudience(noteId: note, .init(audience: .restricted, reason: "Sensitive")),
        .addPerson(familyId: family, .init(id: person, name: "Margaret", relationshipToChild: "nan", contact: .init(phone: "07700 900001"))),
        .setPersonFields(personId: person, .init(fields: .init(phone: .init(value: "07700 900002", baseVersion: 1)))),
        .addPlanItemUpdate(planItemId: item, .init(id: UUID().text, text: "Every day this week", status: .done)),
        .resolveConflict(conflictId: conflict, value: "07700 900003"),
        .writeHandover(allocationId: allocation, .init(note: "Amy likes visits after school.", jointVisitContactId: UUID().text)),
        .createConference(familyId: family, .init(
            id: conference, referral: .init(referrer: .init(name: "Mrs Hughes", agency: "Riverside Primary"), reason: "Attendance",
                                            familyAgreed: true, bottomLines: []))),
        .recordStage(conferenceId: conference, .init(stage: .preparing, on: "2026-11-10", note: "Met Jade")),
        .setParticipant(conferenceId: conference, .init(personId: person, role: .familyMember, invited: true)),
        .recordMeeting(conferenceId: conference, .init(
            id: UUID().text, kind: .initial, heldOn: "2026-11-20", privateFamilyTime: .init(startedAt: Date(timeIntervalSince1970: 1_780_000_000)),
            attended: [person])),
        .createPlan(conferenceId: conference, .init(
            id: UUID().text, items: [.init(id: UUID().text, who: person, what: "School runs on Mondays")], agreedByReferrer: true)),
        .createFriction(frictionId: friction, .init(
            id: friction, text: "No interpreter for Saturday", familyId: family, kind: .resource, cost: "2 hours", didItAnyway: .partly)),
    ]

    @Test func whatTheClientWritesTheServerReadsForEveryKind() throws {
        #expect(Set(Self.everyKind.map(\.kind)) == Set(DeviceMutation.Kind.allCases))
        for mutation in Self.everyKind {
            let args = try mutation.args()
            #expect(args.value[mutation.kind.target] as? String == mutation.targetId)
            let read = try #require(try DeviceMutation(type: mutation.kind.rawValue, args: args))
            #expect(read.kind == mutation.kind && read.targetId == mutation.targetId)
            #expect(try Self.canonical(read.args()) == Self.canonical(args))
            _ = try DeviceWrite(type: mutation.kind.rawValue, args: args)
        }
        let contact = try DeviceWrite(type: "contact.record", args: try Self.everyKind[0].args())
        guard case .contact(let written) = contact else { Issue.record("a contact.record is a contact"); return }
        #expect(written.familyId.text == Self.family && written.childSeen == true)
    }

    static func canonical(_ args: OpenAPIObjectContainer) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(args), as: UTF8.self)
    }

    @Test func anUnknownKindOrAMissingTargetIsRefusedByName() throws {
        #expect(try DeviceMutation(type: "note.delete", args: .init()) == nil)
        #expect { try DeviceWrite(type: "note.delete", args: .init()) } throws: { error in
            (error as? KithError)?.fieldErrors.first?.field == "type"
        }
        #expect { try DeviceWrite(type: "note.create", args: .init(unvalidatedValue: ["body": "No family"])) } throws: { error in
            (error as? KithError)?.fieldErrors.first?.field == "args.familyId"
        }
        #expect { try DeviceWrite(type: "note.create", args: .init(unvalidatedValue: ["familyId": "not-an-id", "body": "x"])) } throws: { error in
            (error as? KithError)?.fieldErrors.first?.field == "args.familyId"
        }
    }

    /// A re-sent mutation is matched by the SHA-256 of these bytes, stored when it was first applied: they must stay
    /// what every earlier build wrote (keys sorted, slashes escaped, times to the second, the id in lower case), or
    /// a device re-sending work after an upgrade would be told it sent something else under the same id.
    @Test func aMutationsPayloadIsTheSameBytesAsEver() throws {
        let mutation = Components.Schemas.Mutation(
            seq: 7, id: "0F8C4B2E-6D1A-4E39-9C57-3B2A1D0E9F84", _type: "note.create",
            recordedAt: Date(timeIntervalSince1970: 1_796_551_200.75), grantId: nil,
            args: .init(additionalProperties: try .init(unvalidatedValue: [
                "familyId": Self.family, "body": "Seen at home/school.", "sections": ["observed": "Calm", "analysis": "Settled"],
            ])))
        #expect(String(decoding: try Records.payload(mutation), as: UTF8.self) == """
            {"args":{"body":"Seen at home\\/school.","familyId":"\(Self.family)","sections":{"analysis":"Settled","observed":"Calm"}},\
            "id":"0f8c4b2e-6d1a-4e39-9c57-3b2a1d0e9f84","recordedAt":"2026-12-06T10:00:00Z","type":"note.create"}
            """)
    }
}
