import AppLinksCore
import AppLinksHost
import AppLinksJSON
import AppLinksStore
import AppLinksStorePostgres
import ArgumentParser
import Foundation

struct BackupCommand: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the deployment's database to a file, consistently, while the server runs.",
        discussion: """
            The file is a SQLite database, readable by its owner only: every link, secret (sealed), user, token, \
            draft and audit event. It does not hold the master key, which unseals the secrets, unless \
            --with-master-key is given: keep such a file as safe as the key itself. A PostgreSQL deployment is \
            backed up with pg_dump (the command says how).
            """)
    @OptionGroup var common: CommonOptions
    @Option(name: .long, help: "The backup file to create; an existing file is never replaced.") var to: String
    @Flag(name: .long, help: "Include the master key, so that the backup restores without the original master.key.")
    var withMasterKey = false

    func execute() async throws {
        let (home, config, path) = try await common.sqliteHome { url in
            "This deployment is on PostgreSQL (\(url)). Back it up with PostgreSQL's own tool, which takes a consistent snapshot "
                + "while the nodes run: pg_dump --format=custom --file BACKUP.dump 'DATABASE_URL'; restore into an empty database "
                + "with pg_restore --dbname 'NEW_DATABASE_URL' BACKUP.dump. Keep master.key (or APPLINKS_MASTER_KEY) with it."
        }
        let store = try SQLiteStore(path: path)
        defer { store.close() }
        let status = try SQLiteStore.schemaStatus(path: path)
        var facts = [
            "format": "1", "applinks_version": Deployment.version, "taken_at": Timestamp.format(Date()), "name": config.name,
            "base_url": config.baseURL, "schema": status.applied.last ?? "",
        ]
        if withMasterKey { facts["master_key"] = try home.masterKey(config).base64EncodedString() }
        let target = URL(fileURLWithPath: to).standardizedFileURL.path
        try store.backup(to: target, facts: facts)
        let links = try await store.links().count
        if common.json {
            return try Output.json(["file": target, "links": String(links), "master_key": withMasterKey ? "included" : "not included"])
        }
        print("Backed up \(links) link\(links == 1 ? "" : "s") to \(target).")
        print(
            withMasterKey
                ? "It includes the master key: keep it as safe as the key itself."
                : "It does not include the master key: keep \(home.masterKeyFile.path) (or APPLINKS_MASTER_KEY) to restore it.")
    }
}

struct RestoreCommand: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup into a new home, or with --to into an empty PostgreSQL database.",
        discussion: """
            The home (--home, or $APPLINKS_HOME) must not exist yet: a restore never replaces a deployment. The master \
            key comes from the backup if it holds one, else from APPLINKS_MASTER_KEY or --master-key-file, and must \
            open the backup's secrets. A backup from a newer version of AppLinks is refused.
            """)
    @OptionGroup var common: CommonOptions
    @Option(name: .long, help: "The backup file, made by `applinks backup`.") var from: String
    @Option(name: .long, help: "Restore into this empty PostgreSQL database instead of a new home.") var to: String?
    @Option(name: .long, help: "The original deployment's master.key, when the backup does not include it.")
    var masterKeyFile: String?

    func execute() async throws {
        let backup = URL(fileURLWithPath: from).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: backup) else { throw AppLinksError(.notFound, "There is no backup at \(backup).") }
        let facts = try SQLiteStore.backupFacts(path: backup)
        let status = try SQLiteStore.schemaStatus(path: backup)
        guard status.newer.isEmpty else {
            throw AppLinksError(
                .invalidInput,
                "\(backup) comes from a newer AppLinks (\(facts["applinks_version"] ?? "unknown version"); schema "
                    + "\(status.newer.joined(separator: ", "))); this version (\(Deployment.version)) cannot read it. Restore it with that version or later."
            )
        }
        if let to {
            let target = try await PostgresStore.connect(url: to)
            defer { target.close() }
            let reports = try await StoreMigration.migrate(from: try SQLiteStore(path: backup, readOnly: true), to: target)
            print("Restored \(reports.count) tables into \(target.location); each matches the backup (row count and sha256).")
            return
        }
        let home = common.deploymentHome
        let fm = FileManager.default
        if home.exists || ((try? fm.contentsOfDirectory(atPath: home.url.path))?.isEmpty == false) {
            throw AppLinksError(
                .conflict, "\(home.url.path) is not empty; a restore goes into a new home only. Choose another with --home DIR.")
        }
        let environmentKey = ProcessInfo.processInfo.environment["APPLINKS_MASTER_KEY"]
        var key: String?
        if let k = facts["master_key"] {
            key = k
        } else if let file = masterKeyFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw AppLinksError(.notFound, "Cannot read the master key file \(file).")
            }
            key = text.trimmingCharacters(in: .whitespacesAndNewlines)
        } else if environmentKey == nil {
            throw AppLinksError(
                .invalidInput,
                "\(backup) does not include the master key, which its secrets need. Give the original deployment's master.key with "
                    + "--master-key-file FILE, or set APPLINKS_MASTER_KEY; nothing was restored.")
        }
        do {
            try fm.createDirectory(at: home.url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            if let key {
                guard fm.createFile(atPath: home.masterKeyFile.path, contents: Data(key.utf8), attributes: [.posixPermissions: 0o600])
                else { throw AppLinksError(.config, "Cannot write \(home.masterKeyFile.path).") }
            }
            try home.create(
                name: facts["name"] ?? "AppLinks", baseURL: facts["base_url"] ?? "http://127.0.0.1:8080", listen: "127.0.0.1:8080",
                masterKeyFromEnvironment: key == nil)
            let config = try await DeploymentConfig.load(home: home.url)
            try SQLiteStore.restore(backup: backup, to: try home.databasePath(config))
            // The proof that the key fits: opening refuses a master key that does not open the backup's secrets.
            let deployment = try await Deployment.open(home: home, stores: .standard, logger: CLILogging.logger, actor: "restore")
            let links = try await deployment.store.links().count
            await deployment.shutdown()
            print("Restored \(links) link\(links == 1 ? "" : "s") from \(backup) into \(home.url.path).")
        } catch {
            // Nothing half-made is left behind: the home did not exist before.
            try? fm.removeItem(at: home.url)
            throw error
        }
    }
}
