import AppLinksCore
import AppLinksCrypto
import Foundation

/// The directory that holds one deployment: `config.yaml`, the SQLite database, `master.key` (0600) and
/// `plugins/`.
///
/// ```swift
/// let home = DeploymentHome.resolve(explicit: "/srv/applinks")
/// try await home.initialize(name: "Build server", baseURL: "https://ci.example.com", listen: "0.0.0.0:8080")
/// ```
public struct DeploymentHome: Sendable {
    public let url: URL

    public init(url: URL) { self.url = url.standardizedFileURL }

    /// `--home DIR`, else `APPLINKS_HOME`, else `./applinks-home`.
    public static func resolve(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> DeploymentHome {
        let path = explicit ?? environment["APPLINKS_HOME"] ?? "applinks-home"
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        return DeploymentHome(url: URL(fileURLWithPath: path, isDirectory: true, relativeTo: cwd))
    }

    public var configFile: URL { url.appendingPathComponent(DeploymentConfig.fileName) }
    public var masterKeyFile: URL { url.appendingPathComponent("master.key") }
    public var pluginDirectory: URL { url.appendingPathComponent("plugins", isDirectory: true) }
    /// The sha256 of each plugin file while it is unchanged (``PluginHashCache``); deleting it only costs a hash.
    public var pluginHashCacheFile: URL { url.appendingPathComponent("plugin-hashes.json") }

    public var exists: Bool { FileManager.default.fileExists(atPath: configFile.path) }

    /// Fails with the fix when the home has not been created.
    public func requireExisting() throws {
        guard exists else {
            throw AppLinksError(
                .homeMissing,
                "No AppLinks deployment at \(url.path) (no \(DeploymentConfig.fileName)). Create one with "
                    + "`applinks init --home \(url.path)`, or point --home or APPLINKS_HOME at an existing one.")
        }
    }

    public func databasePath(_ config: DeploymentConfig) throws -> String {
        guard config.database.hasPrefix("sqlite:") else {
            throw AppLinksError(.config, "database '\(Redaction.url(config.database))' is not supported by this build; use sqlite:FILE.")
        }
        let file = String(config.database.dropFirst("sqlite:".count))
        guard !file.isEmpty else { throw AppLinksError(.config, "database 'sqlite:' names no file; use sqlite:applinks.db.") }
        return file.hasPrefix("/") ? file : url.appendingPathComponent(file).path
    }

    /// Writes the config, the master key and the plugin directory. Refuses to touch an existing deployment.
    /// Returns true if it created the home, false if one was already there.
    @discardableResult
    public func create(name: String, baseURL: String, listen: String, masterKeyFromEnvironment: Bool) throws -> Bool {
        let fm = FileManager.default
        if exists { return false }
        do {
            try fm.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try fm.createDirectory(at: pluginDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            if !masterKeyFromEnvironment && !fm.fileExists(atPath: masterKeyFile.path) {
                try writePrivate(Data(SecureRandom.bytes(32).base64EncodedString().utf8), to: masterKeyFile)
            }
            // The config is written last: its presence is what marks a home as initialised.
            let tmp = url.appendingPathComponent(".config.yaml.tmp")
            try Data(DeploymentConfig.template(name: name, baseURL: baseURL, listen: listen).utf8).write(to: tmp)
            try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: tmp.path)
            if rename(tmp.path, configFile.path) != 0 { throw AppLinksError(.config, "rename failed: \(String(cString: strerror(errno)))") }
        } catch let e as AppLinksError {
            throw e
        } catch {
            throw AppLinksError(
                .config,
                "Cannot create the deployment at \(url.path): \(error.localizedDescription). Check that the "
                    + "parent directory exists and is writable.", cause: error)
        }
        return true
    }

    private func writePrivate(_ data: Data, to file: URL) throws {
        let fd = open(file.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw AppLinksError(.config, "Cannot create \(file.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else { throw AppLinksError(.config, "Cannot write \(file.path): \(String(cString: strerror(errno)))") }
    }

    /// The master key: `APPLINKS_MASTER_KEY` (base64) if set, else `master.key`, which must not be readable by others.
    public func masterKey(_ config: DeploymentConfig) throws -> Data {
        if let b64 = config.masterKeyBase64 {
            guard let key = Data(base64Encoded: b64.trimmingCharacters(in: .whitespacesAndNewlines)), key.count == 32 else {
                throw AppLinksError(
                    .config, "APPLINKS_MASTER_KEY is not the base64 of 32 bytes. Generate one with `openssl rand -base64 32`.")
            }
            return key
        }
        var st = stat()
        guard stat(masterKeyFile.path, &st) == 0 else {
            throw AppLinksError(
                .config,
                "The master key \(masterKeyFile.path) is missing, so sealed secrets cannot be opened. Restore it "
                    + "from your backup, or set APPLINKS_MASTER_KEY.")
        }
        guard st.st_mode & 0o077 == 0 else {
            throw AppLinksError(
                .config,
                "The master key \(masterKeyFile.path) is readable by other users (mode "
                    + String(st.st_mode & 0o777, radix: 8) + "). Fix it with `chmod 600 \(masterKeyFile.path)`.")
        }
        guard let text = try? String(contentsOf: masterKeyFile, encoding: .utf8),
            let key = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), key.count == 32
        else {
            throw AppLinksError(.config, "The master key \(masterKeyFile.path) is not the base64 of 32 bytes. Restore it from your backup.")
        }
        return key
    }
}
