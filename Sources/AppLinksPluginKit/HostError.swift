import AppLinksCore

/// A host API call that the host answered with an error, typed: its code, its message, and the function.
///
/// `http_request` reports a request that was sent and failed with a status error type as its code
/// (``networkFailure``), and a request the host would not send (an address the deployment does not allow) as
/// `invalid_input` (``isRefusal``).
///
/// ```swift
/// do { _ = try await host.http(HostHTTPRequest(url: url)) } catch let e as HostError {
///     if e.isRefusal { return .init(.configError, .invalidConfig, message: e.message) }
///     return .init(.networkError, e.networkFailure ?? .unexpectedResponse, message: "The remote cannot be reached: \(e.message)")
/// }
/// ```
public struct HostError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// The host API function that failed, such as `http_request`.
    public var function: String

    public init(code: String, message: String, function: String) {
        self.code = code
        self.message = message
        self.function = function
    }

    /// The network failure of a request the host sent, or nil.
    public var networkFailure: StatusErrorType? { StatusErrorType(rawValue: code) }

    /// Whether the host refused the call's input rather than failing to carry it out.
    public var isRefusal: Bool { code == AppLinksError.Code.invalidInput.description }

    public var description: String { "\(code): \(message)" }
}
