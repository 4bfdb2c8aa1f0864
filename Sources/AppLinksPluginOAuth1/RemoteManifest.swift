import AppLinksCore
import AppLinksJSON
import Foundation

/// What an application serves at `/rest/applinks/1.0/manifest`, in JSON or Atlassian's XML.
public struct RemoteManifest: Sendable, Hashable {
    public var id: String
    public var name: String
    public var typeId: String
    public var version: String?
    public var url: String
    public var incoming: [String]
    public var outgoing: [String]

    public init(id: String, name: String, typeId: String, version: String?, url: String, incoming: [String], outgoing: [String]) {
        (self.id, self.name, self.typeId, self.version, self.url) = (id, name, typeId, version, url)
        (self.incoming, self.outgoing) = (incoming, outgoing)
    }

    /// Reads either form; nil when the body is neither, or names no id.
    public init?(_ body: Data) {
        if let json = try? JSONValue.parse(body), case .object(let o) = json {
            func strings(_ key: String) -> [String] {
                guard case .array(let a)? = o[key] else { return [] }
                return a.compactMap(\.stringValue)
            }
            guard let id = o["id"]?.stringValue, !id.isEmpty else { return nil }
            self.id = id
            name = o["name"]?.stringValue ?? id
            typeId = o["typeId"]?.stringValue ?? "generic"
            version = o["version"]?.stringValue
            url = o["url"]?.stringValue ?? ""
            incoming = strings("incomingAuthenticationTypes")
            outgoing = strings("outgoingAuthenticationTypes")
        } else if let xml = LeafXML.parse(body), xml.root == "manifest", let id = xml.first("id"), !id.isEmpty {
            self.id = id
            name = xml.first("name") ?? id
            typeId = xml.first("typeId") ?? "generic"
            version = xml.first("version")
            url = xml.first("url") ?? ""
            incoming = xml.values["incomingAuthenticationType"] ?? []
            outgoing = xml.values["outgoingAuthenticationType"] ?? []
        } else {
            return nil
        }
    }
}
