import AppLinksJSON
import Foundation

/// Which way a link authenticates, derived from the authentication configured on this side.
public enum Direction: String, Codable, Sendable, CaseIterable {
    case incoming
    case outgoing
    case twoWay = "two_way"

    /// Derives the direction as Atlassian does: both sides configured is Two-way. A link with no
    /// authentication at all is a plain outgoing link (this side only points at the remote).
    public init(incomingAuth: [String], outgoingAuth: [String]) {
        switch (incomingAuth.isEmpty, outgoingAuth.isEmpty) {
        case (false, false): self = .twoWay
        case (false, true): self = .incoming
        default: self = .outgoing
        }
    }

    public var displayName: String {
        switch self {
        case .incoming: return "Incoming"
        case .outgoing: return "Outgoing"
        case .twoWay: return "Two-way"
        }
    }
}

/// The remote application at the other end of a link.
public struct ApplicationInfo: Codable, Sendable, Hashable {
    /// The display name for a remote that is neither an AppLinks host nor an Atlassian product.
    public static let genericName = "Generic application"

    /// The remote's product as an admin knows it, from its type: "AppLinks", "Jira", "Jenkins", or "Generic
    /// application".
    public var productName: String {
        switch type {
        case "generic": Self.genericName
        case "applinks": "AppLinks"
        case "jira": "Jira"
        case "confluence": "Confluence"
        case "bitbucket": "Bitbucket"
        case "bamboo": "Bamboo"
        case "fecru": "Fisheye / Crucible"
        case "jenkins": "Jenkins"
        case "oauth2-client": "OAuth 2.0 client"
        case "oauth2-provider": "OAuth 2.0 provider"
        default: type.prefix(1).uppercased() + type.dropFirst()
        }
    }

    /// What the Application column shows after the link's name: the product and its version, once.
    public var productAndVersion: String { [productName, version].compactMap { $0 }.joined(separator: " ") }

    /// Application type id, such as `applinks`, `jira`, `jenkins` or `generic`.
    public var type: String
    /// Product name, such as "Jira" or "Jenkins"; "Generic application" for an unknown remote.
    public var name: String
    public var version: String?
    /// The remote's own application id, when it has one.
    public var id: String?

    public init(type: String, name: String? = nil, version: String? = nil, id: String? = nil) {
        self.type = type
        self.name = (name?.isEmpty == false ? name : nil) ?? Self.genericName
        self.version = version
        self.id = id
    }

    /// The JSON shape, in one place: `encode(to:)` and the fast list writer both use it.
    public var jsonValue: JSONValue {
        [
            "type": .string(type), "name": .string(name), "version": version.map(JSONValue.string) ?? .null,
            "id": id.map(JSONValue.string) ?? .null,
        ]
    }

    public func encode(to encoder: any Encoder) throws { try jsonValue.encode(to: encoder) }
}

/// One application link, as the store keeps it and as `applinks list --json` prints it.
public struct Link: Codable, Sendable, Hashable, Identifiable {
    public var id: String
    /// The id of the link-type plugin that owns this link.
    public var type: String
    public var name: String
    public var application: ApplicationInfo
    public var displayURL: String
    public var rpcURL: String
    public var incomingAuth: [String]
    public var outgoingAuth: [String]
    public var primary: Bool
    public var enabled: Bool
    /// Plugin-owned configuration. Never holds secrets: those are sealed separately.
    public var config: [String: JSONValue]
    public var status: LinkStatus
    /// Incremented on every update, for optimistic locking.
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date

    public var direction: Direction { Direction(incomingAuth: incomingAuth, outgoingAuth: outgoingAuth) }

    public init(
        id: String = UUID().uuidString.lowercased(), type: String, name: String, application: ApplicationInfo,
        displayURL: String, rpcURL: String? = nil, incomingAuth: [String] = [], outgoingAuth: [String] = [],
        primary: Bool = false, enabled: Bool = true, config: [String: JSONValue] = [:],
        status: LinkStatus = .unchecked, version: Int = 1, createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.id = id
        self.type = type
        self.name = name
        self.application = application
        self.displayURL = displayURL
        self.rpcURL = rpcURL ?? displayURL
        self.incomingAuth = incomingAuth
        self.outgoingAuth = outgoingAuth
        self.primary = primary
        self.enabled = enabled
        self.config = config
        self.status = status
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    private struct URLs: Decodable, Hashable {
        var display: String
        var rpc: String
    }

    enum CodingKeys: String, CodingKey {
        case id, type, name, application, direction, status, urls, primary, enabled, config, version
        case incomingAuth = "incoming_auth"
        case outgoingAuth = "outgoing_auth"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        type = try c.decode(String.self, forKey: .type)
        name = try c.decode(String.self, forKey: .name)
        application = try c.decode(ApplicationInfo.self, forKey: .application)
        let urls = try c.decode(URLs.self, forKey: .urls)
        displayURL = urls.display
        rpcURL = urls.rpc
        incomingAuth = try c.decodeIfPresent([String].self, forKey: .incomingAuth) ?? []
        outgoingAuth = try c.decodeIfPresent([String].self, forKey: .outgoingAuth) ?? []
        primary = try c.decodeIfPresent(Bool.self, forKey: .primary) ?? false
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? true
        config = try c.decodeIfPresent([String: JSONValue].self, forKey: .config) ?? [:]
        status = try c.decodeIfPresent(LinkStatus.self, forKey: .status) ?? .unchecked
        version = try c.decodeIfPresent(Int.self, forKey: .version) ?? 1
        createdAt = try c.decodeIfPresent(Date.self, forKey: .createdAt) ?? Date()
        updatedAt = try c.decodeIfPresent(Date.self, forKey: .updatedAt) ?? Date()
    }

    /// The JSON shape `applinks list --json` prints, in one place: `encode(to:)` and the fast list writer both
    /// use it. Dates are formatted here rather than through an encoder's date strategy.
    public var jsonValue: JSONValue {
        [
            "id": .string(id), "type": .string(type), "name": .string(name), "application": application.jsonValue,
            "direction": .string(direction.rawValue), "status": status.jsonValue,
            "urls": ["display": .string(displayURL), "rpc": .string(rpcURL)],
            "incoming_auth": .array(incomingAuth.map(JSONValue.string)), "outgoing_auth": .array(outgoingAuth.map(JSONValue.string)),
            "primary": .bool(primary), "enabled": .bool(enabled), "config": .object(config), "version": .number(Double(version)),
            "created_at": .string(Timestamp.format(createdAt)), "updated_at": .string(Timestamp.format(updatedAt)),
        ]
    }

    public func encode(to encoder: any Encoder) throws { try jsonValue.encode(to: encoder) }
}
