import AppLinksCore
import AppLinksJSON
import AppLinksOAuth1
import AppLinksPluginKit
import AppLinksPluginOAuth1
import Foundation

/// The three legs with Jenkins: a request token, a Jenkins user's approval on the plugin's page, and the
/// callback to ``callbackPath`` that exchanges it for an access token. Started by the wizard (the token then
/// waits for the link to be created) or by the `authorize` action (it goes into the link at once).
struct JenkinsAuthorization: Sendable {
    static let callbackPath = "/plugins/jenkins/oauth-callback"
    static let lifetime: Duration = .seconds(900)

    let host: HostAPI
    private var inProgress: PendingAuthorizations<Pending> {
        PendingAuthorizations(host: host, prefix: "pending/", lifetime: Self.lifetime)
    }

    fileprivate struct Pending: Codable, Sendable {
        var draft: String?
        var link: String?
        var base: String
        var consumerKey: String
        var sealed: String
        var accessTokenPath: String
    }

    /// Gets a request token and returns the URL where a Jenkins user approves it.
    func start(
        base: String, consumerKey: String, sharedSecret: String, paths: JenkinsPaths, draft: String?, link: String?
    )
        async throws(StatusFailure) -> String
    {
        let client = oauth(consumerKey: consumerKey, sharedSecret: sharedSecret)
        let temporary: OAuth1Client.Token
        do {
            let callback = try await host.callbackURL(Self.callbackPath)
            temporary = try await client.requestToken(url: base + paths.requestToken, callback: callback)
        } catch let problem as OAuth1Problem {
            throw StatusFailure(
                .configError, .invalidConfig,
                "Jenkins refused a request token (\(problem.code.rawValue)): check the consumer key and shared secret under "
                    + "Manage Bitbucket Server consumers, and the request-token path \(paths.requestToken).")
        } catch {
            throw .from(error, reaching: base)
        }
        do {
            // The request token's secret and the consumer's are sealed: the callback needs them to sign leg 3.
            let secrets = try JSONCoding.encode(["token_secret": temporary.secret, "shared_secret": sharedSecret])
            let pending = Pending(
                draft: draft, link: link, base: base, consumerKey: consumerKey,
                sealed: try await host.seal(secrets).base64EncodedString(), accessTokenPath: paths.accessToken)
            try await inProgress.keep(pending, under: temporary.token)
        } catch {
            throw StatusFailure(.unknown, .unknown, "Could not keep the pending authorization: \(error)")
        }
        return client.authorizeURL(base + paths.authorize, token: temporary)
    }

    /// Why a wizard's authorization was refused, once the callback has said so.
    func denial(draft: String) async throws -> String? {
        try await host.kvGet("denied/" + draft).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The token a wizard's authorization produced, once the callback has arrived.
    func granted(draft: String) async throws -> OAuth1Client.Token? {
        guard let raw = try await host.kvGet("granted/" + draft) else { return nil }
        let fields = try JSONCoding.decode([String: String].self, from: try await host.open(raw))
        guard let token = fields["token"], let secret = fields["secret"] else { return nil }
        return OAuth1Client.Token(
            token: token, secret: secret, sessionHandle: fields["session_handle"], expiresIn: fields["expires_in"].flatMap { Int($0) })
    }

    func callback(_ r: PluginHTTPRequest) async throws -> PluginHTTPResponse {
        let query = Dictionary(OAuth1Encoding.pairs(r.query), uniquingKeysWith: { a, _ in a })
        guard let pending = try await inProgress.take(query["oauth_token"] ?? "") else {
            return .page(400, "Unknown authorization", "This authorization is unknown, used or expired; start it again.")
        }
        // A refusal, in any of its forms, ends as "denied", and a waiting wizard learns it at its next poll.
        func denied(_ why: String, status: Int = 403) async throws -> PluginHTTPResponse {
            var page = PluginHTTPResponse.page(
                status, "Access denied", "\(why) Nothing was stored; start the authorization again to ask again.")
            if let draft = pending.draft {
                try await host.kvPut("denied/" + draft, Data(why.utf8), ttl: .seconds(86_400))
                page = page.resuming(draft: draft)
            }
            guard let link = pending.link else { return page }
            try await host.audit(action: "jenkins-authorization-denied", linkID: link, detail: ["why": .string(why)])
            return page.checking(link)
        }
        if let problem = query["oauth_problem"] {
            return try await denied("The Jenkins user did not approve the link (\(problem)).")
        }
        guard let verifier = query["oauth_verifier"], !verifier.isEmpty, verifier != "denied" else {
            return try await denied("The Jenkins user denied the link.")
        }
        let secrets = try JSONCoding.decode(
            [String: String].self, from: try await host.open(Data(base64Encoded: pending.sealed) ?? Data()))
        let client = oauth(consumerKey: pending.consumerKey, sharedSecret: secrets["shared_secret"] ?? "")
        let token: OAuth1Client.Token
        do {
            token = try await client.accessToken(
                url: pending.base + pending.accessTokenPath,
                requestToken: OAuth1Client.Token(token: query["oauth_token"] ?? "", secret: secrets["token_secret"] ?? ""),
                verifier: verifier)
        } catch {
            return try await denied("Jenkins refused to exchange the approval for an access token (\(error)).", status: 502)
        }
        if let draft = pending.draft {
            var fields = ["token": token.token, "secret": token.secret]
            fields["session_handle"] = token.sessionHandle
            fields["expires_in"] = token.expiresIn.map(String.init)
            try await host.kvPut("granted/" + draft, try await host.seal(try JSONCoding.encode(fields)), ttl: .seconds(86_400))
            return PluginHTTPResponse.page(200, "Authorized", "Jenkins authorized the link; go back to the wizard to finish it.")
                .resuming(draft: draft)
        }
        let page = PluginHTTPResponse.page(200, "Authorized", "Jenkins authorized the link; it can now see and start builds.")
        guard let link = pending.link else { return page }
        try await JenkinsLinkType.store(token, in: link, host: host)
        try await host.audit(action: "jenkins-authorized", linkID: link)
        return page.checking(link)
    }

    func oauth(consumerKey: String, sharedSecret: String) -> OAuth1Client {
        OAuth1Client(
            consumerKey: consumerKey, method: .hmacSHA1, credential: .secrets(consumer: sharedSecret, token: nil),
            transport: OAuth1Client.overHost(host))
    }
}
