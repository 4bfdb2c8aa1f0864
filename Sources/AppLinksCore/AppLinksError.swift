/// The one error type that crosses module boundaries in AppLinks.
///
/// Every error carries a stable ``Code``, a message written for the admin (it names the problem and the fix)
/// and, optionally, the underlying cause for logs.
///
/// ```swift
/// throw AppLinksError(.notFound, "No link matches 'jira'. Run `applinks list` to see the links.")
/// ```
public struct AppLinksError: Error, Sendable, CustomStringConvertible {
    /// A stable, machine-readable error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case invalidInput = "invalid_input"
            case notFound = "not_found"
            case conflict = "conflict"
            case ambiguous = "ambiguous"
            case homeMissing = "home_missing"
            case config = "config"
            case storage = "storage"
            case crypto = "crypto"
            case pluginRefused = "plugin_refused"
            case pluginFailed = "plugin_failed"
            case pluginDisabled = "plugin_disabled"
            case timeout = "timeout"
            case wizardFields = "wizard_fields"
            case wizardPending = "wizard_pending"
            case interrupted = "interrupted"
            case network = "network"
            case remoteRefused = "remote_refused"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let invalidInput = Code(.invalidInput)
        public static let notFound = Code(.notFound)
        public static let conflict = Code(.conflict)
        public static let ambiguous = Code(.ambiguous)
        public static let homeMissing = Code(.homeMissing)
        public static let config = Code(.config)
        public static let storage = Code(.storage)
        public static let crypto = Code(.crypto)
        public static let pluginRefused = Code(.pluginRefused)
        public static let pluginFailed = Code(.pluginFailed)
        public static let pluginDisabled = Code(.pluginDisabled)
        public static let timeout = Code(.timeout)
        public static let wizardFields = Code(.wizardFields)
        public static let wizardPending = Code(.wizardPending)
        public static let interrupted = Code(.interrupted)
        public static let network = Code(.network)
        /// The remote application answered and refused: an authorization it no longer accepts, client
        /// credentials it does not know, a request it denies. Not bad input here, and not a failure to reach it.
        public static let remoteRefused = Code(.remoteRefused)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }
}
