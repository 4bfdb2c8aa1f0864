import Foundation

/// An error response of RFC 6749: §4.1.2.1 for the authorization endpoint (sent back in the redirect) and §5.2
/// for the token endpoint (a JSON body). The codes are the RFC's, and nothing else: clients switch on them.
public struct OAuth2Error: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let invalidRequest = Code(rawValue: "invalid_request")
        public static let invalidClient = Code(rawValue: "invalid_client")
        public static let invalidGrant = Code(rawValue: "invalid_grant")
        public static let unauthorizedClient = Code(rawValue: "unauthorized_client")
        public static let unsupportedGrantType = Code(rawValue: "unsupported_grant_type")
        public static let invalidScope = Code(rawValue: "invalid_scope")
        public static let accessDenied = Code(rawValue: "access_denied")
        public static let unsupportedResponseType = Code(rawValue: "unsupported_response_type")
        public static let serverError = Code(rawValue: "server_error")
        public static let unsupportedTokenType = Code(rawValue: "unsupported_token_type")
    }

    public var code: Code
    /// `error_description`: for the client's developer, ASCII without `"` and `\` (RFC 6749 §5.2).
    public var message: String
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public static func == (a: OAuth2Error, b: OAuth2Error) -> Bool { a.code == b.code && a.message == b.message }
    public func hash(into h: inout Hasher) {
        h.combine(code)
        h.combine(message)
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// The description as RFC 6749 allows it: printable ASCII other than `"` and `\`.
    public var safeDescription: String {
        String(message.unicodeScalars.map { s in (0x20...0x7E).contains(s.value) && s != "\"" && s != "\\" ? Character(s) : "?" })
    }

    /// The token endpoint's HTTP status: 401 for a client that authenticated with Basic and failed, 400 otherwise.
    public func tokenEndpointStatus(basicAuthentication: Bool) -> Int { code == .invalidClient && basicAuthentication ? 401 : 400 }

    /// The JSON body of §5.2.
    public var jsonBody: Data {
        Data(#"{"error":"\#(code.rawValue)","error_description":"\#(safeDescription)"}"#.utf8)
    }
}
