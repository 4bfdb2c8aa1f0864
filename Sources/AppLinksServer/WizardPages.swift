import AppLinksCore
import AppLinksHost
import AppLinksJSON
import AppLinksStore
import Foundation
import HTTPTypes
import Hummingbird

/// "Create link" in the browser: a type picker, then the type's wizard steps as forms. The same
/// ``WizardEngine`` as `applinks create` and the REST API runs every step; this file only draws its questions
/// and reads the answers. Each step is post, redirect, get: what the form shows (fields, errors, messages) is kept
/// per draft, so a reload or the browser's back button shows the same step, never a resubmission.
enum WizardPages {
    static let newPath = LinksPage.path + "/new"
    static let draftPath = LinksPage.path + "/wizard"
    static let namespace = "web.wizard"

    /// One form as it was drawn, and the steps before it (for "Back").
    struct View: Codable {
        var step: String
        var title: String
        var fields: [WizardField]
        var errors: [FieldError]
        var messages: [WizardMessage]
        var pendingMessage: String?
        var pendingURL: String?
    }

    struct Stash: Codable {
        var type: String
        var views: [View]
    }

    static func load(_ d: Deployment, _ draft: String) async throws -> Stash? {
        guard let data = try await d.store.value(namespace: namespace, key: draft) else { return nil }
        return try? JSONCoding.decode(Stash.self, from: data)
    }

    static func save(_ d: Deployment, _ draft: String, _ stash: Stash?) async throws {
        guard let stash else { return try await d.store.delete(namespace: namespace, key: draft) }
        try await d.store.put(namespace: namespace, key: draft, value: try JSONCoding.encode(stash), ttl: .seconds(DraftRecord.lifetime))
    }

    static func engine(_ v: WebAccess.Visitor) -> WizardEngine {
        WizardEngine(host: v.deployment, wait: false, interaction: SilentInteraction(), presentsEveryStep: true)
    }

    /// What a wizard call leads to: a page to send as it is (the created link, shown once), or the draft's
    /// current step, kept for the next GET.
    enum Next {
        case page(Response)
        case step(String)

        var response: Response {
            switch self {
            case .page(let r): r
            case .step(let draft): WebAccess.redirect("\(draftPath)/\(draft)")
            }
        }
    }

    /// Runs a wizard call and keeps what the next form must show; a created link is shown at once.
    static func advance(
        _ web: WebAccess, _ v: WebAccess.Visitor, draft knownDraft: String?, type: String, stash: Stash?,
        _ run: () async throws -> WizardOutcome
    ) async throws -> Next {
        var stash = stash ?? Stash(type: type, views: [])
        do {
            switch try await run() {
            case let .created(link, messages, credentials):
                if let knownDraft { try await save(v.deployment, knownDraft, nil) }
                return .page(
                    web.templates.page(
                        "created", title: "Created \(LinksPage.clip(link.name))",
                        values: [
                            "id": link.id, "messages": messages.map(message), "credentials": LinkPage.pairs(credentials),
                            "has_credentials": credentials != nil,
                        ], nav: v.nav(LinksPage.path), headers: [.cacheControl: "no-store"]))
            case let .pending(draftID, text, url, messages):
                let view = View(
                    step: stash.views.last?.step ?? "", title: "Waiting", fields: [], errors: [], messages: messages, pendingMessage: text,
                    pendingURL: url.flatMap(Self.safeOutgoing))
                if stash.views.last?.pendingMessage != nil { stash.views.removeLast() }
                stash.views.append(view)
                try await save(v.deployment, draftID, stash)
                return .step(draftID)
            }
        } catch let e as AppLinksError where e.code == .wizardFields {
            guard let needed = e.cause as? WizardInputNeeded else { throw e }
            let current = stash.views.last
            var view = View(
                step: needed.step, title: needed.title, fields: needed.fields, errors: needed.errors, messages: needed.messages)
            if let current, current.step == needed.step, current.pendingMessage == nil {
                // The same step again, with the errors of its answers: drawn with the fields it had.
                if view.fields.isEmpty { view.fields = current.fields }
                if view.title.isEmpty { view.title = current.title }
                stash.views[stash.views.count - 1] = view
            } else {
                if current?.pendingMessage != nil { stash.views.removeLast() }
                stash.views.append(view)
            }
            try await save(v.deployment, needed.draftID, stash)
            return .step(needed.draftID)
        }
    }

    /// A page the wizard sends the admin to must be a web page: http or https, never `javascript:`.
    static func safeOutgoing(_ url: String) -> String? {
        let lower = url.lowercased()
        return lower.hasPrefix("https://") || lower.hasPrefix("http://") ? url : nil
    }

    static func message(_ m: WizardMessage) -> [String: Any] { ["level": m.level.rawValue, "text": LinksPage.clip(m.text, 2000)] }

    /// The form's inputs: each field with its answer so far (secrets never), its default, and its error.
    static func fields(_ view: View, answers: [String: JSONValue]) -> [[String: Any]] {
        view.fields.map { f in
            let given = f.type == .secret ? nil : answers[f.name]
            let value = given ?? f.defaultValue
            let error = view.errors.first { $0.field == f.name }?.message
            let chosen: Set<String> =
                switch value {
                case .array(let items)?: Set(items.compactMap(\.stringValue))
                case let v?: Set([v.stringValue ?? ""])
                case nil: []
                }
            let kind: String =
                switch f.type {
                case .secret: "password"
                case .url: "url"
                case .int: "number"
                default: "text"
                }
            return [
                "name": f.name, "id": "f-\(f.name)", "label": f.label, "help": f.help as Any, "error": error as Any,
                "required": f.required && f.type != .bool && f.type != .multichoice, "kind": kind,
                "is_input": [.text, .secret, .url, .int].contains(f.type), "is_choice": f.type == .choice,
                "is_multi": f.type == .multichoice, "is_bool": f.type == .bool,
                "value": value.map(LinkPage.text) ?? "", "checked": value?.boolValue == true,
                "choices": f.choices.map { ["value": $0, "id": "f-\(f.name)-\($0)", "selected": chosen.contains($0)] as [String: Any] },
                "autocomplete": (f.type == .secret ? "new-password" : nil) as String? as Any,
            ]
        }
    }

    static func register(on router: Router<AppRequestContext>, web: WebAccess) {
        router.get(RouterPath(newPath)) { request, _ in
            try await web.page {
                let v = try await web.admin(request)
                let types = v.deployment.plugins.values.sorted { $0.descriptor.name < $1.descriptor.name }.map { p -> [String: Any] in
                    [
                        "id": p.id, "name": p.descriptor.name, "vendor": p.descriptor.vendor, "version": p.descriptor.version,
                        "description": p.descriptor.description as Any,
                        "directions": p.descriptor.directions.map(\.displayName).joined(separator: ", "),
                    ]
                }
                let drafts = try await v.deployment.drafts().map { d -> [String: Any] in
                    [
                        "id": d.id, "type": d.type, "step": d.step ?? "start", "updated": Timestamp.format(d.updatedAt),
                        "note": d.note as Any,
                    ]
                }
                return web.templates.page(
                    "new", title: "Create link",
                    values: [
                        "types": types, "has_types": !types.isEmpty, "drafts": drafts, "has_drafts": !drafts.isEmpty, "csrf": v.record.csrf,
                        "notice": request.uri.queryParameters["notice"].flatMap { Notices.text(String($0)) } as Any,
                    ], nav: v.nav(LinksPage.path))
            }
        }

        router.post(RouterPath(newPath)) { request, _ in
            try await web.page {
                let v = try await web.admin(request)
                let fields = try await web.form(request, v)
                let type = fields[name: "type"] ?? ""
                return try await advance(web, v, draft: nil, type: type, stash: nil) {
                    try await engine(v).start(type: type, presets: [:])
                }.response
            }
        }

        router.get(RouterPath(draftPath + "/:draft")) { request, context in
            try await web.page {
                let v = try await web.admin(request)
                let id = try context.parameters.require("draft")
                guard let draft = try await v.deployment.store.draft(id: id) else {
                    throw AppLinksError(.notFound, "This wizard was finished, discarded or has expired (drafts last 24 hours).")
                }
                var stash = try await load(v.deployment, id)
                // A step that waits on another application is asked again on every visit, as the CLI polls it:
                // the admin coming back from there finds the wizard moved on.
                if let s = stash, s.views.last?.pendingMessage != nil {
                    let next = try await advance(web, v, draft: id, type: draft.type, stash: s) {
                        try await engine(v).resume(draftID: id, presets: [:])
                    }
                    if case .page(let created) = next { return created }
                    stash = try await load(v.deployment, id)
                }
                let view = stash?.views.last
                let secretNames = Set((view?.fields ?? []).filter { $0.type == .secret }.map(\.name))
                let answers = try await engine(v).visibleAnswers(draftID: id, secretFields: secretNames)
                let warned = view?.messages.contains { $0.level == .warning } == true
                let typeName = v.deployment.plugins[draft.type]?.descriptor.name ?? draft.type
                return web.templates.page(
                    "wizard", title: "Create link: \(typeName)",
                    values: [
                        "draft": id, "csrf": v.record.csrf, "step_title": view?.title as Any,
                        "fields": view.map { fields($0, answers: answers) } ?? [],
                        "messages": (view?.messages ?? []).map(message), "can_go_back": (stash?.views.count ?? 0) > 1,
                        "submit": warned ? "Continue anyway" : "Next", "unknown": view == nil,
                        "pending": view?.pendingMessage.map { ["message": $0, "url": view?.pendingURL as Any] } as Any,
                        "has_errors": view?.errors.isEmpty == false,
                        "other_errors": (view?.errors ?? []).filter { e in !(view?.fields ?? []).contains { $0.name == e.field } }.map {
                            ["field": $0.field, "message": $0.message]
                        },
                    ], nav: v.nav(LinksPage.path))
            }
        }

        router.post(RouterPath(draftPath + "/:draft")) { request, context in
            try await web.page {
                let v = try await web.admin(request)
                let form = try await web.form(request, v)
                let id = try context.parameters.require("draft")
                guard let draft = try await v.deployment.store.draft(id: id) else {
                    throw AppLinksError(.notFound, "This wizard was finished, discarded or has expired (drafts last 24 hours).")
                }
                var stash = try await load(v.deployment, id)
                if form[name: "back"] != nil, var s = stash, s.views.count > 1 {
                    s.views.removeLast()
                    try await engine(v).rewind(draftID: id, to: s.views.last?.step)
                    try await save(v.deployment, id, s)
                    return WebAccess.redirect("\(draftPath)/\(id)")
                }
                if form[name: "discard"] != nil {
                    try await v.deployment.deleteDraft(id)
                    try await save(v.deployment, id, nil)
                    return WebAccess.redirect("\(newPath)?notice=discarded")
                }
                var answers: [String: JSONValue] = [:]
                if let view = stash?.views.last, view.pendingMessage == nil {
                    for f in view.fields {
                        switch f.type {
                        case .bool: answers[f.name] = .bool(form.all("f.\(f.name)").contains("true"))
                        case .multichoice: answers[f.name] = .array(form.all("f.\(f.name)").filter { !$0.isEmpty }.map(JSONValue.string))
                        default: answers[f.name] = .string(form[name: "f.\(f.name)"] ?? "")
                        }
                    }
                    // The errors drawn belong to the answers just replaced.
                    stash!.views[stash!.views.count - 1].errors = []
                }
                return try await advance(web, v, draft: id, type: draft.type, stash: stash) {
                    try await engine(v).resume(draftID: id, presets: answers)
                }.response
            }
        }
    }
}
