import AppLinksCore

/// Why a link cannot work, as a status: a category, an error type, and a message that names the fix. A status
/// check returns ``status``; an action throws ``pluginError``; a link type adds constructors for its own cases.
///
/// ```swift
/// let failure = StatusFailure(.accessError, .localAuthTokenRequired, "Run `applinks action LINK authorize`.")
/// return failure.status          // from checkStatus
/// throw failure.pluginError      // from invokeAction
/// ```
public struct StatusFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var category: StatusCategory
    public var type: StatusErrorType
    public var message: String
    /// Whether the remote answered and refused (a revoked authorization, unknown client credentials), as
    /// opposed to a problem on this side. Access errors are, by their nature.
    public var refusedByRemote: Bool

    public init(_ category: StatusCategory, _ type: StatusErrorType, _ message: String, refusedByRemote: Bool? = nil) {
        self.category = category
        self.type = type
        self.message = message
        self.refusedByRemote = refusedByRemote ?? (category == .accessError || type == .oauthProblem)
    }

    public var status: StatusResponse { StatusResponse(category, type, message: message) }

    /// As an action's error: `unreachable` (the host exits 7), `remote_refused` (exit 9), or `invalid_input` (exit 2)
    /// for a problem of this side's configuration or arguments.
    public var pluginError: PluginError {
        let code = category == .networkError && !refusedByRemote ? "unreachable" : refusedByRemote ? "remote_refused" : "invalid_input"
        return PluginError(code: code, message: message)
    }

    public var description: String { message }

    /// A failed ``HostAPI/http(_:)`` call to `what`: the network error the host named (NETWORK_ERROR), or the
    /// host's refusal to send it (CONFIG_ERROR). `fix` ends the message of the first.
    public static func fromHostHTTP(_ error: any Error, reaching what: String, fix: String) -> StatusFailure {
        if let why = HostHTTPFailure.refusal(error) { return StatusFailure(.configError, .invalidConfig, why) }
        return StatusFailure(
            .networkError, HostHTTPFailure.errorType(error),
            "\(what) cannot be reached (\((error as? PluginError)?.message ?? "\(error)")); \(fix)")
    }
}
