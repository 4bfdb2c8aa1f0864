import AppLinksCore
import Foundation

/// An OAuth 1.0 failure with its standard `oauth_problem` code (the OAuth Problem Reporting extension), so a
/// provider can answer 401 with it and a consumer can map it to a link status.
public struct OAuth1Problem: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        case timestampRefused = "timestamp_refused"
        case nonceUsed = "nonce_used"
        case signatureInvalid = "signature_invalid"
        case signatureMethodRejected = "signature_method_rejected"
        case consumerKeyUnknown = "consumer_key_unknown"
        /// The consumer is known but may not make requests now, such as when its link is disabled.
        case consumerKeyRefused = "consumer_key_refused"
        case tokenRejected = "token_rejected"
        case tokenExpired = "token_expired"
        case tokenUsed = "token_used"
        case parameterAbsent = "parameter_absent"
        case parameterRejected = "parameter_rejected"
        case versionRejected = "version_rejected"
        case permissionDenied = "permission_denied"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// The `WWW-Authenticate` value of the 401 a provider answers with.
    public func wwwAuthenticate(realm: String) -> String {
        "OAuth realm=\"\(TextEscaping.replacing(realm) { $0 == "\"" ? "" : nil })\", oauth_problem=\"\(code.rawValue)\""
    }

    /// The 401 body, form-encoded as the extension specifies.
    public var body: String {
        "oauth_problem=\(OAuth1Encoding.encode(code.rawValue))&oauth_problem_advice=\(OAuth1Encoding.encode(message))"
    }
}
