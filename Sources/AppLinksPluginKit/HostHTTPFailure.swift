import AppLinksCore

/// Reads a failed ``HostAPI/http(_:)`` call through its ``HostError``: a status check turns a network failure into
/// NETWORK_ERROR and a request the host would not send into CONFIG_ERROR.
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
        (error as? HostError)?.networkFailure ?? .unexpectedResponse
    }

    /// Why the host refused to send the request, or nil when it sent it and the network failed.
    public static func refusal(_ error: any Error) -> String? {
        (error as? HostError).flatMap { $0.isRefusal ? $0.message : nil }
    }
}
