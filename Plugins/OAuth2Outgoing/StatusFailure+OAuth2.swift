import AppLinksCore
import AppLinksPluginKit

/// The provider-side failures of an OAuth 2.0 client link, with the fixes they need.
extension StatusFailure {
    /// The link has no usable authorization: the admin runs `authorize`.
    static func needsAuthorization(_ why: String, link: String) -> StatusFailure {
        StatusFailure(
            .accessError, .localAuthTokenRequired, "\(why) Run `applinks action \(link) authorize` and approve access at the provider.")
    }

    static func invalidClient(_ detail: String, link: String) -> StatusFailure {
        StatusFailure(
            .configError, .invalidConfig,
            "The provider refused this link's client id or secret (\(detail)). Correct them with "
                + "`applinks action \(link) set-credentials --arg client_id=… --arg-stdin client_secret`.", refusedByRemote: true)
    }

    /// A failed host HTTP call to the provider.
    static func from(_ error: any Error, reaching what: String) -> StatusFailure {
        .fromHostHTTP(error, reaching: what, fix: "check that the provider is up and reachable from here.")
    }
}
