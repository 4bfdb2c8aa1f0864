import AppLinksCore
import AppLinksCrypto
import AppLinksPluginABI
import AppLinksPluginIPC
import Foundation
import Logging

/// Finds link-type plugins, checks that they may be trusted, opens them and performs the ABI handshake.
///
/// A refusal never stops the other plugins: each file ends as a ``PluginRecord`` that is loaded, disabled
/// or refused with the reason and the fix. Libraries are never closed (Swift code cannot be unloaded safely).
public struct PluginLoader: Sendable {
    public static let hostABIVersion = PluginLibrary.hostABIVersion
    /// Files in the executable's directory are plugins only if named like this; configured paths take any `.so`.
    public static let executableDirectoryPrefix = "libAppLinksLinkType"

    /// Path prefixes outside `/plugins/<id>/` that this host lets a link type claim, because remote products
    /// expect them there: Atlassian's OAuth 1.0 endpoints, the OAuth 2.0 provider and client, and the
    /// authorization server metadata (RFC 8414). When two types claim the same route, the first loaded keeps it.
    public static let sharedRoutePrefixes = [
        "/plugins/servlet/oauth/", "/rest/oauth2/latest/", "/rest/oauth2-client/latest/",
        "/.well-known/oauth-authorization-server",
    ]

    public var searchPaths: [URL]
    public var executableDirectory: URL?
    public var pins: [String: String]
    public var requirePins: Bool
    public var logger: Logger
    /// The link types that run in their own runner process, by id; `*` means all of them.
    public var isolated: Set<String>
    /// The runner executable for isolated plugins.
    public var runnerPath: String
    /// Where the hashes of unchanged files are remembered between processes; nil hashes every file every time.
    public var hashes: PluginHashCache?
    /// For tests only: runs between the file's check and its loading, to prove that a swap in that gap is caught.
    public var afterVerifyForTesting: (@Sendable (String) -> Void)?

    public init(
        searchPaths: [URL], executableDirectory: URL?, pins: [String: String] = [:], requirePins: Bool = false,
        isolated: Set<String> = [], runnerPath: String? = nil, hashes: PluginHashCache? = nil, logger: Logger
    ) {
        self.hashes = hashes
        self.searchPaths = searchPaths
        self.executableDirectory = executableDirectory
        self.pins = pins
        self.requirePins = requirePins
        self.isolated = isolated
        self.runnerPath = runnerPath ?? Self.defaultRunnerPath
        self.logger = logger
    }

    /// `applinks-plugin-runner` beside the running executable.
    public static var defaultRunnerPath: String {
        (currentExecutableDirectory ?? URL(fileURLWithPath: "/usr/local/bin")).appendingPathComponent(PluginProcess.runnerName).path
    }

    /// The directory of the running executable, where `swift build` puts the link-type libraries.
    public static var currentExecutableDirectory: URL? {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        return URL(fileURLWithPath: path).deletingLastPathComponent()
    }

    /// `PREFIX/lib/applinks/plugins` for an executable in `PREFIX/bin`, where `Scripts/install.sh` puts the
    /// bundled link types.
    public static func installedPluginDirectory(executableDirectory: URL) -> URL {
        executableDirectory.deletingLastPathComponent().appendingPathComponent("lib/applinks/plugins")
    }

    /// Candidate files in search order, without duplicates.
    public func candidates() -> [URL] {
        var out: [URL] = []
        var seen = Set<String>()
        func add(_ u: URL) {
            let real = u.resolvingSymlinksInPath().path
            if seen.insert(real).inserted { out.append(u) }
        }
        let fm = FileManager.default
        for path in searchPaths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path.path, isDirectory: &isDir) else {
                logger.warning("plugin path does not exist", metadata: ["path": "\(path.path)"])
                continue
            }
            if !isDir.boolValue { add(path); continue }
            let names = (try? fm.contentsOfDirectory(atPath: path.path)) ?? []
            for n in names.sorted() where n.hasSuffix(".so") { add(path.appendingPathComponent(n)) }
        }
        if let exe = executableDirectory {
            // Beside the executable as `swift build` leaves them, and in an installed tree's PREFIX/lib/applinks/plugins.
            for dir in [exe, Self.installedPluginDirectory(executableDirectory: exe)] {
                let names = (try? fm.contentsOfDirectory(atPath: dir.path)) ?? []
                for n in names.sorted() where n.hasPrefix(Self.executableDirectoryPrefix) && n.hasSuffix(".so") {
                    add(dir.appendingPathComponent(n))
                }
            }
        }
        return out
    }

    /// Loads every candidate. `enabled` says, per link-type id, whether this deployment enabled it (default yes);
    /// a disabled plugin is opened and validated (so its id is known) but returned for the caller never to start.
    public func loadAll(enabled: [String: Bool]) -> (plugins: [LoadedPlugin], records: [PluginRecord]) {
        var loaded: [LoadedPlugin] = []
        var records: [PluginRecord] = []
        var byID: [String: String] = [:]
        for file in candidates() {
            var record = PluginRecord(path: file.path, enabled: true, state: .refused)
            let start = ContinuousClock.now
            do {
                let (plugin, hash) = try load(file, record: &record)
                if let other = byID[plugin.id] {
                    plugin.shutdown()
                    throw refusal(
                        "a plugin with id '\(plugin.id)' is already loaded from \(other)",
                        fix: "remove one of the two files, or give one of them another id")
                }
                byID[plugin.id] = file.path
                record.sha256 = hash
                record.enabled = enabled[plugin.id] ?? true
                record.state = record.enabled ? .loaded : .disabled
                record.isolation = plugin.isolated ? "process" : "in-process"
                loaded.append(plugin)
            } catch let e as AppLinksError {
                record.state = .refused
                record.reason = e.message
                logger.error("plugin refused", metadata: ["path": "\(file.path)", "reason": "\(e.message)"])
            } catch {
                record.state = .refused
                record.reason = "\(error)"
            }
            let elapsed = ContinuousClock.now - start
            record.loadMs = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
            records.append(record)
        }
        hashes?.save()
        return (loaded, records)
    }

    private func refusal(_ reason: String, fix: String) -> AppLinksError {
        AppLinksError(.pluginRefused, "\(reason). Fix: \(fix).")
    }

    /// Opens one file. Fills `record` with what it learns on the way, so a refusal still reports the id.
    ///
    /// The file is opened once: its owner and mode are checked, its bytes hashed and pinned, and it is loaded,
    /// all through that one descriptor, so a file swapped in after the check is never what runs.
    func load(_ file: URL, record: inout PluginRecord) throws -> (LoadedPlugin, String) {
        let path = file.resolvingSymlinksInPath().path
        try checkTrust(path)
        let library = try VerifiedLibrary(path: path, hashes: hashes)
        let hash = library.sha256
        if requirePins && !pins.values.contains(hash) {
            throw refusal(
                "plugins.require_pins is on and no pin matches this file's sha256 \(hash)",
                fix: "add ID=\(hash) to plugins.pins if you trust this file")
        }
        afterVerifyForTesting?(path)
        try library.checkUnchanged()
        if !isolated.isEmpty { return (try loadThroughRunner(library, record: &record), hash) }
        return (try openInProcess(library, record: &record), hash)
    }

    /// Opens a file that passed the trust, format and pin checks in this process.
    private func openInProcess(_ library: VerifiedLibrary, record: inout PluginRecord) throws -> LoadedPlugin {
        let (path, hash) = (library.path, library.sha256)
        let handle: UnsafeMutableRawPointer
        let raw: UnsafePointer<applinks_plugin_descriptor>
        do {
            (handle, raw) = try PluginLibrary.open(library.loadPath)
        } catch {
            throw refusal(error.reason, fix: error.fix)
        }
        let (descriptor, abi) = try judge(DescriptorFields(raw), hash: hash, record: &record)
        var natives: [String: NativeAction] = [:]
        for action in descriptor.actions where action.cFunction != nil {
            switch NativeAction.resolve(action, in: handle) {
            case .resolved(let native): natives[action.id] = native
            case .refused(let why):
                throw refusal(why, fix: "make the action's c_function match its params and export the function")
            }
        }
        return LoadedPlugin(
            backend: .library(PluginInstance(raw)), descriptor: descriptor, path: path, abiVersion: abi, sha256: hash, logger: logger,
            natives: natives)
    }

    /// Opens the library in a runner process, so that not even its loading runs in the host. A link type that
    /// is not to be isolated is then opened here as usual.
    private func loadThroughRunner(_ library: VerifiedLibrary, record: inout PluginRecord) throws -> LoadedPlugin {
        let (path, hash) = (library.path, library.sha256)
        let (process, hello) = try PluginProcess.start(runner: runnerPath, library: library, logger: logger)
        var keep = false
        defer { if !keep { process.stop() } }
        guard let fields = hello.fields else {
            throw refusal(hello.refusal ?? "the plugin runner could not open it", fix: hello.fix ?? "run `applinks plugins verify \(path)`")
        }
        let (descriptor, abi) = try judge(fields, hash: hash, record: &record)
        guard isolated.contains(descriptor.id) || isolated.contains("*") else {
            return try openInProcess(library, record: &record)
        }
        if let why = hello.nativeRefusals.first {
            throw refusal(why, fix: "make the action's c_function match its params and export the function")
        }
        var natives: [String: NativeAction] = [:]
        for action in descriptor.actions where action.cFunction != nil {
            switch NativeAction.resolve(action, in: nil) {
            case .resolved(let native): natives[action.id] = native
            case .refused(let why): throw refusal(why, fix: "make the action's c_function match its params and export the function")
            }
        }
        keep = true
        return LoadedPlugin(
            backend: .process(process), descriptor: descriptor, path: path, abiVersion: abi, sha256: hash, logger: logger, natives: natives)
    }

    /// Checks a descriptor table, wherever it was read, and decodes its JSON.
    private func judge(_ fields: DescriptorFields, hash: String, record: inout PluginRecord) throws -> (LinkTypeDescriptor, UInt32) {
        let abi = fields.abiVersion
        let structSize = fields.structSize
        record.abiVersion = Self.format(abi)
        guard abi >> 16 == Self.hostABIVersion >> 16 else {
            throw refusal(
                "the plugin was built for ABI \(Self.format(abi)) but this host speaks ABI \(Self.format(Self.hostABIVersion)); "
                    + "the major versions differ", fix: "rebuild the plugin against this host's sdk/include/applinks/plugin.h")
        }
        guard abi & 0xFFFF <= Self.hostABIVersion & 0xFFFF else {
            throw refusal(
                "the plugin needs ABI \(Self.format(abi)), newer than this host's \(Self.format(Self.hostABIVersion))",
                fix: "upgrade AppLinks, or install an older build of the plugin")
        }
        guard Int(structSize) >= Self.v1DescriptorSize else {
            throw refusal(
                "its descriptor declares struct_size \(structSize), smaller than the v1.0 descriptor (\(Self.v1DescriptorSize) bytes)",
                fix: "set struct_size to sizeof(applinks_plugin_descriptor)")
        }
        guard let id = fields.id, let name = fields.name, let version = fields.version, let vendor = fields.vendor,
            let jsonText = fields.descriptorJSON
        else {
            throw refusal("its descriptor leaves id, name, version, vendor or descriptor_json NULL", fix: "set every string field")
        }
        guard fields.complete else {
            throw refusal("its descriptor leaves a function pointer NULL", fix: "set all seven functions of the v1 table")
        }
        record.id = id
        record.name = name
        record.version = version
        record.vendor = vendor
        let json = Data(jsonText.utf8)
        let descriptor: LinkTypeDescriptor
        do {
            descriptor = try LinkTypeDescriptor.parse(json, expectedID: id, sharedRoutePrefixes: Self.sharedRoutePrefixes)
        } catch let e as AppLinksError {
            throw refusal(
                "its descriptor_json breaks sdk/schema/descriptor.schema.json: \(e.message)",
                fix: "correct the descriptor (`applinks plugins verify FILE` shows every problem)")
        }
        if let pin = pins[id], pin != hash {
            throw refusal(
                "its sha256 \(hash) does not match the pin \(pin) for '\(id)'",
                fix: "install the pinned file, or update plugins.pins if this file is the one you trust")
        }
        // A 1.1 plugin cannot mean a calling convention that 1.2 introduced.
        if abi & 0xFFFF < 2, let action = descriptor.actions.first(where: { $0.cFunction?.withLink == true }) {
            throw refusal(
                "the action \(action.id) declares with_link, which needs ABI 1.2, but the plugin was built for ABI \(Self.format(abi))",
                fix: "build it against the ABI 1.2 header (sdk/include/applinks/plugin.h)")
        }
        return (descriptor, abi)
    }

    /// Refuses a file, or any directory above it, that another user could replace (see ``PluginTrust``).
    func checkTrust(_ path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw refusal("it cannot be inspected: \(String(cString: strerror(errno)))", fix: "check the path")
        }
        try PluginTrust.checkFile(st, path: path)
        try PluginTrust.checkDirectories(of: path)
    }

    /// The least `struct_size` a v1 plugin may declare: every field up to and including `free_buffer`.
    static let v1DescriptorSize = DescriptorFields.v1Size

    static func format(_ v: UInt32) -> String { "\(v >> 16).\(v & 0xFFFF)" }

    static func describe(_ error: any Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        func path(_ c: [any CodingKey]) -> String { c.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined() }
        switch e {
        case .keyNotFound(let k, let ctx): return "missing \(path(ctx.codingPath + [k]))"
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx): return "wrong type at \(path(ctx.codingPath)): \(ctx.debugDescription)"
        case .dataCorrupted(let ctx): return "\(path(ctx.codingPath)) \(ctx.debugDescription)"
        @unknown default: return "\(e)"
        }
    }
}
