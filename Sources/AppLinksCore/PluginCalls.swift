import AppLinksJSON
import Foundation

/// What the host sends to `check_status`.
public struct StatusRequest: Codable, Sendable, Hashable {
    public var link: Link
    /// The link's secrets, opened, for the owning plugin only.
    public var secrets: [String: String]
    public init(link: Link, secrets: [String: String]) {
        self.link = link
        self.secrets = secrets
    }
}

/// What `check_status` answers. `applicationVersion`, when present, updates the remote's version shown in the table.
public struct StatusResponse: Codable, Sendable, Hashable {
    public var category: StatusCategory
    public var errorType: StatusErrorType?
    public var message: String
    public var applicationVersion: String?

    public init(_ category: StatusCategory, _ errorType: StatusErrorType? = nil, message: String, applicationVersion: String? = nil) {
        self.category = category
        self.errorType = errorType
        self.message = message
        self.applicationVersion = applicationVersion
    }

    enum CodingKeys: String, CodingKey {
        case category, message
        case errorType = "error_type"
        case applicationVersion = "application_version"
    }
}

/// What the host sends to `invoke_action`.
public struct ActionRequest: Codable, Sendable, Hashable {
    public var action: String
    public var link: Link
    public var secrets: [String: String]
    public var args: [String: JSONValue]
    /// The admin or user on whose behalf the action runs.
    public var actor: String

    public init(action: String, link: Link, secrets: [String: String], args: [String: JSONValue], actor: String) {
        self.action = action
        self.link = link
        self.secrets = secrets
        self.args = args
        self.actor = actor
    }
}

/// Changes an action asks the host to make to its link, applied under optimistic locking.
public struct LinkChanges: Codable, Sendable, Hashable {
    public var name: String?
    public var displayURL: String?
    public var rpcURL: String?
    public var application: ApplicationInfo?
    public var incomingAuth: [String]?
    public var outgoingAuth: [String]?
    public var config: [String: JSONValue]?
    /// Secrets to set; a `nil` value removes that secret.
    public var secrets: [String: String?]?

    public init(
        name: String? = nil, displayURL: String? = nil, rpcURL: String? = nil, application: ApplicationInfo? = nil,
        incomingAuth: [String]? = nil, outgoingAuth: [String]? = nil, config: [String: JSONValue]? = nil,
        secrets: [String: String?]? = nil
    ) {
        self.name = name
        self.displayURL = displayURL
        self.rpcURL = rpcURL
        self.application = application
        self.incomingAuth = incomingAuth
        self.outgoingAuth = outgoingAuth
        self.config = config
        self.secrets = secrets
    }

    enum CodingKeys: String, CodingKey {
        case name, application, config, secrets
        case displayURL = "display_url"
        case rpcURL = "rpc_url"
        case incomingAuth = "incoming_auth"
        case outgoingAuth = "outgoing_auth"
    }
}

/// What `invoke_action` answers.
public struct ActionResponse: Codable, Sendable, Hashable {
    public var message: String?
    public var output: JSONValue?
    public var changes: LinkChanges?

    public init(message: String? = nil, output: JSONValue? = nil, changes: LinkChanges? = nil) {
        self.message = message
        self.output = output
        self.changes = changes
    }
}

/// One HTTP request that the host hands to a plugin's `handle_http`.
public struct PluginHTTPRequest: Codable, Sendable, Hashable {
    public struct User: Codable, Sendable, Hashable {
        public var name: String
        public var admin: Bool
        public init(name: String, admin: Bool) {
            self.name = name
            self.admin = admin
        }
    }
    public var method: String
    public var path: String
    public var query: String
    public var headers: [[String]]
    public var bodyBase64: String
    public var remoteAddress: String?
    public var user: User?
    public var baseURL: String
    /// The ``LinkTypeDescriptor/Route/id`` of the route the host matched, so that the plugin need not match it again;
    /// ``statusAPIRoute`` for the host's status API, which no link type declares. Absent from hosts before 1.2.
    public var route: String?

    /// The route id of `GET /rest/applinks/3.0/status/{id}`: the host's route, which hands a remote's check of a
    /// link to the link's type as it came.
    public static let statusAPIRoute = "GET /rest/applinks/3.0/status/{id}"
    /// Where the status API's paths start, for a request from a host that names no route.
    public static let statusAPIPrefix = "/rest/applinks/3.0/status/"

    public init(
        method: String, path: String, query: String = "", headers: [[String]] = [], body: Data = Data(),
        remoteAddress: String? = nil, user: User? = nil, baseURL: String, route: String? = nil
    ) {
        self.route = route
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.bodyBase64 = body.base64EncodedString()
        self.remoteAddress = remoteAddress
        self.user = user
        self.baseURL = baseURL
    }

    public var body: Data { Data(base64Encoded: bodyBase64) ?? Data() }

    /// The first value of the header `name`, compared without case.
    public func header(_ name: String) -> String? {
        headers.first { $0.count == 2 && HTTPHeaderName.same($0[0], name) }?[1]
    }

    enum CodingKeys: String, CodingKey {
        case method, path, query, headers, user, route
        case bodyBase64 = "body_base64"
        case remoteAddress = "remote_address"
        case baseURL = "base_url"
    }
}

/// A plugin's HTTP answer.
public struct PluginHTTPResponse: Codable, Sendable, Hashable {
    public var status: Int
    public var headers: [[String]]
    public var bodyBase64: String
    /// Links of the plugin's own type whose status this request changed, such as a callback that stored a
    /// link's first tokens: the host checks them again at once instead of at the next sweep.
    public var checkLinks: [String]?
    /// The wizard draft this request moved on, such as a callback that stored the approval a pending step waits
    /// for: when the admin started that wizard in the browser, the host sends the browser back to it.
    public var resumeDraft: String?

    public init(status: Int, headers: [[String]] = [], body: Data = Data(), checkLinks: [String]? = nil, resumeDraft: String? = nil) {
        self.status = status
        self.headers = headers
        self.bodyBase64 = body.base64EncodedString()
        self.checkLinks = checkLinks
        self.resumeDraft = resumeDraft
    }

    public var body: Data { Data(base64Encoded: bodyBase64) ?? Data() }

    enum CodingKeys: String, CodingKey {
        case status, headers
        case bodyBase64 = "body_base64"
        case checkLinks = "check_links"
        case resumeDraft = "resume_draft"
    }
}

/// The body of an `APPLINKS_ERROR` result, in both directions across the ABI.
public struct PluginErrorBody: Codable, Sendable, Hashable {
    public var code: String
    public var message: String
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

/// An entry in the audit log.
public struct AuditEvent: Codable, Sendable, Hashable {
    public var id: Int64?
    public var at: Date
    public var actor: String
    public var action: String
    public var linkID: String?
    public var linkType: String?
    public var detail: [String: JSONValue]

    public init(
        id: Int64? = nil, at: Date = Date(), actor: String, action: String, linkID: String? = nil,
        linkType: String? = nil, detail: [String: JSONValue] = [:]
    ) {
        self.id = id
        self.at = at
        self.actor = actor
        self.action = action
        self.linkID = linkID
        self.linkType = linkType
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case id, at, actor, action, detail
        case linkID = "link_id"
        case linkType = "link_type"
    }
}

/// A request for the host's outbound HTTP service (`http_request` in the host API).
public struct HostHTTPRequest: Codable, Sendable, Hashable {
    public var method: String
    public var url: String
    public var headers: [[String]]
    public var bodyBase64: String?
    public var timeoutMs: Int
    public var followRedirects: Bool

    public init(
        method: String = "GET", url: String, headers: [[String]] = [], body: Data? = nil, timeoutMs: Int = 10_000,
        followRedirects: Bool = false
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.bodyBase64 = body?.base64EncodedString()
        self.timeoutMs = timeoutMs
        self.followRedirects = followRedirects
    }

    public var body: Data? { bodyBase64.flatMap { Data(base64Encoded: $0) } }

    enum CodingKeys: String, CodingKey {
        case method, url, headers
        case bodyBase64 = "body_base64"
        case timeoutMs = "timeout_ms"
        case followRedirects = "follow_redirects"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        method = try c.decodeIfPresent(String.self, forKey: .method) ?? "GET"
        url = try c.decode(String.self, forKey: .url)
        headers = try c.decodeIfPresent([[String]].self, forKey: .headers) ?? []
        bodyBase64 = try c.decodeIfPresent(String.self, forKey: .bodyBase64)
        timeoutMs = try c.decodeIfPresent(Int.self, forKey: .timeoutMs) ?? 10_000
        followRedirects = try c.decodeIfPresent(Bool.self, forKey: .followRedirects) ?? false
    }
}

/// The answer of the host's outbound HTTP service.
public struct HostHTTPResponse: Codable, Sendable, Hashable {
    public var status: Int
    public var headers: [[String]]
    public var bodyBase64: String

    public init(status: Int, headers: [[String]], body: Data) {
        self.status = status
        self.headers = headers
        self.bodyBase64 = body.base64EncodedString()
    }

    public var body: Data { Data(base64Encoded: bodyBase64) ?? Data() }

    public func header(_ name: String) -> String? {
        headers.first { $0.count == 2 && HTTPHeaderName.same($0[0], name) }?[1]
    }

    enum CodingKeys: String, CodingKey {
        case status, headers
        case bodyBase64 = "body_base64"
    }
}

/// This instance, as the host API's `instance_info` describes it.
public struct InstanceInfo: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var type: String
    public var version: String
    public var baseURL: String
    public var publicKeyPEM: String
    /// The host's clock, for the timestamps of signed requests: a test may set it off the real one.
    public var now: Date?
    /// Deployment settings meant for link types, by their key in the config (`oauth2.code_lifetime_seconds`).
    public var settings: [String: JSONValue]?

    public init(
        id: String, name: String, type: String = "applinks", version: String, baseURL: String, publicKeyPEM: String, now: Date? = nil,
        settings: [String: JSONValue]? = nil
    ) {
        self.settings = settings
        self.id = id
        self.name = name
        self.type = type
        self.version = version
        self.baseURL = baseURL
        self.publicKeyPEM = publicKeyPEM
        self.now = now
    }

    enum CodingKeys: String, CodingKey {
        case id, name, type, version, now, settings
        case baseURL = "base_url"
        case publicKeyPEM = "public_key_pem"
    }
}

/// The request of the host API's `link_update`: the link's id and the version the change is based on.
public struct LinkUpdateRequest: Codable, Sendable, Hashable {
    public var id: String
    public var version: Int
    public var changes: LinkChanges

    public init(id: String, version: Int, changes: LinkChanges) {
        self.id = id
        self.version = version
        self.changes = changes
    }
}

/// HTTP header names, which compare without case (RFC 9110 §5.1).
public enum HTTPHeaderName {
    /// ASCII case-insensitive equality, without allocating: Foundation's `caseInsensitiveCompare` bridges to
    /// NSString on Linux and costs microseconds on every lookup.
    public static func same(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        guard a.utf8.count == b.utf8.count else { return false }
        return a.withUTF8 { x in
            b.withUTF8 { y in
                for (p, q) in zip(x, y) where p != q {
                    let l = p | 0x20
                    guard l == q | 0x20, l >= 0x61, l <= 0x7A else { return false }
                }
                return true
            }
        }
    }
}
