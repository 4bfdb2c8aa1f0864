import AppLinksCore
import AppLinksHost
import AppLinksJSON
import ArgumentParser
import Foundation

struct ListCommand: HostCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Show every link in one table.")
    @OptionGroup var common: CommonOptions
    @Option(help: "Only links of this link type (its id).") var type: String?
    @Option(help: "Only links whose status category is this, such as CONNECTED or NETWORK_ERROR.") var status: String?

    func execute() async throws {
        var category: StatusCategory?
        if let status {
            guard let c = StatusCategory(rawValue: status.uppercased().replacingOccurrences(of: "-", with: "_")) else {
                throw AppLinksError(
                    .invalidInput,
                    "--status '\(status)' is not a status category. Use one of: "
                        + StatusCategory.allCases.map(\.rawValue).joined(separator: ", ") + ".")
            }
            category = c
        }
        let host = try await common.openHost()
        var links = try await host.store.links()
        if let type { links = links.filter { $0.type == type } }
        if let category { links = links.filter { $0.status.category == category } }
        if common.json {
            // Each link with the actions its type offers, as the table's Actions column shows them.
            var actions: [String: JSONValue] = [:]
            for type in Set(links.map(\.type)) {
                actions[type] = .array((host.enabledPlugin(type)?.descriptor.adminActions ?? []).map { .string($0.id) })
            }
            let byType = actions
            let data = await JSONCoding.prettyArray(links) { link -> JSONValue in
                guard case .object(var fields) = link.jsonValue else { return link.jsonValue }
                fields["actions"] = byType[link.type] ?? .array([])
                return .object(fields)
            }
            FileHandle.standardOutput.write(data + Data("\n".utf8))
            return
        }
        if links.isEmpty {
            print(
                type == nil && category == nil
                    ? "No links yet. Create one with `applinks create TYPE`; `applinks plugins list` shows the types."
                    : "No link matches these filters.")
        } else {
            print(LinkTable(links: links, host: host, color: Output.useColor).render())
        }
        let refused = host.pluginRecords.filter { $0.state == .refused }.count
        if refused > 0 { Output.note("note: \(refused) plugin file(s) were refused; see `applinks plugins list`.") }
    }
}

struct ShowCommand: HostCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one link.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The link: its id, a unique id prefix, or its name.", completion: HomeCompletions.links) var link: String

    func execute() async throws {
        let host = try await common.openHost()
        let l = try await host.resolveLink(link)
        if common.json { return try Output.json(l) }
        let rows: [(String, String)] = [
            ("id", l.id), ("name", l.name), ("type", l.type),
            ("application", "\(l.application.name)\(l.application.version.map { " " + $0 } ?? "") [\(l.application.type)]"),
            ("direction", l.direction.displayName), ("status", LinkTable.statusText(l.status)), ("message", l.status.message),
            ("checked at", l.status.checkedAt.map(Timestamp.format) ?? "never"), ("display URL", l.displayURL), ("RPC URL", l.rpcURL),
            ("incoming auth", l.incomingAuth.joined(separator: ", ")), ("outgoing auth", l.outgoingAuth.joined(separator: ", ")),
            ("primary", l.primary ? "yes" : "no"), ("enabled", l.enabled ? "yes" : "no"), ("version", String(l.version)),
        ]
        for (k, v) in rows { print(k.padding(toLength: 14, withPad: " ", startingAt: 0) + v) }
    }
}

struct CreateCommand: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a link with its type's wizard.",
        discussion:
            "On a terminal the wizard prompts for each field. Otherwise give every answer with --set or --answers; a missing or wrong answer fails with the field's name. An interrupted wizard leaves a draft: resume it with --resume."
    )
    @OptionGroup var common: CommonOptions
    @Argument(help: "The link type's id (see `applinks plugins list`).", completion: HomeCompletions.types) var type: String?
    @Option(name: .customLong("set"), help: "Answer a field: --set field=value (repeatable).") var sets: [String] = []
    @Option(help: "A JSON file with an object of answers.") var answers: String?
    @Option(help: "Resume the draft left by an interrupted or waiting wizard.") var resume: String?
    @Flag(name: .customLong("no-wait"), help: "Return at once when a step waits for a browser; resume later.") var noWait = false
    @Flag(name: .customLong("no-input"), help: "Never prompt, even on a terminal.") var noInput = false

    func execute() async throws {
        var presets: [String: JSONValue] = [:]
        if let answers {
            guard let data = FileManager.default.contents(atPath: answers) else {
                throw AppLinksError(.invalidInput, "Cannot read --answers \(answers).")
            }
            guard let obj = try? JSONCoding.decode([String: JSONValue].self, from: data) else {
                throw AppLinksError(.invalidInput, "--answers \(answers) must hold a JSON object such as {\"url\": \"https://…\"}.")
            }
            presets = obj
        }
        for (k, v) in try keyValues(sets, option: "--set") { presets[k] = .string(v) }
        let interactive = !noInput && Output.stdinIsTerminal
        let host = try await common.openHost()
        let engine = WizardEngine(
            host: host, wait: !noWait, interaction: TerminalInteraction(isInteractive: interactive, quiet: common.json))
        let outcome: WizardOutcome
        switch (type, resume) {
        case (let t?, nil): outcome = try await engine.start(type: t, presets: presets)
        case (nil, let d?): outcome = try await engine.resume(draftID: d, presets: presets)
        case (nil, nil): throw AppLinksError(.invalidInput, "Name a link type (`applinks create TYPE`) or a draft (`--resume DRAFT`).")
        case (_?, _?): throw AppLinksError(.invalidInput, "Give a link type or --resume, not both: a draft already knows its type.")
        }
        switch outcome {
        case .created(let link, _, let credentials):
            if common.json {
                guard let credentials else { return try Output.json(link) }
                guard case .object(var object) = try JSONValue.parse(try JSONCoding.encode(link)) else { return try Output.json(link) }
                object["credentials"] = credentials
                return try Output.json(JSONValue.object(object))
            }
            print("Created \(link.direction.displayName.lowercased()) link '\(link.name)' (\(link.id)).")
            if case .object(let fields)? = credentials {
                print("Credentials (shown now; keep them safe):")
                for (k, v) in fields.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v.stringValue ?? "\(v)")") }
            }
        case let .pending(draftID, message, url, _):
            struct Pending: Encodable {
                var state = "pending"
                var draft_id: String
                var message: String
                var url: String?
            }
            if common.json { return try Output.json(Pending(draft_id: draftID, message: message, url: url)) }
            print("Waiting: \(message)\nResume with `applinks create --resume \(draftID)` once it is done.")
        }
    }
}

struct EditCommand: HostCommand {
    static let configuration = CommandConfiguration(commandName: "edit", abstract: "Change a link's name, URLs, enabled flag or config.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The link.", completion: HomeCompletions.links) var link: String
    @Option(name: .customLong("set"), help: "name=…, display_url=…, rpc_url=…, enabled=true|false or config.KEY=… (repeatable).")
    var sets: [String] = []

    func execute() async throws {
        let pairs = try keyValues(sets, option: "--set")
        let host = try await common.openHost()
        let l = try await host.editLink(link, sets: pairs)
        if common.json { return try Output.json(l) }
        print("Updated '\(l.name)' (version \(l.version)).")
    }
}

struct DeleteCommand: HostCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a link and its secrets.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The link.", completion: HomeCompletions.links) var link: String
    @Flag(help: "Do not ask for confirmation.") var yes = false
    @Option(
        name: .customLong("arg"),
        help:
            "An argument for the link type's delete action, name=value, such as the remote admin's credentials (repeatable). A secret's value may be @FILE."
    )
    var args: [String] = []
    @Option(name: .customLong("arg-stdin"), help: ArgumentHelp("Read this argument's value from standard input.", valueName: "name"))
    var argStdin: String?

    func execute() async throws {
        let given = try ActionArguments(args: args, stdinName: argStdin)
        let host = try await common.openHost()
        let l = try await host.resolveLink(link)
        var pairs = given.pairs
        if !pairs.isEmpty || argStdin != nil,
            let declared = host.enabledPlugin(l.type)?.descriptor.actions.first(where: { $0.id == "delete" })
        {
            // No prompt: a delete without the remote's credentials is a choice, not a missing argument.
            pairs = try given.resolved(for: declared, prompt: nil)
        }
        if !yes {
            guard Output.stdinIsTerminal else {
                throw AppLinksError(.invalidInput, "Deleting '\(l.name)' needs confirmation; pass --yes when not on a terminal.")
            }
            FileHandle.standardError.write(Data("Delete the link '\(l.name)' (\(l.id))? [y/N] ".utf8))
            guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
                Output.note("Nothing deleted.")
                return
            }
        }
        let deleted = try await host.deleteLink(l.id, rawArgs: pairs)
        if common.json { return try Output.json(deleted) }
        print("Deleted '\(deleted.link.name)'." + (deleted.message.map { " " + $0 } ?? ""))
    }
}

struct StatusCommand: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Check links' status now and store the result.",
        discussion: """
            Exits \(StatusCommand.brokenExitCode) when any checked link is NETWORK_ERROR, ACCESS_ERROR, CONFIG_ERROR, \
            INCOMPATIBLE or UNKNOWN, so that a script or a monitoring check sees a broken link; 0 when every one is \
            CONNECTED, NON_ATLASSIAN or DISABLED.
            """)
    @OptionGroup var common: CommonOptions
    @Argument(help: "Links to check.", completion: HomeCompletions.links) var links: [String] = []
    @Flag(help: "Check every link.") var all = false
    @Flag(help: "Print only the links in an error category, for monitoring; the exit code tells the rest.") var quiet = false

    /// The exit code when a checked link is in an error category.
    static let brokenExitCode: Int32 = 8
    static let healthy: Set<StatusCategory> = [.connected, .nonAtlassian, .disabled]

    func execute() async throws {
        guard all != !links.isEmpty else {
            throw AppLinksError(
                .invalidInput, links.isEmpty ? "Name the links to check, or pass --all." : "Name links or pass --all, not both.")
        }
        let host = try await common.openHost()
        var targets: [Link] = []
        if all {
            targets = try await host.store.links()
        } else {
            for ref in links { targets.append(try await host.resolveLink(ref)) }
        }
        let bar = ProgressBar(enabled: !common.json && Output.stderrIsTerminal)
        let checked = try await host.checkStatus(of: targets) { done, total in bar.update(done, total) }
        await host.shutdown()
        let broken = checked.filter { !Self.healthy.contains($0.status.category) }
        if common.json {
            try await Output.json(quiet ? broken : checked)
        } else {
            if checked.isEmpty && !quiet { print("No links to check.") }
            for l in checked where !quiet || !Self.healthy.contains(l.status.category) {
                print("\(l.name): \(LinkTable.statusText(l.status)). \(l.status.message)")
            }
        }
        if !broken.isEmpty { throw ExitCode(Self.brokenExitCode) }
    }
}

struct MakePrimaryCommand: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-primary", abstract: "Make a link the primary one for its application type.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The link.", completion: HomeCompletions.links) var link: String

    func execute() async throws {
        let host = try await common.openHost()
        let l = try await host.makePrimary(link)
        if common.json { return try Output.json(l) }
        print("'\(l.name)' is now the primary \(l.application.name) link.")
    }
}

struct RelocateCommand: HostCommand {
    static let configuration = CommandConfiguration(commandName: "relocate", abstract: "Point a link at the remote's new URL.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The link.", completion: HomeCompletions.links) var link: String
    @Argument(help: "The remote's new URL.") var url: String

    func execute() async throws {
        let host = try await common.openHost()
        let moved = try await host.relocate(link, to: url)
        await host.shutdown()
        if common.json { return try Output.json(moved) }
        let l = moved.link
        print("'\(l.name)' now points at \(l.displayURL)." + (moved.message.map { " " + $0 } ?? ""))
        // Checked before returning: a new URL that does not answer is said at once, not at the next sweep.
        if ![.connected, .nonAtlassian].contains(l.status.category) {
            Output.note("Warning: its status is now \(l.status.category.rawValue): \(l.status.message)")
        }
    }
}

struct AuditCommand: HostCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Show who changed what, and when.")
    @OptionGroup var common: CommonOptions
    @Option(help: "Only events since this time: an ISO 8601 date, or an age such as 30m, 12h or 7d.") var since: String?
    @Option(help: "At most this many events (the newest).") var limit = 200

    static func parseSince(_ s: String, now: Date = Date()) throws -> Date {
        if let d = Timestamp.parse(s) { return d }
        if let d = try? Date(s, strategy: Date.ISO8601FormatStyle().year().month().day()) { return d }
        if let unit = s.last, let n = Double(s.dropLast()), n >= 0 {
            let mult: Double? = ["s": 1, "m": 60, "h": 3600, "d": 86400][String(unit)]
            if let mult { return now.addingTimeInterval(-n * mult) }
        }
        throw AppLinksError(
            .invalidInput, "--since '\(s)' is neither an ISO 8601 date (2026-11-29 or 2026-11-29T10:00:00Z) nor an age (30m, 12h, 7d).")
    }

    func execute() async throws {
        let from = try since.map { try Self.parseSince($0) }
        guard limit > 0 else { throw AppLinksError(.invalidInput, "--limit must be positive.") }
        let host = try await common.openHost()
        let events = try await host.store.auditEvents(since: from, limit: limit)
        if common.json { return try await Output.json(events) }
        if events.isEmpty { print("No audit events\(since.map { " since \($0)" } ?? "").") }
        for e in events {
            let detail = e.detail.isEmpty ? "" : " " + String(decoding: try JSONCoding.encode(e.detail), as: UTF8.self)
            print("\(Timestamp.format(e.at))  \(e.actor)  \(e.action)\(e.linkID.map { " link=\($0.prefix(8))" } ?? "")\(detail)")
        }
    }
}
