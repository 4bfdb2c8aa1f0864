import AppLinksCore
import AppLinksHost
import AppLinksStore
import AppLinksStorePostgres
import ArgumentParser
import Foundation

struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "The deployment's database: its schema, and moving it between stores.",
        subcommands: [DatabaseStatus.self, DatabaseMigrate.self])
}

struct DatabaseStatus: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "The database's schema version: applied migrations, those the next start applies, and any from a newer version.")
    @OptionGroup var common: CommonOptions

    func execute() async throws {
        let home = common.deploymentHome
        try home.requireExisting()
        let config = try await DeploymentConfig.load(home: home.url)
        let status =
            config.database.hasPrefix("postgres://") || config.database.hasPrefix("postgresql://")
            ? try await PostgresStore.schemaStatus(url: config.database)
            : try SQLiteStore.schemaStatus(path: try home.databasePath(config))
        if common.json {
            try Output.json(status)
            if !status.newer.isEmpty { throw ExitCode(69) }
            return
        }
        print("database  \(status.database)")
        print(
            "schema    \(status.applied.last ?? "none") (\(status.applied.count) migration\(status.applied.count == 1 ? "" : "s") applied)")
        print(status.pending.isEmpty ? "pending   none" : "pending   \(status.pending.joined(separator: ", ")) (applied at the next start)")
        if !status.newer.isEmpty {
            print("newer     \(status.newer.joined(separator: ", ")): a newer AppLinks migrated this database; this version refuses it")
            throw ExitCode(69)
        }
    }
}

struct DatabaseMigrate: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy this deployment from its SQLite file into an empty PostgreSQL database, and verify the copy.",
        discussion: """
            Every table is copied in one transaction, then read back and compared row count and sha256 against the
            source. The SQLite file is only read: it stays as it was, as a backup. Stop `applinks serve` first, so
            that nothing is written to the file during the copy; then point `database` in config.yaml (or
            APPLINKS_DATABASE_URL) at the new database and start the nodes.
            """)
    @OptionGroup var common: CommonOptions
    @Option(name: .long, help: "The target, postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE; it must hold no deployment yet.")
    var to: String

    func execute() async throws {
        let (home, _, path) = try await common.sqliteHome { url in
            "This deployment already uses \(url), not a SQLite file; there is nothing to migrate."
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw AppLinksError(.notFound, "There is no database file at \(path) to migrate.")
        }
        let source = try SQLiteStore(path: path, readOnly: true)
        let target = try await PostgresStore.connect(url: to)
        defer { target.close() }
        let reports = try await StoreMigration.migrate(from: source, to: target)
        struct Report: Encodable {
            var target: String
            var source: String
            var tables: [StoreMigration.TableReport]
        }
        if common.json { return try Output.json(Report(target: target.location, source: path, tables: reports)) }
        for r in reports {
            print(
                "\(r.table.padding(toLength: 14, withPad: " ", startingAt: 0)) \(String(r.rows).leftPadded(7)) rows  sha256 \(r.targetChecksum.prefix(16))…  matches"
            )
        }
        print(
            "Copied to \(target.location). The SQLite file \(path) is unchanged. Next: set database to the new URL in "
                + "\(home.url.appendingPathComponent(DeploymentConfig.fileName).path) (or APPLINKS_DATABASE_URL) and start the nodes.")
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
