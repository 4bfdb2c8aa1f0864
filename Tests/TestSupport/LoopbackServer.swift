import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A server under test that listens on a real loopback port and keeps its deployment in a home the real `applinks`
/// CLI can open: third-party clients reach it over a socket, and the CLI changes it as an admin would. Either an
/// `applinks serve` process (``RunningServer``) or the same app run in the test's own process.
public protocol LoopbackServer: ServerUnderTest {
    var port: Int { get }
    var home: URL { get }
    /// The environment the CLI gets: the home, and every setting the server was started with.
    var env: [String: String] { get }
    /// Everything the server has logged so far.
    var log: String { get }
}

extension LoopbackServer {
    public func cli(_ args: String..., stdin: String? = nil) throws -> CommandResult {
        try cli(args, stdin: stdin)
    }

    public func cli(_ args: [String], stdin: String? = nil) throws -> CommandResult {
        try runCommand(BuildProducts.applinks, args, environment: env, stdin: stdin)
    }

    /// `applinks ARGS…` against this server's home, waited for off the cooperative pool: the form to use while the
    /// server runs in the test's own process.
    public func applinks(_ args: String..., stdin: String? = nil) async throws -> CommandResult {
        try await offPool { [self] in try cli(args, stdin: stdin) }
    }

    /// ``token(user:admin:)`` waited for off the cooperative pool, for a server in the test's own process.
    public func newToken(user: String, admin: Bool) async throws -> String {
        try await offPool { [self] in try token(user: user, admin: admin) }
    }

    /// Adds a user and returns a fresh token for them.
    public func token(user: String, admin: Bool) throws -> String {
        var args = ["users", "add", user, "--password-stdin"]
        if admin { args.append("--admin") }
        let added = try runCommand(BuildProducts.applinks, args, environment: env, stdin: "correct horse battery\n")
        precondition(added.status == 0, added.stderr)
        let t = try runCommand(BuildProducts.applinks, ["tokens", "create", "--user", user, "--json"], environment: env)
        return t.jsonObject!["token"] as! String
    }

    public func send(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: String? = nil
    ) async throws -> (status: Int, headers: HTTPHeaders, body: String) {
        try await send(method, path, headers: headers, body: body, timeoutSeconds: 10)
    }

    /// Sends one request over the loopback socket; `timeoutSeconds` bounds the wait for the response's head.
    public func send(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: String? = nil, timeoutSeconds: Int64
    ) async throws
        -> (status: Int, headers: HTTPHeaders, body: String)
    {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = HTTPMethod(rawValue: method)
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await LoopbackClient.shared.execute(request, timeout: .seconds(timeoutSeconds))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), response.headers, String(decoding: body.readableBytesView, as: UTF8.self))
    }

    /// Polls until `check` holds, for at most `within`; returns how long it took, or nil.
    public func eventually(within: Duration, _ check: () async throws -> Bool) async rethrows -> Duration? {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < within {
            if try await check() { return ContinuousClock.now - start }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }
}

public enum LoopbackClient {
    /// A client that shows redirects instead of following them, as the tests need to see each 303. A refused
    /// connection fails at once: by default AsyncHTTPClient retries it until the request's deadline, so every
    /// request to a server a test had stopped or killed waited 10 s. Wait for a port that is still starting with
    /// ``acceptsConnections(loopbackPort:)``, not with requests: refusals make the pool back off for longer each time.
    public static let shared: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()
}
