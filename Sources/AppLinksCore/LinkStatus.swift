import AppLinksJSON
import Foundation

/// Status categories, as Atlassian's application links name them, so that admins read ours the same way.
public enum StatusCategory: String, Codable, Sendable, CaseIterable {
    case connected = "CONNECTED"
    case networkError = "NETWORK_ERROR"
    case accessError = "ACCESS_ERROR"
    case configError = "CONFIG_ERROR"
    case nonAtlassian = "NON_ATLASSIAN"
    case incompatible = "INCOMPATIBLE"
    case disabled = "DISABLED"
    case unknown = "UNKNOWN"

    /// The error types a check may report with this category. `CONNECTED` takes none.
    public var errorTypes: Set<StatusErrorType> {
        switch self {
        case .connected: return []
        case .networkError:
            return [
                .connectionRefused, .unknownHost, .sslUntrusted, .sslHostnameUnmatched, .timeout, .oauthProblem,
                .oauthTimestampRefused, .oauthSignatureInvalid, .unexpectedResponse, .unexpectedResponseStatus,
            ]
        case .accessError: return [.localAuthTokenRequired, .remoteAuthTokenRequired, .insufficientRemotePermission]
        case .configError: return [.noRemoteApplink, .authLevelMismatch, .invalidConfig]
        case .nonAtlassian: return [.genericLink]
        case .incompatible: return [.noOutgoingAuth, .remoteVersionIncompatible]
        case .disabled: return [.disabled]
        // The host itself reports a plugin that timed out as UNKNOWN/TIMEOUT.
        case .unknown: return [.unknown, .timeout]
        }
    }
}

extension StatusCategory {
    /// A code outside the vocabulary is refused with the valid ones, so that a plugin's author sees the list.
    public init(from decoder: any Decoder) throws { self = try .decodeNamingValues(decoder, "a status category", "categories") }
}

extension StatusErrorType {
    public init(from decoder: any Decoder) throws { self = try .decodeNamingValues(decoder, "a status error type", "error types") }
}

extension CaseIterable where Self: RawRepresentable, RawValue == String {
    /// Decodes one of the cases, or fails with a message that lists them all.
    static func decodeNamingValues(_ decoder: any Decoder, _ what: String, _ plural: String) throws -> Self {
        let c = try decoder.singleValueContainer()
        let raw = try c.decode(String.self)
        guard let v = Self(rawValue: raw) else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "'\(raw)' is not \(what); the \(plural) are \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }
}

public enum StatusErrorType: String, Codable, Sendable, CaseIterable {
    case connectionRefused = "CONNECTION_REFUSED"
    case unknownHost = "UNKNOWN_HOST"
    case sslUntrusted = "SSL_UNTRUSTED"
    case sslHostnameUnmatched = "SSL_HOSTNAME_UNMATCHED"
    case timeout = "TIMEOUT"
    case oauthProblem = "OAUTH_PROBLEM"
    case oauthTimestampRefused = "OAUTH_TIMESTAMP_REFUSED"
    case oauthSignatureInvalid = "OAUTH_SIGNATURE_INVALID"
    case unexpectedResponse = "UNEXPECTED_RESPONSE"
    case unexpectedResponseStatus = "UNEXPECTED_RESPONSE_STATUS"
    case localAuthTokenRequired = "LOCAL_AUTH_TOKEN_REQUIRED"
    case remoteAuthTokenRequired = "REMOTE_AUTH_TOKEN_REQUIRED"
    case insufficientRemotePermission = "INSUFFICIENT_REMOTE_PERMISSION"
    case noRemoteApplink = "NO_REMOTE_APPLINK"
    case authLevelMismatch = "AUTH_LEVEL_MISMATCH"
    case invalidConfig = "INVALID_CONFIG"
    case genericLink = "GENERIC_LINK"
    case noOutgoingAuth = "NO_OUTGOING_AUTH"
    case remoteVersionIncompatible = "REMOTE_VERSION_INCOMPATIBLE"
    case disabled = "DISABLED"
    case unknown = "UNKNOWN"
}

/// The outcome of one status check: one category, at most one error type, and a message with the fix.
public struct LinkStatus: Codable, Sendable, Hashable {
    public var category: StatusCategory
    public var errorType: StatusErrorType?
    public var message: String
    public var checkedAt: Date?

    public init(_ category: StatusCategory, _ errorType: StatusErrorType? = nil, message: String, checkedAt: Date? = nil) {
        self.category = category
        self.errorType = errorType
        self.message = message
        self.checkedAt = checkedAt
    }

    enum CodingKeys: String, CodingKey {
        case category, message
        case errorType = "error_type"
        case checkedAt = "checked_at"
    }

    /// The JSON shape, in one place: `encode(to:)` and the fast list writer both use it.
    public var jsonValue: JSONValue {
        [
            "category": .string(category.rawValue), "error_type": errorType.map { .string($0.rawValue) } ?? .null,
            "message": .string(message), "checked_at": checkedAt.map { .string(Timestamp.format($0)) } ?? .null,
        ]
    }

    public func encode(to encoder: any Encoder) throws { try jsonValue.encode(to: encoder) }

    /// A link that has never been checked.
    public static let unchecked = LinkStatus(.unknown, .unknown, message: "Not checked yet. Run `applinks status`.")

    /// Rejects a category/error-type pair outside the vocabulary; a plugin that sends one gets UNKNOWN.
    public func validated() throws -> LinkStatus {
        if category == .connected {
            guard errorType == nil else {
                throw AppLinksError(
                    .pluginFailed, "CONNECTED takes no error type, got \(errorType!.rawValue); answer null (see sdk/docs/status.md)")
            }
        } else if let e = errorType {
            guard category.errorTypes.contains(e) else {
                let valid = StatusErrorType.allCases.filter(category.errorTypes.contains).map(\.rawValue)
                throw AppLinksError(
                    .pluginFailed,
                    "\(e.rawValue) is not an error type of \(category.rawValue); its error types are \(valid.joined(separator: ", ")) "
                        + "(see sdk/docs/status.md)")
            }
        }
        return self
    }
}
