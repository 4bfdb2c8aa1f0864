import AppLinksCore

/// Reads a failed ``HostAPI/http(_:)`` call. The host names the network failure first in its message (one of the
/// status error types, then a colon), and reports a request it would not send (an address the deployment does
/// not allow) as `invalid_input`: a status check turns the first into NETWORK_ERROR and the second into
/// CONFIG_ERROR.
///
/// ```swift
/// do { _ = try await host.http(HostHTTPRequest(url: url)) } catch {
///     if let why = HostHTTPFailure.refusal(error) { return .init(.configError, .invalidConfig, message: why) }
///     return .init(.networkError, HostHTTPFailure.errorType(error), message: "The remote cannot be reached.")
/// }
/// ```
public enum HostHTTPFailure {
    /// The status error type the host named, or UNEXPECTED_RESPONSE.
    public static func errorType(_ error: any Error) -> StatusErrorType {
        let text = "\(error)"
        return StatusErrorType.allCases.first { text.hasPrefix($0.rawValue + ":") || text.contains(" \($0.rawValue):") }
            ?? .unexpectedResponse
    }

    /// Why the host refused to send the request, or nil when it sent it and the network failed.
    public static func refusal(_ error: any Error) -> String? {
        let text = "\(error)"
        return text.range(of: "invalid_input: ").map { String(text[$0.upperBound...]) }
    }
}
