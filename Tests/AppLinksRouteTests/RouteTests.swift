import AppLinksCore
import AppLinksHost
import AppLinksJSON
import AppLinksServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import TestSupport
import Testing

/// The server's routes in process, through HummingbirdTesting's router client: the app `applinks serve` builds,
/// with the fixture link type, and no socket or child process.
@Suite("Routes, in process")
struct RouteTests {
    static func deployment() async throws -> (TemporaryDirectory, Deployment) {
        let dir = TemporaryDirectory("routes")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let (deployment, _) = try await Deployment.initialize(
            home: DeploymentHome(url: dir.path("home")), stores: .embedded, name: "Route host", baseURL: "http://127.0.0.1:9999",
            listen: "127.0.0.1:9999",
            environment: [
                "APPLINKS_PLUGINS_PATHS": BuildProducts.fixturePlugin.path, "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "false",
            ], logger: logger, actor: "test")
        return (dir, deployment)
    }

    static func app(_ deployment: Deployment) throws -> some ApplicationProtocol {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try buildApplication(deployment: deployment, listen: ListenAddress(host: "127.0.0.1", port: 0), logger: logger)
    }

    @Test("probes and the manifest, in JSON and in Atlassian's XML")
    func probesAndManifest() async throws {
        let (dir, deployment) = try await Self.deployment()
        defer { withExtendedLifetime(dir) {} }
        try await Self.app(deployment).test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/rest/applinks/1.0/manifest", method: .get) { response in
                #expect(response.status == .ok)
                let manifest = try JSONValue.parse(Data(buffer: response.body))
                #expect(manifest["name"]?.stringValue == "Route host" && manifest["typeId"]?.stringValue == "applinks", "\(manifest)")
            }
            try await client.execute(uri: "/rest/applinks/1.0/manifest", method: .get, headers: [.accept: "application/xml"]) { response in
                let xml = String(buffer: response.body)
                #expect(
                    response.headers[.contentType]?.hasPrefix("application/xml") == true && xml.contains("<name>Route host</name>"),
                    "\(xml)")
            }
        }
    }

    @Test("the admin API: 401 with a challenge without credentials or with a wrong password, 403 for a non-admin, 200 for an admin")
    func adminAPI() async throws {
        let (dir, deployment) = try await Self.deployment()
        defer { withExtendedLifetime(dir) {} }
        _ = try await deployment.addUser("root", password: "correct horse battery", admin: true)
        _ = try await deployment.addUser("viewer", password: "correct horse battery", admin: false)
        @Sendable func basic(_ user: String, _ password: String) -> HTTPFields {
            [.authorization: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
        }
        try await Self.app(deployment).test(.router) { client in
            try await client.execute(uri: "/rest/applinks/3.0/links", method: .get) { response in
                #expect(response.status == .unauthorized && response.headers[.wwwAuthenticate] != nil)
            }
            try await client.execute(uri: "/rest/applinks/3.0/links", method: .get, headers: basic("root", "wrong password!")) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/rest/applinks/3.0/links", method: .get, headers: basic("viewer", "correct horse battery")) {
                #expect($0.status == .forbidden)
            }
            try await client.execute(uri: "/rest/applinks/3.0/links", method: .get, headers: basic("root", "correct horse battery")) {
                response in
                #expect(response.status == .ok && String(buffer: response.body) == "[]")
            }
        }
    }
}
