import AppLinksCore
import AppLinksCrypto
import Foundation
import TestSupport
import Testing

@Suite("applinks db migrate")
struct DatabaseMigrateTests {
    @Test("a database that a newer AppLinks migrated is refused, untouched, on SQLite and on PostgreSQL")
    func newerSchema() async throws {
        let cli = try CLI.initialized()
        try cli.createLink("Jira")
        let file = cli.home.appendingPathComponent("applinks.db").path
        let current = try #require(try cli.run("db", "status", "--json").jsonObject)
        #expect((current["applied"] as? [String])?.first == "0001-initial" && (current["pending"] as? [String]) == [], "\(current)")
        #expect((current["newer"] as? [String]) == [])
        let sqlite = try runCommand(
            URL(fileURLWithPath: "/usr/bin/env"),
            [
                "python3", "-c",
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"INSERT INTO grdb_migrations VALUES ('9999-future')\"); c.commit()",
                file,
            ])
        #expect(sqlite.status == 0, "\(sqlite.stderr)")
        let refused = try cli.run("list")
        #expect(refused.status == 69 && refused.stderr.contains("a newer AppLinks has migrated it (9999-future"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("Check that the file"), "\(refused.stderr)")
        let status = try cli.run("db", "status")
        #expect(status.status == 69 && status.stdout.contains("newer     9999-future"), "\(status)")

        let url = try await TestPostgres.freshDatabase()
        let onPG = ["APPLINKS_DATABASE_URL": url]
        let empty = try #require(try cli.run("db", "status", "--json", env: onPG).jsonObject)
        #expect((empty["applied"] as? [String]) == [] && (empty["pending"] as? [String])?.first == "1-initial", "\(empty)")
        #expect(try cli.run("plugins", "list", env: onPG).status == 0, "an empty database is migrated")
        #expect((try cli.run("db", "status", "--json", env: onPG).jsonObject?["pending"] as? [String]) == [])
        _ = try TestPostgres.psql(url, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)")
        let pg = try cli.run("list", env: onPG)
        #expect(pg.status == 69 && pg.stderr.contains("a newer AppLinks has migrated it (schema versions 9999"), "\(pg.stderr)")
        #expect((try cli.run("db", "status", "--json", env: onPG).jsonObject?["newer"] as? [String]) == ["9999"])
    }

    @Test("moves a populated SQLite deployment to PostgreSQL, verifies every table, and leaves the file untouched")
    func migrate() async throws {
        let cli = try CLI.initialized()
        // Links with sealed secrets, a user and tokens, a disabled link type, plugin data, and the audit log.
        try cli.createLink("Jira", url: "https://jira.example.com")
        try cli.createLink("Confluence ü", url: "https://wiki.example.com")
        #expect(try cli.run("users", "add", "alice", "--admin", "--password-stdin", stdin: "correct horse battery\n").status == 0)
        #expect(try cli.run("tokens", "create", "--user", "alice", "--name", "ci").status == 0)
        #expect(
            try cli.run("action", "Jira", "register-consumer", "--arg", "key=consumer", "--arg", "name=C", "--arg", "secret=s").status == 0)
        #expect(try cli.run("plugins", "disable", "fixture").status == 0)
        #expect(try cli.run("plugins", "enable", "fixture").status == 0)
        let beforeList = try cli.run("list", "--json").stdout
        // Python's own sqlite3 dumps the file, as an outside judge of what it holds.
        let file = cli.home.appendingPathComponent("applinks.db").path
        let dump = {
            try runCommand(
                URL(fileURLWithPath: "/usr/bin/env"),
                ["python3", "-c", "import sqlite3,sys; print('\\n'.join(sqlite3.connect(sys.argv[1]).iterdump()))", file]
            ).stdout
        }
        let before = try dump()
        let bytes = Digest.sha256(try Data(contentsOf: URL(fileURLWithPath: file))).hexString
        #expect(before.contains("INSERT INTO \"links\"") && before.count > 1000)

        let url = try await TestPostgres.freshDatabase()
        let r = try cli.run("db", "migrate", "--to", url, "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let report = try #require(r.jsonObject, "\(r.stdout)")
        let tables = try #require(report["tables"] as? [[String: Any]])
        #expect(tables.count == 9)
        for t in tables { #expect(t["source_sha256"] as? String == t["target_sha256"] as? String, "\(t)") }
        let rows = Dictionary(uniqueKeysWithValues: tables.map { ($0["table"] as? String ?? "", $0["rows"] as? Int ?? -1) })
        #expect(rows["links"] == 2 && rows["users"] == 1 && rows["tokens"] == 1 && rows["instance"] == 1, "\(rows)")
        #expect((rows["link_secrets"] ?? 0) >= 2 && (rows["plugin_kv"] ?? 0) >= 1 && (rows["audit"] ?? 0) >= 6, "\(rows)")
        #expect(try TestPostgres.psql(url, "SELECT count(*) FROM audit") == "\(rows["audit"] ?? -1)\n")

        // The same deployment on PostgreSQL: the same links, secrets that still open, the same admin token.
        let onPG = ["APPLINKS_DATABASE_URL": url]
        #expect(try cli.run("list", "--json", env: onPG).stdout == beforeList)
        let status = try cli.run("status", "Jira", "--json", env: onPG)
        #expect(status.status == 0 && status.stdout.contains("CONNECTED"), "\(status.stdout) \(status.stderr)")
        #expect(try cli.run("tokens", "list", "--json", env: onPG).stdout.contains("\"ci\""))
        let audit = try cli.run("audit", "--json", env: onPG)
        #expect(audit.stdout.contains("link-type-disable"), "\(audit.stdout)")

        #expect(try dump() == before, "the SQLite file's data changed")
        #expect(Digest.sha256(try Data(contentsOf: URL(fileURLWithPath: file))).hexString == bytes, "the SQLite file's bytes changed")
        // A second run into the now populated database is refused and changes nothing.
        let again = try cli.run("db", "migrate", "--to", url)
        #expect(again.status == 5 && again.stderr.contains("already holds AppLinks data"), "\(again.stderr)")
        // So is a database that holds another application's tables: the README's "empty database" means empty.
        let shared = try await TestPostgres.freshDatabase()
        _ = try TestPostgres.psql(shared, "CREATE TABLE invoices (id int); INSERT INTO invoices VALUES (1)")
        let foreign = try cli.run("db", "migrate", "--to", shared)
        #expect(foreign.status == 5 && foreign.stderr.contains("holds other tables (invoices)"), "\(foreign.stderr)")
        #expect(try TestPostgres.psql(shared, "SELECT count(*) FROM invoices") == "1\n")
        let refused = try cli.run("db", "migrate", "--to", "postgres://applinks:s3cret-pw@127.0.0.1:1/x")
        #expect(refused.status != 0 && refused.stderr.contains("Cannot connect"), "\(refused.stderr)")
        // A password in the URL never reaches the output, whatever went wrong.
        for url in [
            "postgres://applinks:s3cret-pw@127.0.0.1:1/x", "mysql://applinks:s3cret-pw@127.0.0.1/x", "postgres://u:s3cret-pw@h:99999999/x",
        ] {
            let r = try cli.run("db", "migrate", "--to", url)
            #expect(r.status != 0 && !(r.stdout + r.stderr).contains("s3cret-pw"), "\(r.stdout) \(r.stderr)")
        }
    }
}
