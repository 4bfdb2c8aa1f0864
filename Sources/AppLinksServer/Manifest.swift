import AppLinksCore
import AppLinksHost
import Foundation

/// This instance as remote applications discover it at `/rest/applinks/1.0/manifest`.
///
/// The field names are Atlassian's (camelCase), because Atlassian products read this document: in JSON by
/// default, and in their XML shape (root `<manifest>`, one element per authentication type) when the client
/// asks for `application/xml`.
public struct Manifest: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var typeId: String
    public var version: String
    public var buildNumber: String
    public var applinksVersion: String
    public var url: String
    public var publicSignup: Bool
    public var incomingAuthenticationTypes: [String]
    public var outgoingAuthenticationTypes: [String]

    /// The application-links protocol version this host implements, as Atlassian numbers its own.
    public static let applinksProtocolVersion = "9.0.0"

    public init(deployment: Deployment) {
        let info = deployment.instanceInfo
        let descriptors = deployment.plugins.values.map(\.descriptor).sorted { $0.id < $1.id }
        func union(_ pick: (LinkTypeDescriptor.Authentication) -> [String]) -> [String] {
            var seen = Set<String>()
            return descriptors.flatMap { $0.authentication.map(pick) ?? [] }.filter { seen.insert($0).inserted }
        }
        id = info.id
        name = info.name
        typeId = info.type
        version = info.version
        buildNumber = info.version.split(separator: ".").map { String(format: "%03d", Int($0) ?? 0) }.joined()
        applinksVersion = Self.applinksProtocolVersion
        url = info.baseURL
        publicSignup = false
        incomingAuthenticationTypes = union(\.incoming)
        outgoingAuthenticationTypes = union(\.outgoing)
    }

    /// Atlassian's XML shape.
    public var xml: String {
        func esc(_ s: String) -> String {
            TextEscaping.xml(s)
        }
        var lines = ["<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>", "<manifest>"]
        for (tag, value) in [
            ("id", id), ("name", name), ("typeId", typeId), ("version", version), ("buildNumber", buildNumber),
            ("applinksVersion", applinksVersion), ("url", url), ("publicSignup", String(publicSignup)),
        ] {
            lines.append("    <\(tag)>\(esc(value))</\(tag)>")
        }
        for t in incomingAuthenticationTypes { lines.append("    <incomingAuthenticationType>\(esc(t))</incomingAuthenticationType>") }
        for t in outgoingAuthenticationTypes { lines.append("    <outgoingAuthenticationType>\(esc(t))</outgoingAuthenticationType>") }
        lines.append("</manifest>")
        return lines.joined(separator: "\n") + "\n"
    }
}
