import AppLinksCore
import AppLinksJSON
import Foundation

/// A wizard step a link type declares once: its entry in the descriptor, the fields it asks for, and what its
/// answers lead to.
///
/// ```swift
/// static let url = DeclaredStep<MyLinkType>(id: "url", title: "URL", fields: [WizardField(name: "url", label: "URL", type: .url)]) {
///     plugin, r in r.answers["url"] == nil ? .invalid([FieldError(field: "url", message: "give one")]) : .next(token)
/// }
/// ```
public struct DeclaredStep<Plugin: Sendable>: Sendable {
    public let spec: LinkTypeDescriptor.Step
    public var id: String { spec.id }
    /// The fields, for a step whose fields are always the same.
    public let fields: [WizardField]?
    let form: @Sendable (Plugin, WizardRequest) async throws -> StepForm
    let submit: @Sendable (Plugin, WizardRequest) async throws -> StepOutcome<Plugin>

    /// - Parameters:
    ///   - answers: every answer the step reads, hidden ones included, for the descriptor, so that the host can refuse
    ///     a `--set` no step reads; nil leaves the step's answers unlisted, and the host then checks none.
    ///   - form: the fields to ask for, which may depend on earlier answers; a ``StepForm`` may also change the title.
    ///   - submit: what the step's answers lead to.
    public init(
        id: String, title: String, answers: [String]? = nil,
        form: @escaping @Sendable (Plugin, WizardRequest) async throws -> StepForm,
        submit: @escaping @Sendable (Plugin, WizardRequest) async throws -> StepOutcome<Plugin>
    ) {
        self.spec = LinkTypeDescriptor.Step(id: id, title: title, fields: answers)
        self.fields = nil
        self.form = form
        self.submit = submit
    }

    /// A step whose fields are always the same: the descriptor lists them without being told.
    public init(
        id: String, title: String, fields: [WizardField], extraAnswers: [String] = [],
        submit: @escaping @Sendable (Plugin, WizardRequest) async throws -> StepOutcome<Plugin>
    ) {
        self.spec = LinkTypeDescriptor.Step(id: id, title: title, fields: fields.map(\.name) + extraAnswers)
        self.fields = fields
        self.form = { _, _ in StepForm(fields) }
        self.submit = submit
    }

    /// The step's fields, from `given` or else from its own form.
    func ask(_ plugin: Plugin, _ r: WizardRequest, messages: [WizardMessage], form given: StepForm? = nil) async throws -> WizardResponse {
        let form: StepForm
        if let given { form = given } else { form = try await self.form(plugin, r) }
        return .fields(step: id, title: form.title ?? spec.title, fields: form.fields, messages: messages + form.messages)
    }
}

/// What a step asks for.
public struct StepForm: Sendable {
    public var title: String?
    public var fields: [WizardField]
    public var messages: [WizardMessage]

    public init(_ fields: [WizardField], title: String? = nil, messages: [WizardMessage] = []) {
        self.fields = fields
        self.title = title
        self.messages = messages
    }
}

/// Where a step's answers lead.
public enum StepOutcome<Plugin: Sendable>: Sendable {
    /// Ask for `step`'s fields next; `form`, when given, instead of the step's own, for a form that depends on what
    /// this step found out (a provider's default scopes, say).
    case next(DeclaredStep<Plugin>, messages: [WizardMessage] = [], form: StepForm? = nil)
    /// The answers to `step` (this one when nil) are wrong: ask for them again.
    case invalid([FieldError], step: DeclaredStep<Plugin>? = nil, messages: [WizardMessage] = [])
    /// Waiting for something outside the wizard, typically a browser sent to `url`; the host submits `step` (this
    /// one when nil) again every `pollAfterMs`.
    case pending(url: String?, message: String, pollAfterMs: Int = 1000, step: DeclaredStep<Plugin>? = nil)
    /// Create this link.
    case done(LinkSpec, secrets: [String: String] = [:], messages: [WizardMessage] = [], credentials: JSONValue? = nil)
}

/// A link type whose wizard is a list of typed steps: the kit builds the descriptor's wizard from them and sends
/// each answer to the step it answers, so that no step id is written twice.
public protocol DeclaredWizard: DeclaredLinkType {
    /// The steps, the first one first.
    static var steps: [DeclaredStep<Self>] { get }
}

extension DeclaredWizard {
    public static var descriptor: LinkTypeDescriptor {
        var d = declarationWithActionsAndRoutes
        d.wizard = .init(steps: steps.map(\.spec))
        return d
    }

    public func wizardStep(_ r: WizardRequest) async throws -> WizardResponse {
        guard let id = r.step else {
            guard let first = Self.steps.first else {
                throw PluginError(code: "invalid_step", message: "\(Self.declaration.name) has no wizard.")
            }
            return try await first.ask(self, r, messages: [])
        }
        guard let step = Self.steps.first(where: { $0.id == id }) else {
            throw PluginError(code: "invalid_step", message: "The wizard has no step '\(id)'.")
        }
        switch try await step.submit(self, r) {
        case let .next(next, messages, form): return try await next.ask(self, r, messages: messages, form: form)
        case let .invalid(errors, other, messages): return .errors(step: (other ?? step).id, errors: errors, messages: messages)
        case let .pending(url, message, poll, other):
            return .pending(step: (other ?? step).id, url: url, message: message, pollAfterMs: poll)
        case let .done(link, secrets, messages, credentials):
            return .done(link: link, secrets: secrets, messages: messages, credentials: credentials)
        }
    }
}
