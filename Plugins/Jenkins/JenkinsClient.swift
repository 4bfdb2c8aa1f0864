import AppLinksCore
import AppLinksJSON
import AppLinksOAuth1
import AppLinksPluginKit
import Foundation

/// The failures of a Jenkins link, with the fixes they need.
extension StatusFailure {
    static func needsAuthorization(_ why: String, link: String) -> StatusFailure {
        StatusFailure(
            .accessError, .localAuthTokenRequired, "\(why) Run `applinks action \(link) authorize` and approve it as a Jenkins user.")
    }

    static func from(_ error: any Error, reaching url: String) -> StatusFailure {
        .fromHostHTTP(error, reaching: "Jenkins at \(url)", fix: "check that it is running and reachable from here.")
    }

    /// A 401 from the Bitbucket Server integration plugin names its `oauth_problem` (in `WWW-Authenticate` or
    /// the body); each has its own status and fix.
    static func oauthProblem(_ problem: String?, link: String) -> StatusFailure {
        switch problem {
        case "timestamp_refused"?:
            return StatusFailure(
                .networkError, .oauthTimestampRefused,
                "Jenkins refused the request's timestamp: this machine's clock and Jenkins' differ; set both by NTP.")
        case "signature_invalid"?:
            return StatusFailure(
                .networkError, .oauthSignatureInvalid,
                "Jenkins says the OAuth signature is invalid: the shared secret differs from the consumer's in Jenkins "
                    + "(Manage Bitbucket Server consumers). Correct it with `applinks action \(link) set-credentials --arg shared_secret=…`."
            )
        case "consumer_key_unknown"?, "consumer_key_rejected"?:
            return StatusFailure(
                .configError, .invalidConfig,
                "Jenkins does not know the consumer key: create the consumer under Manage Bitbucket Server consumers, or correct it "
                    + "with `applinks action \(link) set-credentials --arg consumer_key=…`.")
        case "token_rejected"?, "token_revoked"?, "permission_denied"?, "token_expired"?:
            return .needsAuthorization("Jenkins no longer accepts this link's access token (\(problem ?? "")).", link: link)
        default:
            return StatusFailure(.networkError, .oauthProblem, "Jenkins refused the signed request (oauth_problem \(problem ?? "none")).")
        }
    }
}

/// The link's OAuth 1.0a credentials: the consumer Jenkins' admin created, and the access token a Jenkins user
/// granted, with the session handle that renews it (Atlassian's session extension).
struct JenkinsCredentials: Sendable {
    var consumerKey: String
    var sharedSecret: String
    var token: OAuth1Client.Token?
    var expiresAt: Double?

    init(link: Link, secrets: [String: String]) {
        consumerKey = link.config["consumer_key"]?.stringValue ?? ""
        sharedSecret = secrets["shared_secret"] ?? ""
        if let t = secrets["access_token"], let s = secrets["token_secret"] {
            token = OAuth1Client.Token(token: t, secret: s, sessionHandle: secrets["session_handle"])
        }
        expiresAt = link.config["token_expires_at"]?.doubleValue
    }
}

/// Signed calls to one Jenkins through the host's HTTP, renewing the access token before it expires or when
/// Jenkins says it has, and keeping the renewed token in the link's secrets.
struct JenkinsClient: Sendable {
    static let renewMargin: Double = 60

    let host: HostAPI
    let link: Link
    let paths: JenkinsPaths
    /// The renewals in flight, one per link: callers that find one running wait for its token.
    let renewals: SingleFlight<OAuth1Client.Token>
    var credentials: JenkinsCredentials
    /// Seconds the deployment's clock is ahead of this machine's (testing.clock_offset_seconds), read once.
    private(set) var clockOffset: TimeInterval? = nil

    var base: String { link.rpcURL.hasSuffix("/") ? String(link.rpcURL.dropLast()) : link.rpcURL }

    func oauth() -> OAuth1Client {
        var client = JenkinsAuthorization(host: host).oauth(consumerKey: credentials.consumerKey, sharedSecret: credentials.sharedSecret)
        client.clockOffset = clockOffset ?? 0
        return client
    }

    /// The `Cookie` header that carries on the web session a response opened: each `Set-Cookie`'s name and value.
    static func cookieHeader(_ response: HostHTTPResponse) -> String? {
        let pairs = response.headers.filter { $0.count == 2 && $0[0].lowercased() == "set-cookie" }.compactMap { header in
            header[1].split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) }
        }.filter { $0.contains("=") }
        return pairs.isEmpty ? nil : pairs.joined(separator: "; ")
    }

    /// An unsigned GET, to see whether Jenkins answers there at all: its version, or why not.
    func probe() async -> Result<String, StatusFailure> {
        let response: HostHTTPResponse
        do {
            response = try await host.http(HostHTTPRequest(url: base + "/", timeoutMs: 10_000))
        } catch {
            return .failure(.from(error, reaching: base))
        }
        guard let version = response.header("X-Jenkins") else {
            return .failure(
                StatusFailure(
                    .configError, .invalidConfig,
                    "\(base) answered HTTP \(response.status) without an X-Jenkins header: it is not Jenkins. Check the link's URL."))
        }
        return .success(version)
    }

    /// A signed request. A token about to expire is renewed first; one Jenkins calls expired is renewed once.
    mutating func send(
        _ method: String, _ path: String, form: [(String, String)] = [], headers: [(String, String)] = []
    ) async throws(StatusFailure) -> HostHTTPResponse {
        guard credentials.token != nil else {
            throw .needsAuthorization("No Jenkins user has authorized this link yet.", link: link.id)
        }
        if clockOffset == nil { clockOffset = (try? await host.instanceInfo().now?.timeIntervalSinceNow) ?? 0 }
        if let expires = credentials.expiresAt, expires - Self.renewMargin < Date().timeIntervalSince1970 {
            try await renew()
        }
        var response = try await signed(method, path, form: form, headers: headers)
        if response.status == 401, Self.problem(response) == "token_expired" {
            try await renew()
            response = try await signed(method, path, form: form, headers: headers)
        }
        if response.status == 401 { throw .oauthProblem(Self.problem(response), link: link.id) }
        guard response.header("X-Jenkins") != nil else {
            throw StatusFailure(
                .configError, .invalidConfig, "\(base) answered without an X-Jenkins header: it is not Jenkins. Check the link's URL.")
        }
        return response
    }

    private func signed(
        _ method: String, _ path: String, form: [(String, String)], headers: [(String, String)]
    ) async throws(StatusFailure)
        -> HostHTTPResponse
    {
        let url = base + path
        let body = form.map { OAuth1Encoding.encode($0.0) + "=" + OAuth1Encoding.encode($0.1) }.joined(separator: "&")
        var request = OAuth1Request(
            method: method, url: url,
            headers: headers + (form.isEmpty && method == "GET" ? [] : [("Content-Type", "application/x-www-form-urlencoded")]),
            body: Data(body.utf8))
        do {
            request = try oauth().sign(request, token: credentials.token)
            return try await host.http(HostHTTPRequest(request, timeoutMs: 15_000))
        } catch {
            throw .from(error, reaching: base)
        }
    }

    /// Renews the access token with its session handle, once for concurrent callers of this process, and stores
    /// the new one in the link's secrets.
    private mutating func renew() async throws(StatusFailure) {
        guard let token = credentials.token else { throw .needsAuthorization("No access token to renew.", link: link.id) }
        let client = self
        let renewed: OAuth1Client.Token
        do {
            renewed = try await renewals.run(link.id) { try await client.renewNow(token) }
        } catch let failure as StatusFailure {
            throw failure
        } catch {
            throw .from(error, reaching: base)
        }
        credentials.token = renewed
        credentials.expiresAt = renewed.expiresIn.map { Date().timeIntervalSince1970 + Double($0) }
    }

    private func renewNow(_ token: OAuth1Client.Token) async throws -> OAuth1Client.Token {
        let renewed: OAuth1Client.Token
        do {
            renewed = try await oauth().renew(url: base + paths.accessToken, accessToken: token)
        } catch let problem as OAuth1Problem {
            throw StatusFailure.needsAuthorization(
                "Jenkins would not renew the access token (\(problem.code.rawValue)): the authorization has ended.", link: link.id)
        }
        var kept = renewed
        if kept.sessionHandle == nil { kept.sessionHandle = token.sessionHandle }
        try await JenkinsLinkType.store(kept, in: link.id, host: host)
        try await host.audit(action: "jenkins-token-renewed", linkID: link.id)
        return kept
    }

    static func problem(_ response: HostHTTPResponse) -> String? {
        if let header = response.header("WWW-Authenticate"), let range = header.range(of: #"oauth_problem=""#) {
            return String(header[range.upperBound...].prefix { $0 != "\"" })
        }
        return OAuth1Encoding.pairs(String(decoding: response.body, as: UTF8.self)).first { $0.0 == "oauth_problem" }?.1
    }

    /// `/job/A/job/B`: each folder and job name percent-encoded, so spaces and non-ASCII names reach Jenkins intact.
    static func jobPath(_ job: String) -> String {
        var unreserved = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        unreserved.insert(charactersIn: "-._~")
        return job.split(separator: "/").map {
            "/job/" + (String($0).addingPercentEncoding(withAllowedCharacters: unreserved) ?? String($0))
        }
        .joined()
    }
}

/// The plugin's OAuth endpoints on Jenkins, editable for a Jenkins behind a prefix.
struct JenkinsPaths: Sendable {
    static let defaults = JenkinsPaths(
        requestToken: "/bitbucket/oauth/request-token", accessToken: "/bitbucket/oauth/access-token", authorize: "/bbs-oauth/authorize")

    var requestToken: String
    var accessToken: String
    var authorize: String

    init(requestToken: String, accessToken: String, authorize: String) {
        self.requestToken = requestToken
        self.accessToken = accessToken
        self.authorize = authorize
    }

    init(config: [String: JSONValue]) {
        requestToken = config["request_token_path"]?.stringValue ?? Self.defaults.requestToken
        accessToken = config["access_token_path"]?.stringValue ?? Self.defaults.accessToken
        authorize = config["authorize_path"]?.stringValue ?? Self.defaults.authorize
    }
}
