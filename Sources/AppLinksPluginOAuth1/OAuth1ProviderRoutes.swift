import AppLinksCore
import AppLinksJSON
import AppLinksOAuth1
import AppLinksPluginKit
import Foundation

/// The three legs of OAuth 1.0 on Atlassian's paths, for a link type's `handle_http`:
/// `POST /plugins/servlet/oauth/request-token`, `GET|POST /plugins/servlet/oauth/authorize` (a consent page
/// with Allow and Deny, rendered in the host's frame) and `POST /plugins/servlet/oauth/access-token`.
///
/// Requests are verified against the deployment's public base URL, so a proxy in front changes nothing.
public struct OAuth1ProviderRoutes: Sendable {
    public let provider: OAuth1Provider
    public let baseURL: String

    /// `admission` decides at each signed request what its consumer may do, from the consumer's link as it is
    /// now: a link type must not answer for a disabled link, or on a level its admin did not allow.
    public init(
        host: HostAPI, baseURL: String, verifier: OAuth1Verifier = OAuth1Verifier(),
        admission: @escaping @Sendable (OAuth1ConsumerRecord) async throws -> OAuth1Admission
    ) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.provider = OAuth1Provider(store: KVProviderStore(host: host), realm: self.baseURL, verifier: verifier, admission: admission)
    }

    /// The request as its client addressed it: the public base URL, the path and the query.
    public func oauthRequest(_ r: PluginHTTPRequest) -> OAuth1Request {
        OAuth1Request(
            method: r.method, url: baseURL + r.path + (r.query.isEmpty ? "" : "?" + r.query),
            headers: r.headers.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }, body: r.body)
    }

    public static let paths: Set<String> = [
        "/plugins/servlet/oauth/request-token", "/plugins/servlet/oauth/authorize", "/plugins/servlet/oauth/access-token",
    ]

    /// Answers one of ``paths``; nil for any other request.
    public func handle(_ r: PluginHTTPRequest) async throws -> PluginHTTPResponse? {
        let request = oauthRequest(r)
        do {
            switch (r.method, r.path) {
            case ("POST", "/plugins/servlet/oauth/request-token"): return Self.reply(await provider.requestToken(request))
            case ("POST", "/plugins/servlet/oauth/access-token"): return Self.reply(await provider.accessToken(request))
            case ("GET", "/plugins/servlet/oauth/authorize"):
                let token = OAuth1Encoding.pairs(r.query).first { $0.0 == "oauth_token" }?.1 ?? ""
                let (_, consumer) = try await provider.pendingAuthorization(token: token)
                // Described, not written as HTML: the host renders it, escapes it, and adds the CSRF token.
                let page: JSONValue = [
                    "title": .string("Allow \(consumer.name) to access your account?"),
                    "paragraphs": .array([
                        .string("\(consumer.name) will be able to act as \(r.user?.name ?? "you") here, until you revoke it.")
                    ]),
                    "form": [
                        "action": "/plugins/servlet/oauth/authorize", "hidden": ["oauth_token": .string(token)],
                        "buttons": [
                            ["name": "decision", "value": "allow", "label": "Allow"],
                            ["name": "decision", "value": "deny", "label": "Deny"],
                        ],
                    ],
                ]
                return .page(page)
            case ("POST", "/plugins/servlet/oauth/authorize"):
                let form = Dictionary(OAuth1Encoding.pairs(String(decoding: r.body, as: UTF8.self)), uniquingKeysWith: { a, _ in a })
                let (redirect, verifier) = try await provider.decide(
                    token: form["oauth_token"] ?? "", user: r.user?.name ?? "", allow: form["decision"] == "allow")
                if let redirect { return PluginHTTPResponse(status: 303, headers: [["Location", redirect]]) }
                let text = verifier.map { "Access allowed. Give this code to the application: \($0)" } ?? "Access denied."
                return PluginHTTPResponse(status: 200, headers: [["Content-Type", "text/plain; charset=utf-8"]], body: Data(text.utf8))
            default:
                return nil
            }
        } catch let p as OAuth1Problem {
            return Self.reply(provider.problem(p))
        }
    }

    /// Who signed `r` (3LO, 2LO or 2LO with impersonation); a refused request comes back as the problem's answer.
    public func authenticate(_ r: PluginHTTPRequest) async -> Result<OAuth1Provider.Caller, PluginHTTPResponseError> {
        do {
            return .success(try await provider.authenticate(oauthRequest(r)))
        } catch let p as OAuth1Problem {
            return .failure(PluginHTTPResponseError(response: Self.reply(provider.problem(p))))
        } catch {
            return .failure(PluginHTTPResponseError(response: PluginHTTPResponse(status: 500, body: Data("\(error)".utf8))))
        }
    }

    public static func reply(_ o: OAuth1Response) -> PluginHTTPResponse {
        PluginHTTPResponse(status: o.status, headers: o.headers, body: Data(o.body.utf8))
    }
}

/// An HTTP answer carried as an error, for a refusal that should go back to the client as it is.
public struct PluginHTTPResponseError: Error, Sendable {
    public var response: PluginHTTPResponse
}

extension OAuth1ProviderRoutes {
    /// The provider's four routes, declared for a ``DeclaredLinkType``: the request-token and access-token legs,
    /// open to any client (the signature is the check), and the consent page, for a signed-in user. `routes` makes
    /// the provider for a request, with the link type's admission.
    public static func declared<Plugin: Sendable>(
        _ routes: @escaping @Sendable (Plugin, PluginHTTPRequest) -> OAuth1ProviderRoutes
    ) -> [DeclaredRoute<Plugin>] {
        [
            LinkTypeDescriptor.Route(method: "POST", path: "/plugins/servlet/oauth/request-token", auth: .none),
            LinkTypeDescriptor.Route(method: "GET", path: "/plugins/servlet/oauth/authorize", auth: .user),
            LinkTypeDescriptor.Route(method: "POST", path: "/plugins/servlet/oauth/authorize", auth: .user),
            LinkTypeDescriptor.Route(method: "POST", path: "/plugins/servlet/oauth/access-token", auth: .none),
        ].map { spec in
            DeclaredRoute(spec) { plugin, r in try await routes(plugin, r).handle(r) ?? PluginHTTPResponse(status: 404) }
        }
    }
}
