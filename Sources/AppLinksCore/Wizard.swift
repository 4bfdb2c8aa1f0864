import AppLinksJSON
import Foundation

/// One input a wizard step asks for.
public struct WizardField: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable {
        case text, secret, url, choice, multichoice, bool, int
    }
    public var name: String
    public var label: String
    public var type: Kind
    public var required: Bool
    public var defaultValue: JSONValue?
    public var choices: [String]
    public var help: String?

    public init(
        name: String, label: String, type: Kind = .text, required: Bool = true, defaultValue: JSONValue? = nil,
        choices: [String] = [], help: String? = nil
    ) {
        self.name = name
        self.label = label
        self.type = type
        self.required = required
        self.defaultValue = defaultValue
        self.choices = choices
        self.help = help
    }

    enum CodingKeys: String, CodingKey {
        case name, label, type, required, choices, help
        case defaultValue = "default"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        label = try c.decodeIfPresent(String.self, forKey: .label) ?? name
        type = try c.decodeIfPresent(Kind.self, forKey: .type) ?? .text
        required = try c.decodeIfPresent(Bool.self, forKey: .required) ?? true
        defaultValue = try c.decodeIfPresent(JSONValue.self, forKey: .defaultValue)
        choices = try c.decodeIfPresent([String].self, forKey: .choices) ?? []
        help = try c.decodeIfPresent(String.self, forKey: .help)
    }
}

public struct FieldError: Error, Codable, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field): \(message)" }
}

public struct WizardMessage: Codable, Sendable, Hashable {
    public enum Level: String, Codable, Sendable { case info, warning }
    public var level: Level
    public var text: String
    public init(_ level: Level, _ text: String) {
        self.level = level
        self.text = text
    }
}

/// What the host sends to `wizard_step`. `step` is the step whose answers are being submitted; `nil` asks for
/// the first step.
public struct WizardRequest: Codable, Sendable, Hashable {
    public var step: String?
    public var answers: [String: JSONValue]
    public var draftID: String

    public init(step: String?, answers: [String: JSONValue], draftID: String) {
        self.step = step
        self.answers = answers
        self.draftID = draftID
    }

    enum CodingKeys: String, CodingKey {
        case step, answers
        case draftID = "draft_id"
    }
}

/// What a plugin asks the host to create when its wizard is done.
public struct LinkSpec: Codable, Sendable, Hashable {
    public var name: String
    public var application: ApplicationInfo
    public var displayURL: String
    public var rpcURL: String?
    public var incomingAuth: [String]
    public var outgoingAuth: [String]
    public var config: [String: JSONValue]

    public init(
        name: String, application: ApplicationInfo, displayURL: String, rpcURL: String? = nil,
        incomingAuth: [String] = [], outgoingAuth: [String] = [], config: [String: JSONValue] = [:]
    ) {
        self.name = name
        self.application = application
        self.displayURL = displayURL
        self.rpcURL = rpcURL
        self.incomingAuth = incomingAuth
        self.outgoingAuth = outgoingAuth
        self.config = config
    }

    enum CodingKeys: String, CodingKey {
        case name, application, config
        case displayURL = "display_url"
        case rpcURL = "rpc_url"
        case incomingAuth = "incoming_auth"
        case outgoingAuth = "outgoing_auth"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        application = try c.decode(ApplicationInfo.self, forKey: .application)
        displayURL = try c.decode(String.self, forKey: .displayURL)
        rpcURL = try c.decodeIfPresent(String.self, forKey: .rpcURL)
        incomingAuth = try c.decodeIfPresent([String].self, forKey: .incomingAuth) ?? []
        outgoingAuth = try c.decodeIfPresent([String].self, forKey: .outgoingAuth) ?? []
        config = try c.decodeIfPresent([String: JSONValue].self, forKey: .config) ?? [:]
    }
}

/// What `wizard_step` answers.
public enum WizardResponse: Codable, Sendable, Hashable {
    /// Ask for these fields next.
    case fields(step: String, title: String, fields: [WizardField], messages: [WizardMessage])
    /// The answers to `step` are wrong; ask for these fields again.
    case errors(step: String, errors: [FieldError], messages: [WizardMessage])
    /// Waiting for something outside the wizard, typically a browser redirect to `url`.
    case pending(step: String, url: String?, message: String, pollAfterMs: Int)
    /// Create this link, with these secrets sealed beside it. `credentials` are shown to the admin once, with the
    /// created link (an OAuth 2.0 client's id and secret); the host does not keep them.
    case done(link: LinkSpec, secrets: [String: String], messages: [WizardMessage], credentials: JSONValue? = nil)

    enum CodingKeys: String, CodingKey {
        case type, step, title, fields, messages, errors, url, message, link, secrets, credentials
        case pollAfterMs = "poll_after_ms"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        let messages = try c.decodeIfPresent([WizardMessage].self, forKey: .messages) ?? []
        switch type {
        case "fields":
            self = .fields(
                step: try c.decode(String.self, forKey: .step),
                title: try c.decodeIfPresent(String.self, forKey: .title) ?? "",
                fields: try c.decode([WizardField].self, forKey: .fields), messages: messages)
        case "errors":
            self = .errors(
                step: try c.decode(String.self, forKey: .step),
                errors: try c.decode([FieldError].self, forKey: .errors), messages: messages)
        case "pending":
            self = .pending(
                step: try c.decode(String.self, forKey: .step),
                url: try c.decodeIfPresent(String.self, forKey: .url),
                message: try c.decodeIfPresent(String.self, forKey: .message) ?? "Waiting",
                pollAfterMs: try c.decodeIfPresent(Int.self, forKey: .pollAfterMs) ?? 1000)
        case "done":
            self = .done(
                link: try c.decode(LinkSpec.self, forKey: .link),
                secrets: try c.decodeIfPresent([String: String].self, forKey: .secrets) ?? [:],
                messages: messages, credentials: try c.decodeIfPresent(JSONValue.self, forKey: .credentials))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: c,
                debugDescription: "unknown wizard response type '\(type)'; expected fields, errors, pending or done")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case let .fields(step, title, fields, messages):
            try c.encode("fields", forKey: .type)
            try c.encode(step, forKey: .step)
            try c.encode(title, forKey: .title)
            try c.encode(fields, forKey: .fields)
            try c.encode(messages, forKey: .messages)
        case let .errors(step, errors, messages):
            try c.encode("errors", forKey: .type)
            try c.encode(step, forKey: .step)
            try c.encode(errors, forKey: .errors)
            try c.encode(messages, forKey: .messages)
        case let .pending(step, url, message, poll):
            try c.encode("pending", forKey: .type)
            try c.encode(step, forKey: .step)
            try c.encodeIfPresent(url, forKey: .url)
            try c.encode(message, forKey: .message)
            try c.encode(poll, forKey: .pollAfterMs)
        case let .done(link, secrets, messages, credentials):
            try c.encode("done", forKey: .type)
            try c.encode(link, forKey: .link)
            try c.encode(secrets, forKey: .secrets)
            try c.encode(messages, forKey: .messages)
            try c.encodeIfPresent(credentials, forKey: .credentials)
        }
    }
}
