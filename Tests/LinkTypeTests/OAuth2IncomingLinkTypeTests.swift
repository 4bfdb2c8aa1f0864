import AppLinksCore
import AppLinksJSON
import AppLinksTesting
import Foundation
import Testing

@testable import OAuth2IncomingLinkType

/// The OAuth 2.0 provider link type in process, through ``FakeHost``: registration in its wizard, then its token and
/// introspection routes called the way the host calls them, without a server.
@Suite("OAuth 2.0 incoming link type, unit")
struct OAuth2IncomingLinkTypeTests {
    static func post(_ path: String, form: String, basic: (String, String)? = nil) -> PluginHTTPRequest {
        var headers = [["Content-Type", "application/x-www-form-urlencoded"]]
        if let (user, password) = basic {
            headers.append(["Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()])
        }
        return PluginHTTPRequest(method: "POST", path: path, headers: headers, body: Data(form.utf8), baseURL: "https://applinks.test")
    }

    @Test("registration refuses a bad redirect URL and an unknown scope; a client it registers gets and introspects a token")
    func registerAndIssue() async throws {
        let host = try FakeHost(pluginID: "oauth2-incoming")
        let plugin = try OAuth2IncomingLinkType(host: host.api)
        let refused = try await plugin.wizardStep(
            WizardRequest(
                step: "client", answers: ["name": "App", "redirect_url": "http://app.example/cb", "scopes": "NOPE"], draftID: "d"))
        guard case .errors(_, let errors, _) = refused else { Issue.record("\(refused)"); return }
        #expect(Set(errors.map(\.field)) == ["redirect_url", "scopes"], "\(errors)")

        let scope = try #require(ProviderSettings.defaultScopes.first)
        let done = try await plugin.wizardStep(
            WizardRequest(
                step: "client",
                answers: [
                    "name": "App", "redirect_url": "https://app.example/cb", "scopes": .string(scope), "allow_client_credentials": true,
                ], draftID: "d"))
        guard case .done(let spec, let secrets, _, let credentials?) = done, let id = credentials["client_id"]?.stringValue,
            let secret = credentials["client_secret"]?.stringValue
        else {
            Issue.record("no credentials: \(done)")
            return
        }
        host.addLink(from: spec, secrets: secrets)

        let wrong = try await plugin.handleHTTP(Self.post(TokenEndpoints.token, form: "grant_type=client_credentials", basic: (id, "x")))
        #expect(wrong.status == 401, "a wrong secret is invalid_client with 401 (RFC 6749 §5.2)")

        let issued = try await plugin.handleHTTP(
            Self.post(TokenEndpoints.token, form: "grant_type=client_credentials", basic: (id, secret)))
        #expect(issued.status == 200, "\(String(decoding: issued.body, as: UTF8.self))")
        let token = try #require(try JSONValue.parse(issued.body)["access_token"]?.stringValue)

        let introspected = try await plugin.handleHTTP(
            Self.post(TokenEndpoints.introspect, form: "token=\(token)", basic: (id, secret)))
        let answer = try JSONValue.parse(introspected.body)
        #expect(answer["active"]?.boolValue == true && answer["client_id"]?.stringValue == id, "\(answer)")

        let twice = try await plugin.handleHTTP(
            Self.post(TokenEndpoints.token, form: "grant_type=client_credentials&grant_type=client_credentials", basic: (id, secret)))
        #expect(twice.status == 400, "a parameter sent twice is refused (RFC 6749 §3.2)")

        // The route the host names is the one that answers, whatever the path says.
        var named = Self.post("/elsewhere", form: "token=\(token)", basic: (id, secret))
        named.route = "POST " + TokenEndpoints.introspect
        #expect(try JSONValue.parse(try await plugin.handleHTTP(named).body)["active"]?.boolValue == true)
        #expect(OAuth2IncomingLinkType.descriptor.routes.count == 9 && OAuth2IncomingLinkType.descriptor.actions.count == 5)
    }
}
