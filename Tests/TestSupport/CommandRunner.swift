import AppLinksLocking
import Foundation

/// The outcome of one command run.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(stdout.utf8), options: [.fragmentsAllowed]) }
    public var jsonObject: [String: Any]? { (try? json()) as? [String: Any] }
    public var jsonArray: [[String: Any]]? { (try? json()) as? [[String: Any]] }
}

/// Runs a program to completion, with the given environment added to a minimal one.
public func runCommand(
    _ executable: URL, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
    directory: URL? = nil
) throws -> CommandResult {
    let p = Process()
    p.executableURL = executable
    p.arguments = arguments
    var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "NO_COLOR": "1"]
    env.merge(environment) { _, new in new }
    p.environment = env
    if let directory { p.currentDirectoryURL = directory }
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = inp
    try p.run()
    if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)) }
    try inp.fileHandleForWriting.close()
    // Read both pipes concurrently so that neither fills up and blocks the child.
    let errData = LockedData()
    let reader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
    reader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    while !errData.isSet { usleep(1000) }
    return CommandResult(
        status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData.value, as: UTF8.self))
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return data != nil }
    var value: Data { lock.lock(); defer { lock.unlock() }; return data ?? Data() }
}

/// Compiles a C file into a shared library with the system `cc`, against the SDK header.
public func compileCPlugin(_ source: String, to output: URL, extraFlags: [String] = []) throws {
    let src = output.deletingPathExtension().appendingPathExtension("c")
    try source.write(to: src, atomically: true, encoding: .utf8)
    let r = try runCommand(
        URL(fileURLWithPath: "/usr/bin/cc"),
        ["-shared", "-fPIC", "-O1", "-I", BuildProducts.sdkInclude.path, "-o", output.path, src.path] + extraFlags)
    guard r.status == 0 else { throw CompileError(message: r.stderr) }
}

public struct CompileError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { "cc failed: \(message)" }
}

/// A loopback port that was free a moment ago, for a server whose public base URL must name its port.
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw CompileError(message: "socket failed") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard bound else { throw CompileError(message: "bind failed") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Whether something accepts TCP connections on a loopback port now. Poll this, not HTTP, for a listener that is
/// still starting: each refused connection makes AsyncHTTPClient's pool for that port back off for longer (up to a
/// minute), so HTTP requests that poll a port before it listens end up waiting out the backoff.
public func acceptsConnections(loopbackPort port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// Runs blocking work, such as waiting for a process, on a thread that is not the cooperative pool's. An async test
/// that waited on the pool instead could take the threads a server running in the same process needs to answer that
/// very process, and both would wait forever.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await processWaits.run(body)
}

/// Grows a thread whenever all of its threads wait, so no test's wait holds up another's.
private let processWaits = BlockingThreadPool(name: "test process waits")
