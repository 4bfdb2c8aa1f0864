import AppLinksCore
import AppLinksJSON
import AppLinksPluginRuntime
import AppLinksStore
import Foundation

/// How a wizard talks to the admin: a terminal prompter, or nothing at all for `--set`/`--answers` runs.
public protocol WizardInteraction: Sendable {
    /// Whether fields can be asked for. When false, a missing or wrong answer fails the run.
    var isInteractive: Bool { get }
    /// Called once the draft exists, before anything is asked, so an interrupt can name it.
    func started(draftID: String)
    func title(_ text: String)
    func show(_ message: WizardMessage)
    /// Asks for one field; `error` is the plugin's complaint about the previous answer.
    func ask(_ field: WizardField, error: String?) async throws -> JSONValue
    /// Shown once when a step starts waiting on something outside the wizard (a browser redirect).
    func waiting(url: String?, message: String)
}

/// How a wizard run ended without an error.
public enum WizardOutcome: Sendable {
    case created(Link, messages: [WizardMessage], credentials: JSONValue? = nil)
    /// Still waiting (for example `--no-wait`): resume with `applinks create --resume <draftID>`.
    case pending(draftID: String, message: String, url: String?, messages: [WizardMessage] = [])
}

/// The cause of a `.wizardFields` error: which draft and step need which answers, for clients (such as the
/// REST API) that supply them without a terminal.
public struct WizardInputNeeded: Error, Sendable {
    public var draftID: String
    public var step: String
    public var fields: [WizardField]
    public var errors: [FieldError]
    /// What the plugin said with the step, such as a warning that the remote redirected.
    public var messages: [WizardMessage] = []
    /// The step's title, for a form's heading.
    public var title: String = ""
}

/// The cause of an error that stopped a wizard in a step: the link type failed, hung or its runner ended. The
/// draft is kept as it was before the step, so the wizard resumes there once the link type answers again.
public struct WizardInterrupted: Error, Sendable {
    public var draftID: String
}

/// Drives a link type's wizard steps, keeping a sealed draft after every step so that nothing is lost and no
/// half-made link is ever stored.
public struct WizardEngine: Sendable {
    public let host: Deployment
    public var wait: Bool
    public var interaction: any WizardInteraction
    /// Stops at every step whose fields are not all answered, even those with defaults, so that a form can show
    /// them: the web wizard's mode. Only answers given and wrong are reported as errors.
    public var presentsEveryStep: Bool
    /// What waiting on a pending step reads and sleeps on.
    public var clock: WaitClock = .system

    public init(host: Deployment, wait: Bool = true, interaction: any WizardInteraction, presentsEveryStep: Bool = false) {
        self.host = host
        self.wait = wait
        self.interaction = interaction
        self.presentsEveryStep = presentsEveryStep
    }

    /// Starts a new wizard for `type`, with `presets` answering fields ahead of time.
    public func start(type: String, presets: [String: JSONValue]) async throws -> WizardOutcome {
        let plugin = try host.plugin(forType: type)
        try Self.refuseUnknown(presets, of: plugin.descriptor)
        let draftID = "d-" + UUID().uuidString.lowercased().prefix(8)
        let draft = DraftRecord(id: String(draftID), type: type, step: nil, sealedAnswers: try seal(presets, draftID: String(draftID)))
        try await host.store.saveDraft(draft)
        try await host.audit("wizard-start", detail: ["type": .string(type), "draft": .string(draft.id)])
        return try await run(plugin: plugin, draft: draft, answers: presets)
    }

    /// Continues an interrupted or pending wizard; `presets` add to or replace its answers.
    public func resume(draftID: String, presets: [String: JSONValue]) async throws -> WizardOutcome {
        try await host.store.purgeExpiredDrafts()
        guard let draft = try await host.store.draft(id: draftID) else {
            let ids = try await host.store.drafts().map(\.id)
            throw AppLinksError(
                .notFound,
                "No draft '\(draftID)'. "
                    + (ids.isEmpty
                        ? "There are no drafts; start with `applinks create TYPE`."
                        : "Drafts: \(ids.joined(separator: ", ")).") + " Drafts expire after 24 hours.")
        }
        let plugin = try host.plugin(forType: draft.type)
        try Self.refuseUnknown(presets, of: plugin.descriptor)
        var answers = try open(draft)
        answers.merge(presets) { _, new in new }
        return try await run(plugin: plugin, draft: draft, answers: answers)
    }

    /// Sends a draft back to an earlier step: its next submission answers that step again. Answers are kept.
    public func rewind(draftID: String, to step: String?) async throws {
        guard var draft = try await host.store.draft(id: draftID) else {
            throw AppLinksError(.notFound, "No draft '\(draftID)'; it was finished, discarded or has expired.")
        }
        draft.step = step
        draft.updatedAt = Date()
        try await host.store.saveDraft(draft)
    }

    /// The answers a draft holds, without those of `secret` fields: what a form may show again.
    public func visibleAnswers(draftID: String, secretFields: Set<String>) async throws -> [String: JSONValue] {
        guard let draft = try await host.store.draft(id: draftID) else { return [:] }
        return try open(draft).filter { !secretFields.contains($0.key) }
    }

    /// An answer that no step reads is a typo, not a choice: refused before anything starts, with every step's
    /// fields. Only for link types whose steps all list their fields.
    static func refuseUnknown(_ answers: [String: JSONValue], of descriptor: LinkTypeDescriptor) throws {
        let steps = descriptor.wizard.steps
        guard !steps.isEmpty, steps.allSatisfy({ $0.fields != nil }) else { return }
        let known = Set(steps.flatMap { $0.fields ?? [] })
        let unknown = answers.keys.filter { !known.contains($0) }.sorted()
        guard !unknown.isEmpty else { return }
        let listed = steps.map { "  \($0.id): \(($0.fields ?? []).joined(separator: ", "))" }.joined(separator: "\n")
        throw AppLinksError(
            .invalidInput,
            "The \(descriptor.id) wizard has no field \(unknown.map { "'\($0)'" }.joined(separator: ", ")); nothing was started. "
                + "Its fields, by step:\n\(listed)")
    }

    private func seal(_ answers: [String: JSONValue], draftID: String) throws -> Data {
        try host.sealer.seal(try JSONCoding.encode(answers), context: "draft:\(draftID)")
    }

    private func open(_ draft: DraftRecord) throws -> [String: JSONValue] {
        try JSONCoding.decode([String: JSONValue].self, from: try host.sealer.open(draft.sealedAnswers, context: "draft:\(draft.id)"))
    }

    private func run(plugin: LoadedPlugin, draft: DraftRecord, answers initial: [String: JSONValue]) async throws -> WizardOutcome {
        var draft = draft
        var answers = initial
        var step = draft.step
        var fieldsByStep: [String: [WizardField]] = [:]
        var titles: [String: String] = [:]
        var waitingSince: Duration?
        // Every message of this run, for clients that read the outcome rather than watch the steps.
        var shown: [WizardMessage] = []
        let resumeHint =
            "Resume with `applinks create --resume \(draft.id)`; the draft is removed \(Int(DraftRecord.lifetime / 3600)) hours after "
            + "its last change, or at once with `applinks drafts delete \(draft.id)`."
        interaction.started(draftID: draft.id)

        func save(_ note: String? = nil) async throws {
            draft.step = step
            draft.sealedAnswers = try seal(answers, draftID: draft.id)
            draft.note = note
            draft.updatedAt = Date()
            try await host.store.saveDraft(draft)
        }

        while true {
            let response: WizardResponse
            do {
                response = try await plugin.call(
                    .wizardStep, WizardRequest(step: step, answers: answers, draftID: draft.id), as: WizardResponse.self,
                    timeout: host.config.statusTimeout * 3)
            } catch let e as PluginCallError {
                throw AppLinksError(.pluginFailed, "\(e.plugin): \(e.message) \(resumeHint)", cause: WizardInterrupted(draftID: draft.id))
            } catch let e as AppLinksError where e.code == .pluginFailed || e.code == .timeout {
                throw AppLinksError(e.code, "\(e.message) \(resumeHint)", cause: WizardInterrupted(draftID: draft.id))
            }
            switch response {
            case let .fields(s, title, fields, messages):
                messages.forEach(interaction.show)
                shown += messages
                fieldsByStep[s] = fields
                titles[s] = title
                if !title.isEmpty { interaction.title(title) }
                var missing: [FieldError] = []
                var unanswered = false
                for field in fields {
                    if let given = answers[field.name] {
                        switch Self.coerce(given, to: field) {
                        case .success(let v): answers[field.name] = v; continue
                        case .failure(let e):
                            if !interaction.isInteractive { missing.append(e); continue }
                            answers[field.name] = try await askValid(field, error: e.message)
                            continue
                        }
                    }
                    if interaction.isInteractive {
                        try await save()
                        answers[field.name] = try await askValid(field, error: nil)
                    } else if presentsEveryStep {
                        unanswered = true
                    } else if let d = field.defaultValue {
                        answers[field.name] = d
                    } else if field.required {
                        missing.append(FieldError(field: field.name, message: "\(field.label) is required; pass --set \(field.name)=…"))
                    }
                }
                step = s
                try await save()
                if !missing.isEmpty || unanswered {
                    throw AppLinksError(
                        .wizardFields, Self.describe(missing) + "\n" + resumeHint,
                        cause: WizardInputNeeded(
                            draftID: draft.id, step: s, fields: fields, errors: missing, messages: shown, title: title))
                }
            case let .errors(s, errors, messages):
                messages.forEach(interaction.show)
                shown += messages
                step = s
                guard interaction.isInteractive, let fields = fieldsByStep[s] else {
                    try await save()
                    throw AppLinksError(
                        .wizardFields, Self.describe(errors) + "\n" + resumeHint,
                        cause: WizardInputNeeded(
                            draftID: draft.id, step: s, fields: fieldsByStep[s] ?? [], errors: errors, messages: shown,
                            title: titles[s] ?? ""))
                }
                for e in errors {
                    guard let field = fields.first(where: { $0.name == e.field }) else {
                        throw AppLinksError(.wizardFields, Self.describe([e]))
                    }
                    answers[field.name] = try await askValid(field, error: e.message)
                }
                try await save()
            case let .pending(s, url, message, poll):
                step = s
                if waitingSince == nil {
                    try await save(message)
                    interaction.waiting(url: url, message: message)
                    waitingSince = clock.now()
                }
                guard wait else { return .pending(draftID: draft.id, message: message, url: url, messages: shown) }
                if clock.now() - waitingSince! > host.config.wizardTimeout {
                    throw AppLinksError(.timeout, "Gave up waiting after \(host.config.wizardTimeout): \(message) \(resumeHint)")
                }
                try await clock.sleep(.milliseconds(max(50, min(poll, 10_000))))
            case let .done(spec, secrets, messages, credentials):
                messages.forEach(interaction.show)
                shown += messages
                let created = try await create(spec, secrets: secrets, plugin: plugin)
                try await host.store.deleteDraft(id: draft.id)
                let link = await host.followUp(created)
                return .created(link, messages: shown, credentials: credentials)
            }
        }
    }

    private func askValid(_ field: WizardField, error: String?) async throws -> JSONValue {
        var error = error
        while true {
            let raw = try await interaction.ask(field, error: error)
            switch Self.coerce(raw, to: field) {
            case .success(let v): return v
            case .failure(let e): error = e.message
            }
        }
    }

    private func create(_ spec: LinkSpec, secrets: [String: String], plugin: LoadedPlugin) async throws -> Link {
        let direction = Direction(incomingAuth: spec.incomingAuth, outgoingAuth: spec.outgoingAuth)
        guard plugin.descriptor.directions.contains(direction) || (spec.incomingAuth.isEmpty && spec.outgoingAuth.isEmpty) else {
            throw AppLinksError(
                .pluginFailed, "\(plugin.descriptor.name) asked for a \(direction.displayName) link, which its descriptor does not declare."
            )
        }
        var link = Link(
            type: plugin.id, name: try Link.validName(spec.name), application: spec.application,
            displayURL: try Link.validURL(spec.displayURL, field: "display_url"),
            rpcURL: try spec.rpcURL.map { try Link.validURL($0, field: "rpc_url") },
            incomingAuth: spec.incomingAuth, outgoingAuth: spec.outgoingAuth, config: spec.config)
        var sealedSecrets: [String: Data] = [:]
        for (name, value) in secrets {
            sealedSecrets[name] = try host.sealer.sealString(value, context: SecretSealer.linkContext(link.id, name))
        }
        link = try await host.store.createLink(link, sealedSecrets: sealedSecrets)
        try await host.audit("create", link: link, detail: ["name": .string(link.name), "direction": .string(link.direction.rawValue)])
        return link
    }

    static func describe(_ errors: [FieldError]) -> String {
        "The wizard cannot go on:\n" + errors.map { "  - \($0.field): \($0.message)" }.joined(separator: "\n")
    }

    /// Brings a given answer to the field's type: "8080" for an int field, "yes" for a bool, "a,b" for a multichoice.
    public static func coerce(_ value: JSONValue, to field: WizardField) -> Result<JSONValue, FieldError> {
        func bad(_ m: String) -> Result<JSONValue, FieldError> { .failure(FieldError(field: field.name, message: m)) }
        switch field.type {
        case .text, .secret, .url:
            guard let s = value.stringValue else { return bad("\(field.label) must be text") }
            if field.required && s.trimmingCharacters(in: .whitespaces).isEmpty { return bad("\(field.label) is required") }
            return .success(.string(s))
        case .int:
            if case .number(let n) = value, n.rounded() == n { return .success(value) }
            guard let s = value.stringValue, let i = Int64(s.trimmingCharacters(in: .whitespaces)) else {
                return bad("\(field.label) must be a whole number")
            }
            return .success(.number(Double(i)))
        case .bool:
            guard let b = value.boolValue else { return bad("\(field.label) must be yes or no") }
            return .success(.bool(b))
        case .choice:
            guard let s = value.stringValue, field.choices.isEmpty || field.choices.contains(s) else {
                return bad("\(field.label) must be one of: \(field.choices.joined(separator: ", "))")
            }
            return .success(.string(s))
        case .multichoice:
            let items: [String]
            if case .array(let a) = value {
                items = a.compactMap(\.stringValue)
            } else {
                items = (value.stringValue ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                    !$0.isEmpty
                }
            }
            if let wrong = items.first(where: { !field.choices.isEmpty && !field.choices.contains($0) }) {
                return bad("'\(wrong)' is not one of: \(field.choices.joined(separator: ", "))")
            }
            if field.required && items.isEmpty {
                return bad("\(field.label) needs at least one of: \(field.choices.joined(separator: ", "))")
            }
            return .success(.array(items.map { .string($0) }))
        }
    }
}

extension Deployment {
    /// The wizards left unfinished (waiting, interrupted, or stopped for missing answers), newest first; expired
    /// ones are removed first.
    public func drafts() async throws -> [DraftRecord] {
        try await store.purgeExpiredDrafts()
        return try await store.drafts().sorted { $0.updatedAt > $1.updatedAt }
    }

    /// Discards a draft and the answers it holds.
    public func deleteDraft(_ id: String) async throws {
        guard try await store.draft(id: id) != nil else {
            throw AppLinksError(.notFound, "No draft '\(id)'. Run `applinks drafts` to list them.")
        }
        try await store.deleteDraft(id: id)
        try await audit("wizard-discard", detail: ["draft": .string(id)])
    }
}
