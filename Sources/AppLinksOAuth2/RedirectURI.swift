import Foundation

/// Redirect URIs, registered and compared the strict way (RFC 6749 §3.1.2, OAuth 2.0 Security BCP §4.1):
/// a requested URI must equal a registered one character for character. The only leeway is the port of a
/// loopback IP literal, which a native app picks at run time (RFC 8252 §7.3).
public enum RedirectURI {
    /// Why `uri` cannot be registered, or nil when it can: absolute, no fragment or user info, https except http on
    /// a loopback address.
    public static func registrationProblem(_ uri: String) -> String? {
        guard !uri.isEmpty, uri.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }),
            let c = URLComponents(string: uri), let scheme = c.scheme?.lowercased(), let host = c.host, !host.isEmpty
        else { return "'\(uri)' is not an absolute URL" }
        if c.fragment != nil { return "'\(uri)' has a fragment (#…), which a redirect URI may not have" }
        if c.user != nil || c.password != nil { return "'\(uri)' carries user info (user@host), which a redirect URI may not have" }
        if uri.contains("/../") || uri.hasSuffix("/..") || uri.contains("/./") { return "'\(uri)' has dot segments; give the plain path" }
        switch scheme {
        case "https": return nil
        case "http" where isLoopback(host): return nil
        case "http": return "'\(uri)' uses http; only https is allowed, except on a loopback address (127.0.0.1 or [::1])"
        default: return "'\(uri)' is not an https URL"
        }
    }

    /// Whether a requested redirect URI matches a registered one.
    public static func matches(registered: String, requested: String) -> Bool {
        if registered == requested { return true }
        guard let r = loopbackParts(registered), let q = loopbackParts(requested) else { return false }
        return r.prefix == q.prefix && r.rest == q.rest
    }

    /// `http://127.0.0.1` or `http://[::1]`, then a port or none, then the rest: parsed by hand so that nothing
    /// is normalised on the way.
    private static func loopbackParts(_ uri: String) -> (prefix: String, rest: Substring)? {
        for prefix in ["http://127.0.0.1", "http://[::1]"] where uri.hasPrefix(prefix) {
            var rest = uri.dropFirst(prefix.count)
            if rest.first == ":" {
                let digits = rest.dropFirst().prefix { $0.isASCII && $0.isNumber }
                guard !digits.isEmpty, digits.count <= 5 else { return nil }
                rest = rest.dropFirst(1 + digits.count)
            }
            guard rest.isEmpty || rest.first == "/" || rest.first == "?" else { return nil }
            return (prefix, rest)
        }
        return nil
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "127.0.0.1" || host == "[::1]" || host == "::1"
    }
}
