import AppLinksJSON
import Foundation

/// The JSON document a plugin declares in `descriptor_json`: what its wizard asks, what it checks, which
/// actions it offers and which HTTP routes it serves.
///
/// Unknown members are ignored, so a newer minor ABI may add some. ``validate(expectedID:)`` enforces the
/// rules of `sdk/schema/descriptor.schema.json`.
public struct LinkTypeDescriptor: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var version: String
    public var vendor: String
    public var description: String?
    public var directions: [Direction]
    public var wizard: Wizard
    public var statusChecks: [StatusCheck]
    public var actions: [Action]
    public var routes: [Route]
    /// Authentication types this link type offers, as the manifest names them (Atlassian uses Java class
    /// names, such as `com.atlassian.applinks.api.auth.types.OAuthAuthenticationProvider`).
    public var authentication: Authentication?

    public struct Authentication: Codable, Sendable, Hashable {
        public var incoming: [String]
        public var outgoing: [String]
        public init(incoming: [String] = [], outgoing: [String] = []) {
            self.incoming = incoming
            self.outgoing = outgoing
        }
    }

    public struct Wizard: Codable, Sendable, Hashable {
        public var steps: [Step]
        public init(steps: [Step]) { self.steps = steps }
    }

    public struct Step: Codable, Sendable, Hashable {
        public var id: String
        public var title: String
        /// Every answer the step may read, the hidden ones too: when every step lists its fields, the host refuses
        /// an answer none of them reads (a typo in `--set`) before the wizard starts, instead of ignoring it.
        public var fields: [String]?
        public init(id: String, title: String, fields: [String]? = nil) {
            self.id = id
            self.title = title
            self.fields = fields
        }
    }

    public struct StatusCheck: Codable, Sendable, Hashable {
        public var id: String
        public var title: String
        /// The error types this check may answer, from the status vocabulary: for admins reading `plugins info`.
        public var errorTypes: [StatusErrorType]?
        public init(id: String, title: String, errorTypes: [StatusErrorType]? = nil) {
            self.id = id
            self.title = title
            self.errorTypes = errorTypes
        }

        enum CodingKeys: String, CodingKey {
            case id, title
            case errorTypes = "error_types"
        }
    }

    /// A typed action parameter. The CLI turns each into a `--arg name=value` with checked type.
    public struct Parameter: Codable, Sendable, Hashable {
        public enum Kind: String, Codable, Sendable, CaseIterable {
            case string, int, double, bool, url, secret
        }
        public var name: String
        public var type: Kind
        public var required: Bool
        public var defaultValue: JSONValue?
        public var help: String?

        public init(name: String, type: Kind, required: Bool = false, defaultValue: JSONValue? = nil, help: String? = nil) {
            self.name = name
            self.type = type
            self.required = required
            self.defaultValue = defaultValue
            self.help = help
        }

        enum CodingKeys: String, CodingKey {
            case name, type, required, help
            case defaultValue = "default"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            type = try c.decode(Kind.self, forKey: .type)
            required = try c.decodeIfPresent(Bool.self, forKey: .required) ?? false
            defaultValue = try c.decodeIfPresent(JSONValue.self, forKey: .defaultValue)
            help = try c.decodeIfPresent(String.self, forKey: .help)
        }
    }

    /// The actions an admin may run: all but those for the host's API alone.
    public var adminActions: [Action] { actions.filter { !$0.hostOnly } }

    public struct Action: Codable, Sendable, Hashable {
        public var id: String
        public var title: String
        public var description: String?
        public var destructive: Bool
        public var params: [Parameter]
        /// Run only through the host's API (``Deployment``), never by an admin: an action whose output is a
        /// credential, such as a fresh access token for another link type or an embedding product.
        public var hostOnly: Bool
        /// Arguments besides `params` are passed on as strings, such as a Jenkins job's own build parameters.
        public var extraParams: Bool
        /// A C plugin's action that is a plain C function, which the host calls with its typed arguments.
        public var cFunction: CFunction?

        /// `int32_t symbol(void *plugin_ctx, ARGS…, applinks_buffer *out)`, where each of `args` (one per
        /// parameter, in order) is `int64`, `double`, `bool` or `string` (`const char *`).
        public struct CFunction: Codable, Sendable, Hashable {
            public var symbol: String
            public var args: [String]
            /// Since ABI 1.2: the function also receives the host's table, its context and the id of the link it runs
            /// on, after the plugin's context: `int32_t symbol(void *plugin_ctx, const applinks_host_api *host,
            /// void *host_ctx, const char *link_id, ARGS…, applinks_buffer *out)`, so that it can call the link's remote.
            public var withLink: Bool
            public init(symbol: String, args: [String], withLink: Bool = false) {
                self.symbol = symbol
                self.args = args
                self.withLink = withLink
            }

            enum CodingKeys: String, CodingKey {
                case symbol, args
                case withLink = "with_link"
            }

            public init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                symbol = try c.decode(String.self, forKey: .symbol)
                args = try c.decode([String].self, forKey: .args)
                withLink = try c.decodeIfPresent(Bool.self, forKey: .withLink) ?? false
            }

            public func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(symbol, forKey: .symbol)
                try c.encode(args, forKey: .args)
                if withLink { try c.encode(true, forKey: .withLink) }
            }
        }

        public init(
            id: String, title: String, description: String? = nil, destructive: Bool = false, params: [Parameter] = [],
            hostOnly: Bool = false, extraParams: Bool = false
        ) {
            self.id = id
            self.title = title
            self.description = description
            self.destructive = destructive
            self.params = params
            self.hostOnly = hostOnly
            self.extraParams = extraParams
        }

        enum CodingKeys: String, CodingKey {
            case id, title, description, destructive, params
            case hostOnly = "host_only"
            case extraParams = "extra_params"
            case cFunction = "c_function"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id)
            title = try c.decode(String.self, forKey: .title)
            description = try c.decodeIfPresent(String.self, forKey: .description)
            destructive = try c.decodeIfPresent(Bool.self, forKey: .destructive) ?? false
            params = try c.decodeIfPresent([Parameter].self, forKey: .params) ?? []
            hostOnly = try c.decodeIfPresent(Bool.self, forKey: .hostOnly) ?? false
            extraParams = try c.decodeIfPresent(Bool.self, forKey: .extraParams) ?? false
            cFunction = try c.decodeIfPresent(CFunction.self, forKey: .cFunction)
        }
    }

    public struct Route: Codable, Sendable, Hashable {
        public enum Auth: String, Codable, Sendable { case none, user, admin }
        public var method: String
        public var path: String
        public var auth: Auth
        /// The plugin answers this route at once, from memory, the key-value store and its own links: without
        /// host calls that wait on other work (HTTP, link updates, audit) and without sleeping. The host then calls `handle_http` on the
        /// request's own thread, skipping the hand-off to a plugin thread that costs more than a small answer
        /// itself, whenever its store answers key-value calls on the calling thread.
        public var inline: Bool
        /// A `GET` that tells who a bearer token belongs to: given `Authorization: Bearer TOKEN`, it answers 200
        /// with ``BearerIdentity`` JSON, or 401. The host asks it about a token that is not one of its own, so that
        /// tokens a link type issues (OAuth 2.0 access tokens) work on the host's admin API too.
        public var authenticatesBearer: Bool

        /// How the host names this route to the plugin when a request matches it: the method and the path.
        public var id: String { method + " " + path }

        public init(method: String, path: String, auth: Auth = .none, inline: Bool = false, authenticatesBearer: Bool = false) {
            self.method = method
            self.path = path
            self.auth = auth
            self.inline = inline
            self.authenticatesBearer = authenticatesBearer
        }

        enum CodingKeys: String, CodingKey {
            case method, path, auth, inline
            case authenticatesBearer = "authenticates_bearer"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            method = try c.decode(String.self, forKey: .method)
            path = try c.decode(String.self, forKey: .path)
            auth = try c.decodeIfPresent(Auth.self, forKey: .auth) ?? .none
            inline = try c.decodeIfPresent(Bool.self, forKey: .inline) ?? false
            authenticatesBearer = try c.decodeIfPresent(Bool.self, forKey: .authenticatesBearer) ?? false
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(method, forKey: .method)
            try c.encode(path, forKey: .path)
            try c.encode(auth, forKey: .auth)
            if inline { try c.encode(true, forKey: .inline) }
            if authenticatesBearer { try c.encode(true, forKey: .authenticatesBearer) }
        }
    }

    /// What a route that ``Route/authenticatesBearer`` answers for a token it issued.
    public struct BearerIdentity: Codable, Sendable, Hashable {
        /// The user the token acts for.
        public var user: String
        /// Whether the token's scopes allow administration; the host still requires the user to be an admin.
        public var admin: Bool
        public init(user: String, admin: Bool) {
            self.user = user
            self.admin = admin
        }
    }

    public init(
        id: String, name: String, version: String, vendor: String, description: String? = nil,
        directions: [Direction], wizard: Wizard, statusChecks: [StatusCheck] = [], actions: [Action] = [],
        routes: [Route] = [], authentication: Authentication? = nil
    ) {
        self.id = id
        self.name = name
        self.version = version
        self.vendor = vendor
        self.description = description
        self.directions = directions
        self.wizard = wizard
        self.statusChecks = statusChecks
        self.actions = actions
        self.routes = routes
        self.authentication = authentication
    }

    enum CodingKeys: String, CodingKey {
        case id, name, version, vendor, description, directions, wizard, actions, routes, authentication
        case statusChecks = "status_checks"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        version = try c.decode(String.self, forKey: .version)
        vendor = try c.decode(String.self, forKey: .vendor)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        directions = try c.decode([Direction].self, forKey: .directions)
        wizard = try c.decode(Wizard.self, forKey: .wizard)
        statusChecks = try c.decodeIfPresent([StatusCheck].self, forKey: .statusChecks) ?? []
        actions = try c.decodeIfPresent([Action].self, forKey: .actions) ?? []
        routes = try c.decodeIfPresent([Route].self, forKey: .routes) ?? []
        authentication = try c.decodeIfPresent(Authentication.self, forKey: .authentication)
    }

    public static func isValidID(_ s: String) -> Bool {
        s.wholeMatch(of: /[a-z][a-z0-9-]{0,39}/) != nil
    }

    /// Checks the rules that JSON decoding alone cannot. Each problem is listed, so a vendor fixes them in one go.
    ///
    /// A route lies under `/plugins/<id>/`, or under one of `sharedRoutePrefixes`: paths outside that namespace
    /// which the host lets link types claim because remote products expect them there. Which ones is the host's
    /// decision, not the data model's.
    public func validate(expectedID: String? = nil, sharedRoutePrefixes: [String] = []) throws {
        var problems: [String] = []
        if !Self.isValidID(id) { problems.append("id '\(id)' must be 1-40 lower-case letters, digits or '-', starting with a letter") }
        if let expectedID, expectedID != id {
            problems.append("descriptor_json id '\(id)' differs from the descriptor's id '\(expectedID)'")
        }
        if name.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("name is empty") }
        if version.isEmpty { problems.append("version is empty") }
        if directions.isEmpty { problems.append("directions is empty; declare at least one of incoming, outgoing, two_way") }
        if wizard.steps.isEmpty { problems.append("wizard.steps is empty; declare at least one step") }
        func checkUnique(_ ids: [String], _ what: String) {
            var seen = Set<String>()
            for i in ids where !seen.insert(i).inserted { problems.append("\(what) '\(i)' is declared twice") }
            for i in ids where i.wholeMatch(of: /[a-z][a-z0-9_-]*/) == nil {
                problems.append("\(what) '\(i)' must be lower-case letters, digits, '-' or '_'")
            }
        }
        checkUnique(wizard.steps.map(\.id), "wizard step")
        checkUnique(statusChecks.map(\.id), "status check")
        checkUnique(actions.map(\.id), "action")
        for a in actions { checkUnique(a.params.map(\.name), "parameter of action '\(a.id)':") }
        for r in routes {
            if !["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"].contains(r.method) {
                problems.append("route \(r.path): method '\(r.method)' is not an HTTP method in upper case")
            }
            let own = r.path.hasPrefix("/plugins/\(id)/")
            let shared = sharedRoutePrefixes.contains { r.path.hasPrefix($0) }
            if !own && !shared {
                problems.append(
                    sharedRoutePrefixes.isEmpty
                        ? "route \(r.path) must lie under /plugins/\(id)/"
                        : "route \(r.path) must lie under /plugins/\(id)/ or a prefix the host shares (\(sharedRoutePrefixes.joined(separator: ", ")))"
                )
            }
        }
        if !problems.isEmpty {
            throw AppLinksError(.pluginRefused, problems.joined(separator: "; "))
        }
    }
}
