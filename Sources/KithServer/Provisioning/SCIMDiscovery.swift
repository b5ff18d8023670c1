import Foundation
import KithCore

/// What SCIM's discovery endpoints answer (RFC 7644 §4), made once at start: the service's settings, its one resource
/// type (User) and the schemas, Kith's User and the three of RFC 7643 §7–8.7.2 every service publishes
/// (`scim-schemas.json`, the core three as scim2-models writes them).
struct SCIMDiscovery: Sendable {
    let serviceProviderConfig: Data
    let resourceTypes: Data
    let resourceType: [String: Data]
    let schemas: Data
    let schema: [String: Data]

    init(base: String) throws {
        guard let file = Bundle.module.url(forResource: "scim-schemas", withExtension: "json"),
              let published = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [[String: Any]]
        else { throw AppConfig.Invalid(problems: ["SCIM's schemas are missing from this build"]) }
        let schemas = published.map { schema in
            var schema = schema
            schema["meta"] = ["resourceType": "Schema", "location": "\(base)/Schemas/\(schema["id"] as? String ?? "")"]
            return schema
        }
        let user: [String: Any] = [
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], "id": "User", "name": "User", "endpoint": "/Users",
            "description": "The organisation's workers", "schema": SCIMUser.schema,
            "meta": ["resourceType": "ResourceType", "location": "\(base)/ResourceTypes/User"],
        ]
        let config: [String: Any] = [
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": ["supported": true], "bulk": ["supported": false, "maxOperations": 0, "maxPayloadSize": 0],
            "filter": ["supported": true, "maxResults": SCIM.maxResults], "changePassword": ["supported": false],
            "sort": ["supported": false], "etag": ["supported": false],
            "authenticationSchemes": [[
                "type": "oauthbearertoken", "name": "Bearer token", "primary": true,
                "description": "A token an administrator of the organisation made (POST /v1/organisation/scim-tokens).",
            ]],
            "meta": ["resourceType": "ServiceProviderConfig", "location": "\(base)/ServiceProviderConfig"],
        ]
        func list(_ resources: [[String: Any]]) throws -> Data {
            try SCIM.data([
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": resources.count,
                "startIndex": 1, "itemsPerPage": resources.count, "Resources": resources,
            ])
        }
        serviceProviderConfig = try SCIM.data(config)
        resourceTypes = try list([user])
        resourceType = ["User": try SCIM.data(user)]
        self.schemas = try list(schemas)
        schema = try Dictionary(uniqueKeysWithValues: schemas.map { ($0["id"] as? String ?? "", try SCIM.data($0)) })
    }
}
