import AppLinksHost
import AppLinksServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import TestSupport

/// The app `applinks serve` builds, with the fixture link type, run in the test's own process through
/// HummingbirdTesting's router client: no socket and no child process. Its background services (the change feed,
/// the status sweep) run for the length of ``run(baseURL:_:)``.
struct InProcessServer: ServerUnderTest {
    let deployment: Deployment
    let client: any TestClientProtocol

    /// Starts a deployment in a fresh home, runs `body` against it, and shuts it down as `applinks serve` does.
    static func run<T: Sendable>(
        baseURL: String = "http://127.0.0.1:9999", _ body: @Sendable (InProcessServer) async throws -> T
    ) async throws -> T {
        let dir = TemporaryDirectory("in-process")
        defer { withExtendedLifetime(dir) {} }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let (deployment, _) = try await Deployment.initialize(
            home: DeploymentHome(url: dir.path("home")), stores: .embedded, name: "In-process host", baseURL: baseURL,
            listen: "127.0.0.1:9999",
            environment: [
                "APPLINKS_PLUGINS_PATHS": BuildProducts.fixturePlugin.path, "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "false",
            ], logger: logger, actor: "test")
        do {
            let app = try buildApplication(deployment: deployment, listen: ListenAddress(host: "127.0.0.1", port: 0), logger: logger)
            let result = try await app.test(.router) { client in
                try await body(InProcessServer(deployment: deployment, client: client))
            }
            await deployment.shutdown()
            return result
        } catch {
            await deployment.shutdown()
            throw error
        }
    }

    func send(
        _ method: String, _ path: String, headers: [(String, String)], body: String?
    ) async throws
        -> (status: Int, headers: HTTPHeaders, body: String)
    {
        // A name or method a real client could not send is the test's mistake, not something to drop quietly.
        var fields = HTTPFields()
        for (name, value) in headers {
            guard let name = HTTPField.Name(name) else { throw CompileError(message: "not a header name: \(name.debugDescription)") }
            fields.append(HTTPField(name: name, value: value))
        }
        guard let verb = HTTPRequest.Method(method) else { throw CompileError(message: "not an HTTP method: \(method.debugDescription)") }
        let response = try await client.executeRequest(
            uri: path, method: verb, headers: fields, body: body.map { ByteBuffer(string: $0) })
        return (
            Int(response.status.code), HTTPHeaders(response.headers.map { ($0.name.rawName, $0.value) }),
            String(buffer: response.body)
        )
    }

    /// Adds a user with the tests' usual password, and returns a fresh API token for them.
    func token(user: String, admin: Bool) async throws -> String {
        _ = try await deployment.addUser(user, password: "correct horse battery", admin: admin)
        return try await deployment.createToken(user: user, name: "test").1
    }

    /// Creates a fixture link through the admin REST API's wizard, as an administrator, and returns its id.
    func createFixtureLink(name: String, url: String) async throws -> String {
        let admin = try await token(user: "wizard-\(UUID().uuidString.prefix(8).lowercased())", admin: true)
        let r = try await send(
            "POST", "/rest/applinks/3.0/wizard/fixture",
            headers: [("Authorization", "Bearer \(admin)"), ("Content-Type", "application/json")],
            body: #"{"answers": {"name": "\#(name)", "url": "\#(url)", "token": "abcd"}}"#)
        let object = try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any]
        guard r.status == 201, let id = (object?["link"] as? [String: Any])?["id"] as? String else {
            throw CompileError(message: "the wizard did not create the link: \(r.status) \(r.body)")
        }
        return id
    }
}
