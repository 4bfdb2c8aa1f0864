import AppLinksCore
import AppLinksPluginKit

/// Why this host cannot act at the provider, as a status (category, error type, and a message that names the
/// fix). A status check reports it; an action throws it as a ``PluginError``.
struct OutgoingFailure: Error, Sendable, Equatable {
    var category: StatusCategory
    var type: StatusErrorType
    var message: String

    init(_ category: StatusCategory, _ type: StatusErrorType, _ message: String) {
        self.category = category
        self.type = type
        self.message = message
    }

    var status: StatusResponse { StatusResponse(category, type, message: message) }

    var pluginError: PluginError {
        PluginError(code: category == .networkError ? "unreachable" : "invalid_input", message: message)
    }

    /// The link has no usable authorization: the admin runs `authorize`.
    static func needsAuthorization(_ why: String, link: String) -> OutgoingFailure {
        OutgoingFailure(
            .accessError, .localAuthTokenRequired, "\(why) Run `applinks action \(link) authorize` and approve access at the provider.")
    }

    static func invalidClient(_ detail: String, link: String) -> OutgoingFailure {
        OutgoingFailure(
            .configError, .invalidConfig,
            "The provider refused this link's client id or secret (\(detail)). Correct them with "
                + "`applinks action \(link) set-credentials --arg client_id=… --arg client_secret=…`.")
    }

    /// A failed host HTTP call: the network error the host named, or the host's refusal to send it.
    static func from(_ error: any Error, reaching what: String) -> OutgoingFailure {
        if let why = HostHTTPFailure.refusal(error) { return OutgoingFailure(.configError, .invalidConfig, why) }
        return OutgoingFailure(
            .networkError, HostHTTPFailure.errorType(error),
            "\(what) cannot be reached (\((error as? PluginError)?.message ?? "\(error)")); check that the provider is up and reachable from here."
        )
    }
}
