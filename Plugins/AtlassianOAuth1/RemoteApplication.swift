import AppLinksCore
import AppLinksCrypto
import AppLinksOAuth1
import AppLinksPluginKit
import AppLinksPluginOAuth1
import Foundation

/// What answered at a URL the admin gave.
enum Detection: Sendable {
    /// An application-links host or an Atlassian product; `base` is where it was found (after a redirect).
    case found(RemoteManifest, base: String, redirectedFrom: String?)
    /// Something answered, but no manifest: a Generic application.
    case noManifest(String)
    /// Nothing answered; `errorType` is the status vocabulary's name for why.
    case unreachable(errorType: StatusErrorType, message: String)
    /// The host would not send the request: the address is loopback or private, and the deployment refuses those.
    case refused(String)
}

enum RemoteApplication {
    static let manifestPath = "/rest/applinks/1.0/manifest"

    /// A base URL without a trailing slash, or nil for anything but an absolute http(s) URL with a host.
    static func normalized(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let url = URL(string: trimmed), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil
        else { return nil }
        return trimmed.hasSuffix("/") ? String(trimmed.dropLast()) : trimmed
    }

    /// Reads the manifest, following one redirect by hand so that the admin is told about it.
    static func detect(_ base: String, host: HostAPI) async -> Detection {
        var base = base
        var redirectedFrom: String?
        for _ in 0..<2 {
            let response: HostHTTPResponse
            do {
                response = try await host.http(
                    HostHTTPRequest(
                        url: base + manifestPath, headers: [["Accept", "application/json, application/xml;q=0.9"]], timeoutMs: 10_000))
            } catch {
                if let why = HostHTTPFailure.refusal(error) { return .refused(why) }
                return .unreachable(errorType: HostHTTPFailure.errorType(error), message: "\(error)")
            }
            if (300..<400).contains(response.status), let location = response.header("Location") {
                let target = location.hasSuffix(manifestPath) ? String(location.dropLast(manifestPath.count)) : location
                guard redirectedFrom == nil, let next = normalized(target.hasPrefix("/") ? origin(base) + target : target) else { break }
                redirectedFrom = base
                base = next
                continue
            }
            guard response.status == 200, let manifest = RemoteManifest(response.body) else {
                return .noManifest("\(base) answered \(response.status) without an application-links manifest")
            }
            return .found(manifest, base: base, redirectedFrom: redirectedFrom)
        }
        return .noManifest("\(base) redirects more than once")
    }

    /// `scheme://host:port` of a base URL.
    static func origin(_ base: String) -> String {
        guard let url = URL(string: base), let scheme = url.scheme, let host = url.host else { return base }
        return "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
    }

    static func consumerInfo(_ base: String, host: HostAPI) async throws -> ConsumerInfo {
        let response = try await host.http(HostHTTPRequest(url: base + "/plugins/servlet/oauth/consumer-info", timeoutMs: 10_000))
        guard response.status == 200, let info = ConsumerInfo(xml: response.body) else {
            throw PluginError(
                code: "no_consumer_info",
                message:
                    "\(base) did not give its OAuth consumer info (HTTP \(response.status)); check that it is an application-links host.")
        }
        if let bits = try? RSAKey(publicKeyPEM: info.publicKeyPEM).bits, bits < OAuth1Provider.minimumRSABits {
            throw PluginError(
                code: "weak_consumer_key",
                message:
                    "\(base) signs with a \(bits)-bit RSA key; this host accepts only keys of at least \(OAuth1Provider.minimumRSABits) bits. Give it a stronger key first."
            )
        }
        return info
    }
}
