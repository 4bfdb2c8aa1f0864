import AppLinksCore

/// The absolute URL of a path on this host, such as a link type's callback route: what a remote is sent back to
/// after an authorization, and what an admin registers with a provider as the redirect URI.
public enum CallbackURL {
    public static func make(base: String, path: String) -> String {
        let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
        return trimmed + (path.hasPrefix("/") ? path : "/" + path)
    }
}

extension HostAPI {
    /// `path` on the host's public base URL.
    public func callbackURL(_ path: String) async throws -> String {
        CallbackURL.make(base: try await instanceInfo().baseURL, path: path)
    }
}

extension PluginHTTPRequest {
    /// `path` on the base URL this request reached the host at.
    public func callbackURL(_ path: String) -> String { CallbackURL.make(base: baseURL, path: path) }
}
