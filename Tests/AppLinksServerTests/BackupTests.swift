import AppLinksStore
import Foundation
import Synchronization
import TestSupport
import Testing

extension ServerProcessTests {
    @Suite("Backup and restore")
    struct BackupTests {
        final class Made: Sendable {
            private let links = Atomic(0)
            var count: Int { links.load(ordering: .acquiring) }
            func add() { links.add(1, ordering: .releasing) }
        }

        @Test("a backup taken while links are being written restores into a new home: every table equal, secrets open, links CONNECTED")
        func underWriteLoad() async throws {
            let s = try RunningServer()
            let admin = try s.token(user: "root", admin: true)
            for i in 0..<3 {
                let r = try s.cli(
                    "create", "fixture", "--set", "name=Seed \(i)", "--set", "url=https://seed\(i).example.com", "--set", "token=abcd")
                #expect(r.status == 0, "\(r.stderr)")
            }
            // Writers go on while the backup is taken: it starts once they have written, and they stop once they
            // have written after it.
            // Each attempt has a name of its own: one that timed out here may still have been created there.
            let made = Made(), attempted = Made()
            let writer = Task {
                while !Task.isCancelled {
                    attempted.add()
                    let n = attempted.count
                    let r = try? await s.send(
                        "POST", "/rest/applinks/3.0/wizard/fixture",
                        headers: [("Authorization", "Bearer \(admin)"), ("Content-Type", "application/json")],
                        body: #"{"answers": {"name": "Load \#(n)", "url": "https://load\#(n).example.com", "token": "abcd"}}"#,
                        timeoutSeconds: 60)
                    if r?.status == 201 { made.add() }
                }
            }
            #expect(await s.eventually(within: .seconds(60)) { made.count >= 3 } != nil, "the writer wrote nothing")
            let file = s.dir.path("backup.db").path
            let beforeBackup = made.count
            let backup = try s.cli("backup", "--to", file, "--with-master-key")
            let atBackup = made.count
            #expect(await s.eventually(within: .seconds(60)) { made.count >= atBackup + 3 } != nil, "the writer stopped")
            writer.cancel()
            await writer.value
            #expect(backup.status == 0, "\(backup.stderr)")
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "the backup holds secrets and the master key: \(String(mode ?? 0, radix: 8))")
            #expect(try s.cli("backup", "--to", file).status != 0, "a backup never replaces a file")
            s.stop()

            let restoredDir = TemporaryDirectory("restored")
            let home = restoredDir.path("home")
            let env = RunningServer.environment(home: home)
            let restored = try runCommand(BuildProducts.applinks, ["restore", "--from", file], environment: env)
            #expect(restored.status == 0, "\(restored.stderr)")
            #expect(
                try runCommand(BuildProducts.applinks, ["restore", "--from", file], environment: env).status == 5,
                "a restore never replaces a home")

            let a = try SQLiteStore(path: file, readOnly: true)
            let b = try SQLiteStore(path: home.appendingPathComponent("applinks.db").path, readOnly: true)
            for table in StoreTables.all {
                let (x, y) = (try await a.contents(of: table), try await b.contents(of: table))
                #expect(x.rows.count == y.rows.count && x.checksum == y.checksum, "table \(table.name) differs")
            }
            let links = try await b.links()
            #expect(links.count >= 3 + beforeBackup && links.count <= 3 + attempted.count, "\(links.count) links")
            a.close()
            b.close()

            // The restored deployment opens its secrets: the fixture's check needs its token.
            let r = try RunningServer(dir: restoredDir, initialise: false)
            let checked = try r.cli("status", "--all", "--json")
            #expect(checked.status == 0, "\(checked.stderr)")
            let statuses = (try? JSONSerialization.jsonObject(with: Data(checked.stdout.utf8)) as? [[String: Any]]) ?? []
            #expect(statuses.count == links.count)
            for link in statuses {
                let status = link["status"] as? [String: Any]
                #expect(status?["category"] as? String == "CONNECTED", "\(link)")
            }
            r.stop()
        }

        @Test("restore refuses what it cannot do, and leaves nothing behind: no key, a wrong key, a file that is not a backup")
        func refusals() async throws {
            let cli = TemporaryDirectory("backup-refusals")
            let source = cli.path("source")
            let env = RunningServer.environment(home: source)
            #expect(try runCommand(BuildProducts.applinks, ["init"], environment: env).status == 0)
            let file = cli.path("plain.db").path
            #expect(try runCommand(BuildProducts.applinks, ["backup", "--to", file], environment: env).status == 0)

            let target = cli.path("target")
            let targetEnv = RunningServer.environment(home: target)
            let noKey = try runCommand(BuildProducts.applinks, ["restore", "--from", file], environment: targetEnv)
            #expect(noKey.status == 2 && noKey.stderr.contains("--master-key-file"), "\(noKey.stderr)")
            let wrong = cli.path("wrong.key")
            try Data(Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString().utf8).write(to: wrong)
            let badKey = try runCommand(
                BuildProducts.applinks, ["restore", "--from", file, "--master-key-file", wrong.path], environment: targetEnv)
            #expect(badKey.status == 2 && badKey.stderr.contains("master key"), "\(badKey.stderr)")
            #expect(!FileManager.default.fileExists(atPath: target.path), "a failed restore left a home behind")
            let ok = try runCommand(
                BuildProducts.applinks, ["restore", "--from", file, "--master-key-file", source.appendingPathComponent("master.key").path],
                environment: targetEnv)
            #expect(ok.status == 0, "\(ok.stderr)")

            // Into an empty PostgreSQL database, once: the second time it is not empty.
            let database = try await TestPostgres.freshDatabase()
            let pg = try runCommand(BuildProducts.applinks, ["restore", "--from", file, "--to", database], environment: targetEnv)
            #expect(pg.status == 0 && pg.stdout.contains("matches the backup"), "\(pg.stderr)")
            let again = try runCommand(BuildProducts.applinks, ["restore", "--from", file, "--to", database], environment: targetEnv)
            #expect(again.status == 5 && again.stderr.contains("already holds AppLinks data"), "\(again.stderr)")

            let notBackup = try runCommand(
                BuildProducts.applinks, ["restore", "--from", source.appendingPathComponent("applinks.db").path],
                environment: RunningServer.environment(home: cli.path("other")))
            #expect(notBackup.status == 2 && notBackup.stderr.contains("not an AppLinks backup"), "\(notBackup.stderr)")
        }
    }
}
