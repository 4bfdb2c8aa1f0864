import CTestSupport
import Foundation

/// Runs a program on a pseudo-terminal, as an admin at a keyboard would: it sees a TTY on stdin, stdout and
/// stderr, echo can be turned off, and the test reads the screen and types answers.
public final class PseudoTerminal: @unchecked Sendable {
    // Accessed from the test's thread only, except `screen`, which the reader thread appends to under `lock`.
    private let master: Int32
    public let process: Process
    private let lock = NSLock()
    private var buffer = ""
    private var reader: Thread?

    public init(_ executable: URL, _ arguments: [String], environment: [String: String]) throws {
        var m: Int32 = -1
        var slave: Int32 = -1
        guard applinks_test_openpty(&m, &slave) == 0 else { throw CompileError(message: "cannot open a pseudo-terminal") }
        master = m
        let handle = FileHandle(fileDescriptor: slave, closeOnDealloc: true)
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "TERM": "xterm"]
        env.merge(environment) { _, new in new }
        process.environment = env
        process.standardInput = handle
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let fd = master
        let t = Thread { [weak self] in
            var bytes = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(fd, &bytes, bytes.count)
                if n <= 0 { break }
                guard let self else { break }
                self.lock.lock()
                self.buffer += String(decoding: bytes[0..<n], as: UTF8.self)
                self.lock.unlock()
            }
        }
        t.start()
        reader = t
    }

    deinit {
        if process.isRunning { process.terminate() }
        close(master)
    }

    public var screen: String {
        lock.lock()
        defer { lock.unlock() }
        return buffer
    }

    /// Waits until the screen contains `text`; false on timeout.
    @discardableResult
    public func expect(_ text: String, timeout: TimeInterval = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if screen.contains(text) { return true }
            usleep(20_000)
        }
        return false
    }

    public func type(_ text: String) {
        var bytes = Array(text.utf8)
        _ = write(master, &bytes, bytes.count)
    }

    /// Waits for the program to exit and returns its status.
    public func wait(timeout: TimeInterval = 30) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate(); return nil }
        usleep(100_000)  // let the reader drain what was written last
        return process.terminationStatus
    }
}
