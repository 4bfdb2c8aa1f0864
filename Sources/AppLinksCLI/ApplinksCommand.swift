import AppLinksCore
import AppLinksHost
import AppLinksJSON
import ArgumentParser
import Foundation
import Logging

/// The `applinks` command. `main.swift` only calls `ApplinksCommand.main()`.
public struct ApplinksCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "applinks",
        abstract: "Link this deployment to other applications.",
        version: BuildInfo.text,
        subcommands: [
            InitCommand.self, ServeCommand.self, ListCommand.self, ShowCommand.self, CreateCommand.self, EditCommand.self,
            DeleteCommand.self,
            StatusCommand.self, ActionsCommand.self, ActionCommand.self, MakePrimaryCommand.self, RelocateCommand.self,
            PluginsCommand.self, AuditCommand.self, UsersCommand.self, TokensCommand.self, DatabaseCommand.self, DraftsCommand.self,
            ConfigCommand.self, BackupCommand.self, RestoreCommand.self, CompletionCommand.self, DoctorCommand.self,
        ])

    public init() {}
}

/// Options every command takes.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "The deployment home (default: $APPLINKS_HOME, else ./applinks-home).")
    var home: String?

    @Flag(name: .long, help: "Print JSON (snake_case) instead of text.")
    var json = false

    var deploymentHome: DeploymentHome { DeploymentHome.resolve(explicit: home) }

    /// The home, its config and its SQLite file; a deployment on PostgreSQL gets `refusal` with its redacted URL.
    func sqliteHome(refusal: (String) -> String) async throws -> (DeploymentHome, DeploymentConfig, String) {
        let home = deploymentHome
        try home.requireExisting()
        let config = try await DeploymentConfig.load(home: home.url)
        guard config.database.hasPrefix("sqlite:") else {
            throw AppLinksError(.invalidInput, refusal(Redaction.url(config.database)))
        }
        return (home, config, try home.databasePath(config))
    }

    func openHost() async throws -> Deployment {
        try await Deployment.open(home: deploymentHome, stores: .standard, logger: CLILogging.logger)
    }
}

enum CLILogging {
    /// Plugins' and the loader's log lines go to stderr; quiet unless APPLINKS_LOG_LEVEL asks for more.
    static let logger: Logger = {
        let level = ProcessInfo.processInfo.environment["APPLINKS_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .error
        var l = Logger(label: "applinks") { StreamLogHandler.standardError(label: $0) }
        l.logLevel = level
        return l
    }()
}

/// A command body with the CLI's error handling: the message goes to stderr (and as JSON to stdout with
/// `--json`), the exit code says what kind of failure it was, and no stack trace is ever shown.
protocol HostCommand: AsyncParsableCommand {
    var common: CommonOptions { get }
    func execute() async throws
}

extension HostCommand {
    mutating func run() async throws {
        do {
            try await execute()
        } catch let e as AppLinksError {
            Output.error(code: e.code.description, message: e.message, json: common.json)
            throw ExitCode(Output.exitCode(for: e.code))
        } catch let e as ExitCode {
            throw e
        } catch {
            Output.error(code: "internal", message: "\(error)", json: common.json)
            throw ExitCode(1)
        }
    }
}

enum Output {
    static func exitCode(for code: AppLinksError.Code) -> Int32 {
        switch code {
        case .invalidInput, .ambiguous, .config: return 2
        case .homeMissing: return 3
        case .notFound: return 4
        case .conflict: return 5
        case .wizardFields: return 6
        case .pluginRefused, .pluginDisabled, .pluginFailed, .network: return 7
        case .remoteRefused: return 9
        case .storage: return 69
        case .timeout: return 75
        case .interrupted: return 130
        default: return 1
        }
    }

    /// One stream per mode: with `--json` the error is JSON on stdout, where the caller reads the answer;
    /// otherwise it is text on stderr.
    static func error(code: String, message: String, json: Bool) {
        if json {
            struct E: Encodable { var error: PluginErrorBody }
            if let d = try? JSONCoding.encode(E(error: PluginErrorBody(code: code, message: message))) {
                print(String(decoding: d, as: UTF8.self))
                return
            }
        }
        FileHandle.standardError.write(Data("applinks: error: \(message)\n".utf8))
    }

    static func json<T: Encodable>(_ value: T) throws {
        print(String(decoding: try JSONCoding.encode(value, pretty: true), as: UTF8.self))
    }

    /// Links go through their JSON value and the fast writer: same bytes as the generic path, a tenth of the time.
    static func json(_ links: [Link]) async throws {
        FileHandle.standardOutput.write(await JSONCoding.prettyArray(links) { $0.jsonValue } + Data("\n".utf8))
    }

    static func json<T: Encodable & Sendable>(_ values: [T]) async throws {
        FileHandle.standardOutput.write(try await JSONCoding.encodeArray(values, pretty: true) + Data("\n".utf8))
    }

    static func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
    static var stdinIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }

    /// Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
    static var useColor: Bool {
        let env = ProcessInfo.processInfo.environment
        return stdoutIsTerminal && env["NO_COLOR"].map(\.isEmpty) ?? true && env["TERM"] != "dumb"
    }
}

/// Parses repeated `key=value` options.
func keyValues(_ items: [String], option: String) throws -> [(String, String)] {
    try items.map { item in
        guard let eq = item.firstIndex(of: "="), eq > item.startIndex else {
            throw AppLinksError(.invalidInput, "\(option) '\(item)' is not KEY=VALUE.")
        }
        return (String(item[..<eq]), String(item[item.index(after: eq)...]))
    }
}
