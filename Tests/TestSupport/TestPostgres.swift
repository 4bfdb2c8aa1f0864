import AppLinksCore
import AppLinksLocking
import Foundation

/// A real PostgreSQL 15 server for tests, and a fresh database on it per caller.
///
/// `Tests/run.sh` starts one throwaway cluster for the whole run and exports its URL as
/// `APPLINKS_TEST_POSTGRES_URL`. Without it (a plain `swift test`), the first caller starts one here, in a
/// temporary directory on a free loopback port, and it is stopped when the test process exits.
public enum TestPostgres {
    static let bin = "/usr/lib/postgresql/15/bin"
    private nonisolated(unsafe) static var dataDirectory: String?
    /// The CA that signed the test server's TLS certificate (for `127.0.0.1` and `localhost`), and another CA that
    /// did not: for `sslmode=verify-full&sslrootcert=…`. Set once the cluster has started.
    public nonisolated(unsafe) static var certificateAuthority: String?
    public nonisolated(unsafe) static var otherAuthority: String?

    /// Starts the cluster once. Process's wait needs a dispatch thread, so the blocking work runs on a thread of
    /// its own rather than on one of the test's (few) cooperative threads.
    private actor Cluster {
        static let shared = Cluster()
        private var url: Task<String, any Error>?

        func start() async throws -> String {
            if let url { return try await url.value }
            let task = Task { try await BlockingThreadPool.shared.run { try TestPostgres.startCluster() } }
            url = task
            return try await task.value
        }
    }

    /// `postgres://applinks@127.0.0.1:PORT/postgres`, the maintenance database.
    public static func serverURL() async throws -> String {
        if let url = ProcessInfo.processInfo.environment["APPLINKS_TEST_POSTGRES_URL"], !url.isEmpty { return url }
        return try await Cluster.shared.start()
    }

    /// A new, empty database on the test server, as a URL the store takes.
    public static func freshDatabase() async throws -> String {
        let server = try await serverURL()
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        _ = try await BlockingThreadPool.shared.run { try psql(server, "CREATE DATABASE \(name)") }
        return server.replacingOccurrences(of: "/postgres", with: "/\(name)")
    }

    /// `url` for a store that waits up to a minute for the database instead of the product's 5 s (`wait_timeout`).
    /// A busy test machine can keep the test server from answering for longer than 5 s, which is no outage; the
    /// outage tests keep the product's default. Only for the store: psql does not know the parameter.
    public static func patient(_ url: String) -> String { url + (url.contains("?") ? "&" : "?") + "wait_timeout=60" }

    /// Runs SQL with psql, the server's own client.
    @discardableResult
    public static func psql(_ url: String, _ sql: String) throws -> String {
        let (status, output) = try spawn("/usr/bin/psql", [url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])
        guard status == 0 else { throw CompileError(message: "psql failed: \(output)") }
        return output
    }

    /// Runs a program to its end with posix_spawn and waitpid, its output in a file. Not Process: its wait needs
    /// dispatch threads that busy test threads may all hold, and a pipe would stay open in the server pg_ctl starts.
    static func spawn(_ path: String, _ args: [String]) throws -> (Int32, String) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("applinks-spawn-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // The server pg_ctl starts outlives this call: it must not keep another test's pipe open.
        SpawnActions.closeAll(from: 3, &actions)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard rc == 0 else { throw CompileError(message: "cannot run \(path): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        return ((status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F), text)
    }

    static func startCluster() throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "\(bin)/initdb") else {
            throw CompileError(message: "PostgreSQL 15 is not installed: run Tests/run.sh, which installs it (apt-get install postgresql)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("applinks-pg-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // PostgreSQL refuses to run as root: as root, run it as the postgres user.
        let asPostgres = getuid() == 0
        if asPostgres { _ = try spawn("/bin/chown", ["postgres:postgres", dir]) }
        func run(_ tool: String, _ args: [String]) throws {
            let (status, output) =
                asPostgres
                ? try spawn("/usr/sbin/runuser", ["-u", "postgres", "--", "\(bin)/\(tool)"] + args)
                : try spawn("\(bin)/\(tool)", args)
            guard status == 0 else { throw CompileError(message: "\(tool) failed: \(output)") }
        }
        try run("initdb", ["-D", "\(dir)/data", "-U", "applinks", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
        // TLS with a certificate of a throwaway CA, so that sslmode can be tested against a real server.
        func openssl(_ args: [String]) throws {
            let (status, output) = try spawn("/usr/bin/openssl", args)
            guard status == 0 else { throw CompileError(message: "openssl \(args.first ?? "") failed: \(output)") }
        }
        try Data("subjectAltName=IP:127.0.0.1,DNS:localhost\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/san.ext"))
        for ca in ["ca", "other-ca"] {
            try openssl([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(dir)/\(ca).key", "-out", "\(dir)/\(ca).crt", "-days", "30",
                "-subj", "/CN=applinks test \(ca)",
            ])
        }
        try openssl([
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(dir)/server.key", "-out", "\(dir)/server.csr", "-subj", "/CN=localhost",
        ])
        try openssl([
            "x509", "-req", "-in", "\(dir)/server.csr", "-CA", "\(dir)/ca.crt", "-CAkey", "\(dir)/ca.key", "-CAcreateserial", "-out",
            "\(dir)/server.crt", "-days", "30", "-extfile", "\(dir)/san.ext",
        ])
        chmod("\(dir)/server.key", 0o600)
        if asPostgres { _ = try spawn("/bin/chown", ["postgres:postgres", "\(dir)/server.key", "\(dir)/server.crt"]) }
        certificateAuthority = "\(dir)/ca.crt"
        otherAuthority = "\(dir)/other-ca.crt"
        let port = try freeLoopbackPort()
        try run(
            "pg_ctl",
            [
                "-D", "\(dir)/data", "-l", "\(dir)/server.log", "-w", "-o",
                "-p \(port) -k \(dir) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400 -c ssl=on "
                    + "-c ssl_cert_file=\(dir)/server.crt -c ssl_key_file=\(dir)/server.key", "start",
            ])
        dataDirectory = "\(dir)/data"
        atexit {
            guard let data = TestPostgres.dataDirectory else { return }
            let stop = ["-D", data, "-m", "immediate", "stop"]
            _ =
                getuid() == 0
                ? try? TestPostgres.spawn("/usr/sbin/runuser", ["-u", "postgres", "--", "\(TestPostgres.bin)/pg_ctl"] + stop)
                : try? TestPostgres.spawn("\(TestPostgres.bin)/pg_ctl", stop)
            try? FileManager.default.removeItem(atPath: (data as NSString).deletingLastPathComponent)
        }
        return "postgres://applinks@127.0.0.1:\(port)/postgres"
    }
}
