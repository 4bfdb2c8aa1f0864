import AppLinksCore
import AppLinksJSON
import AppLinksOAuth1
import AppLinksPluginKit
import Foundation

/// This side as the OAuth 1.0 consumer of a linked remote: a user authorizes it on the remote's consent page
/// (3LO), and it then signs requests to the remote as that user.
///
/// `GET /plugins/atlassian-oauth1/authorize?link=ID` starts the dance for the logged-in user and sends the
/// browser to the remote; the remote sends it back to `GET /plugins/atlassian-oauth1/oauth-callback`, where the
/// request token is exchanged and the access token kept in the host's store for that link and user.
struct Authorization: Sendable {
    let host: HostAPI

    static let startPath = "/plugins/atlassian-oauth1/authorize"
    static let callbackPath = "/plugins/atlassian-oauth1/oauth-callback"

    private var inProgress: PendingAuthorizations<Pending> {
        PendingAuthorizations(host: host, prefix: "consumer/pending/", lifetime: .seconds(900))
    }

    fileprivate struct Pending: Codable, Sendable {
        var link: String
        var user: String
        var secret: String
    }

    private struct Granted: Codable {
        var token: String
        var secret: String
        var sessionHandle: String?
    }

    /// A consumer that signs with the instance key, through the host, and sends through the host's HTTP.
    func client() async throws -> OAuth1Client {
        let me = try await host.instanceInfo()
        let host = self.host
        var client = OAuth1Client(
            consumerKey: me.id, method: .rsaSHA1, credential: .secrets(consumer: "", token: nil),
            transport: OAuth1Client.overHost(host))
        client.externalSigner = { try host.rsaSignHere(.sha1, privateKeyPEM: nil, $0) }
        client.clockOffset = me.now?.timeIntervalSinceNow ?? 0
        return client
    }

    func start(_ r: PluginHTTPRequest) async throws -> PluginHTTPResponse {
        guard let user = r.user?.name else { return text(401, "Log in first.") }
        let id = OAuth1Encoding.pairs(r.query).first { $0.0 == "link" }?.1 ?? ""
        guard let link = try await host.link(id: id), link.type == "atlassian-oauth1" else {
            return text(404, "No application link '\(id)' of this type here.")
        }
        guard link.outgoingAuth.contains(AtlassianOAuth1LinkType.oauth) else {
            return text(409, "The link to \(link.name) makes no OAuth requests; edit its authentication first.")
        }
        let client = try await client()
        let token: OAuth1Client.Token
        do {
            token = try await client.requestToken(
                url: link.rpcURL + "/plugins/servlet/oauth/request-token", callback: r.callbackURL(Self.callbackPath))
        } catch {
            return text(502, "\(link.name) refused a request token: \(error)")
        }
        try await inProgress.keep(Pending(link: link.id, user: user, secret: token.secret), under: token.token)
        return PluginHTTPResponse(
            status: 303, headers: [["Location", client.authorizeURL(link.rpcURL + "/plugins/servlet/oauth/authorize", token: token)]])
    }

    func callback(_ r: PluginHTTPRequest) async throws -> PluginHTTPResponse {
        let query = Dictionary(OAuth1Encoding.pairs(r.query), uniquingKeysWith: { a, _ in a })
        let key = query["oauth_token"] ?? ""
        let unknown = text(400, "This authorization is unknown, used or expired; start it again from the link.")
        guard let started = try await inProgress.peek(key) else { return unknown }
        guard started.user == r.user?.name else { return text(403, "This authorization was started by another user.") }
        // Single use: of two callbacks with the same token, one goes on to the exchange.
        guard let pending = try await inProgress.take(key) else { return unknown }
        guard let link = try await host.link(id: pending.link) else { return text(404, "The link no longer exists.") }
        if query["oauth_problem"] != nil || query["oauth_verifier"] == nil {
            return text(200, "You denied \(link.name) access; nothing was stored.")
        }
        let granted: OAuth1Client.Token
        do {
            granted = try await client().accessToken(
                url: link.rpcURL + "/plugins/servlet/oauth/access-token",
                requestToken: OAuth1Client.Token(token: query["oauth_token"] ?? "", secret: pending.secret),
                verifier: query["oauth_verifier"] ?? "")
        } catch {
            return text(502, "\(link.name) refused the access token: \(error)")
        }
        try await host.kvPut(
            Self.grantKey(link: link.id, user: pending.user),
            try JSONCoding.encode(Granted(token: granted.token, secret: granted.secret, sessionHandle: granted.sessionHandle)))
        return text(200, "Authorized: this instance may now act as you on \(link.name).")
    }

    static func grantKey(link: String, user: String) -> String { "consumer/granted/\(link)/\(user)" }

    /// GETs `path` on the remote, signed as `user` with the token they granted.
    func signedGet(_ link: Link, user: String, path: String) async throws -> HostHTTPResponse {
        guard let raw = try await host.kvGet(Self.grantKey(link: link.id, user: user)),
            let granted = try? JSONCoding.decode(Granted.self, from: raw)
        else {
            throw PluginError(
                code: "invalid_input",
                message: "\(user) has not authorized this instance on \(link.name); they authorize it at \(Self.startPath)?link=\(link.id)."
            )
        }
        let signed = try await client().sign(
            OAuth1Request(method: "GET", url: link.rpcURL + path), token: OAuth1Client.Token(token: granted.token, secret: granted.secret))
        return try await host.http(HostHTTPRequest(signed))
    }

    private func text(_ status: Int, _ message: String) -> PluginHTTPResponse {
        PluginHTTPResponse(status: status, headers: [["Content-Type", "text/plain; charset=utf-8"]], body: Data((message + "\n").utf8))
    }
}
