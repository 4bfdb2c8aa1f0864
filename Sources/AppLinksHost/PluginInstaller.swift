import AppLinksCore
import AppLinksCrypto
import AppLinksPluginRuntime
import Foundation
import Logging

/// Installs a plugin file into a deployment's `plugins/` directory: checked first (its hash, then a trial load
/// that validates the handshake and descriptor), copied with safe permissions, and pinned to its sha256 in
/// `plugins/pins`, so that a file changed afterwards is refused at load.
public struct PluginInstaller: Sendable {
    public let home: DeploymentHome
    public let logger: Logger

    public init(home: DeploymentHome, logger: Logger) {
        self.home = home
        self.logger = logger
    }

    public struct Installed: Sendable, Encodable {
        public var id: String
        public var name: String?
        public var version: String?
        public var path: String
        public var sha256: String
    }

    public func install(_ file: URL, expectedSHA256: String?) throws -> Installed {
        let fm = FileManager.default
        guard let bytes = fm.contents(atPath: file.path) else {
            throw AppLinksError(.notFound, "Cannot read \(file.path): check the path and its permissions.")
        }
        let hash = Digest.sha256(bytes).hexString
        if let expected = expectedSHA256?.lowercased(), expected != hash {
            throw AppLinksError(
                .invalidInput, "\(file.lastPathComponent) has sha256 \(hash), not the expected \(expected); nothing was installed.")
        }
        // The trial load runs in a runner process: a vendor's library is not code to run inside the CLI, and a
        // crash while it loads costs the runner, not the install.
        let (loaded, records) = PluginLoader(searchPaths: [file], executableDirectory: nil, isolated: ["*"], logger: logger)
            .loadAll(enabled: [:])
        defer { for plugin in loaded { plugin.shutdown() } }
        guard let plugin = loaded.first, let record = records.first else {
            let why = records.first?.reason ?? "it is not a plugin"
            throw AppLinksError(.pluginRefused, "\(file.lastPathComponent) cannot be installed: \(why) Nothing was installed.")
        }
        guard plugin.sha256 == hash else {
            throw AppLinksError(
                .pluginRefused, "\(file.lastPathComponent) changed while it was being checked; nothing was installed. Try again.")
        }
        let target = home.pluginDirectory.appendingPathComponent("libapplinks-\(plugin.id).so")
        let temporary = home.pluginDirectory.appendingPathComponent(".install-\(UUID().uuidString)")
        // Readable by the host's user and no one may change it but its owner: the loader refuses anything looser.
        guard fm.createFile(atPath: temporary.path, contents: bytes, attributes: [.posixPermissions: 0o644]) else {
            throw AppLinksError(.invalidInput, "Cannot write into \(home.pluginDirectory.path): check its permissions.")
        }
        var pins = home.installedPins()
        pins[plugin.id] = hash
        do {
            try home.writeInstalledPins(pins)
            guard rename(temporary.path, target.path) == 0 else {
                throw AppLinksError(
                    .invalidInput, "Cannot move the plugin into place at \(target.path): \(String(cString: strerror(errno))).")
            }
        } catch {
            try? fm.removeItem(at: temporary)
            throw error
        }
        return Installed(id: plugin.id, name: record.name, version: record.version, path: target.path, sha256: hash)
    }
}

extension DeploymentHome {
    /// `plugins/pins`: one `ID=SHA256` line per installed plugin, written by `applinks plugins install`.
    public var pinsFile: URL { pluginDirectory.appendingPathComponent("pins") }

    public func installedPins() -> [String: String] {
        guard let text = try? String(contentsOf: pinsFile, encoding: .utf8) else { return [:] }
        var pins: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, LinkTypeDescriptor.isValidID(parts[0]), parts[1].wholeMatch(of: /[0-9a-f]{64}/) != nil {
                pins[parts[0]] = parts[1]
            }
        }
        return pins
    }

    func writeInstalledPins(_ pins: [String: String]) throws {
        let text = pins.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined()
        let temporary = pinsFile.appendingPathExtension("new")
        guard FileManager.default.createFile(atPath: temporary.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o644]),
            rename(temporary.path, pinsFile.path) == 0
        else {
            throw AppLinksError(.invalidInput, "Cannot write \(pinsFile.path): check the plugin directory's permissions.")
        }
    }
}
