import AppLinksLocking
import Foundation
import NIOCore
import NIOHTTP1

/// A real `applinks serve` process on a free loopback port, with the fixture link type.
public final class RunningServer: LoopbackServer, @unchecked Sendable {
    // Set once in init; `process` is only read afterwards.
    public let dir: TemporaryDirectory
    public let process = Process()
    public let port: Int
    public let extraEnv: [String: String]
    public let stdout = Pipe()
    /// What the server wrote to stdout, as far as it has been read.
    public private(set) var output = ""
    public var logFile: URL { dir.path("server.log") }
    public var home: URL { dir.path("home") }
    public var env: [String: String] { Self.environment(home: home).merging(extraEnv) { _, n in n } }

    public static func environment(home: URL) -> [String: String] {
        [
            "APPLINKS_HOME": home.path, "APPLINKS_PLUGINS_PATHS": BuildProducts.fixturePlugin.path,
            "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "false", "NO_COLOR": "1",
            // Every test server and remote here is on loopback.
            "APPLINKS_HTTP_ALLOW_PRIVATE_ADDRESSES": "true",
        ]
    }

    /// Starts a server on `dir`'s home; pass the `dir` of a stopped server to start it again on the same home.
    /// Its log goes to ``logFile``, or to `standardError` when given (``log`` is then empty).
    public init(
        dir: TemporaryDirectory = TemporaryDirectory("server"), extraEnv: [String: String] = [:], initialise: Bool = true,
        listen: String = "127.0.0.1:0", standardError: Pipe? = nil
    ) throws {
        self.dir = dir
        self.extraEnv = extraEnv
        let env = Self.environment(home: dir.path("home")).merging(extraEnv) { _, n in n }
        if initialise {
            let r = try runCommand(BuildProducts.applinks, ["init", "--name", "Server test"], environment: env)
            precondition(r.status == 0, r.stderr)
        }
        process.executableURL = BuildProducts.applinks
        process.arguments = ["serve", "--listen", listen]
        var e = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        // Under Tests/sanitizers.sh the server and its runners are sanitized builds: they keep its settings (a
        // fixture that crashes on purpose must die by its signal, not by the sanitizer's report).
        for name in ["TSAN_OPTIONS", "ASAN_OPTIONS"] { e[name] = ProcessInfo.processInfo.environment[name] }
        e.merge(env) { _, n in n }
        e.merge(extraEnv) { _, n in n }
        process.environment = e
        let out = stdout
        process.standardOutput = out
        _ = FileManager.default.createFile(atPath: dir.path("server.log").path, contents: nil)
        if let standardError {
            process.standardError = standardError
        } else {
            process.standardError = try FileHandle(forWritingTo: dir.path("server.log"))
        }
        try process.run()
        let pid = process.processIdentifier
        Self.running.withLock { _ = $0.insert(pid) }
        _ = Self.stopAtExit
        // The first line names the bound port.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        output = text
        guard let match = text.firstMatch(of: /127\.0\.0\.1:(\d+)/), let p = Int(match.1) else {
            throw CompileError(message: "the server did not start: \(text)")
        }
        port = p
    }

    deinit {
        if process.isRunning { process.terminate() }
        Self.running.withLock { _ = $0.remove(process.processIdentifier) }
    }

    /// Every server started and not yet stopped. A test that keeps a server alive to its end, or that is never
    /// released, must not leave the process behind when the test run exits.
    private static let running = Locked<Set<Int32>>([])
    private static let stopAtExit: Void = {
        atexit { for pid in RunningServer.running.withLock({ $0 }) { kill(pid, SIGTERM) } }
    }()

    /// The one-time code of `/setup` that `serve` prints while the deployment has no administrator.
    public func setupCode() throws -> String {
        while output.firstMatch(of: /one-time code ([A-Z0-9-]+)/) == nil {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            output += String(decoding: chunk, as: UTF8.self)
        }
        guard let m = output.firstMatch(of: /one-time code ([A-Z0-9-]+)/) else {
            throw CompileError(message: "serve printed no setup code: \(output)")
        }
        return String(m.1)
    }

    public func stop() {
        process.terminate()
        process.waitUntilExit()
        Self.running.withLock { _ = $0.remove(process.processIdentifier) }
    }

    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
}
