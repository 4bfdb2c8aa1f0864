import AppLinksCore
import AppLinksJSON
import AppLinksTesting
import Foundation
import Testing

@testable import OAuth2OutgoingLinkType

/// The OAuth 2.0 outgoing link type's wizard in process, through ``FakeHost``: its checks of what the admin
/// types, and discovery of another AppLinks host's metadata with a secret-collecting impostor refused.
@Suite("OAuth 2.0 outgoing link type, unit")
struct OAuth2OutgoingLinkTypeTests {
    static func metadata(issuer: String, token: String) -> @Sendable (HostHTTPRequest) throws -> HostHTTPResponse {
        { request in
            if request.url.hasSuffix("/.well-known/oauth-authorization-server") {
                let body = #"{"issuer":"\#(issuer)","authorization_endpoint":"\#(issuer)/authorize","token_endpoint":"\#(token)"}"#
                return HostHTTPResponse(status: 200, headers: [["Content-Type", "application/json"]], body: Data(body.utf8))
            }
            return HostHTTPResponse(status: 404, headers: [], body: Data())
        }
    }

    static func step(_ plugin: OAuth2OutgoingLinkType, _ step: String, _ answers: [String: JSONValue]) async throws -> WizardResponse {
        try await plugin.wizardStep(WizardRequest(step: step, answers: answers, draftID: "d"))
    }

    @Test("the provider step names each missing answer; custom endpoints must be http(s) URLs")
    func providerAndEndpoints() async throws {
        let host = try FakeHost(pluginID: "oauth2-outgoing")
        let plugin = try OAuth2OutgoingLinkType(host: host.api)
        guard case .errors(_, let errors, _) = try await Self.step(plugin, "provider", ["name": " ", "provider": "nope"]) else {
            Issue.record("a blank name and an unknown provider were accepted")
            return
        }
        #expect(errors.map(\.field).sorted() == ["name", "provider"])

        let answers: [String: JSONValue] = [
            "name": "Custom", "provider": "custom", "authorization_endpoint": "javascript:alert(1)",
            "token_endpoint": "https://idp.example/token",
        ]
        guard case .errors(_, let bad, _) = try await Self.step(plugin, "endpoints", answers) else {
            Issue.record("a javascript: endpoint was accepted")
            return
        }
        #expect(bad.map(\.field) == ["authorization_endpoint"])

        var good = answers
        good["authorization_endpoint"] = "https://idp.example/authorize"
        guard case .fields("client", _, _, let messages) = try await Self.step(plugin, "endpoints", good) else {
            Issue.record("valid endpoints did not lead to the client step")
            return
        }
        #expect(messages.contains { $0.text.contains("https://applinks.test/") }, "the redirect URL to register is shown: \(messages)")
        #expect(messages.contains(OAuth2OutgoingLinkType.noIssuerWarning))
        #expect(host.requests.isEmpty, "custom endpoints are not fetched")
    }

    @Test("discovery reads RFC 8414 metadata; an issuer that is not the base URL, or a token endpoint on another host, stops it")
    func discovery() async throws {
        let host = try FakeHost(pluginID: "oauth2-outgoing")
        let plugin = try OAuth2OutgoingLinkType(host: host.api)
        let answers: [String: JSONValue] = ["name": "Wiki", "provider": "applinks", "base_url": "https://wiki.example"]

        host.onHTTP(Self.metadata(issuer: "https://wiki.example", token: "https://wiki.example/token"))
        guard case .fields("client", _, _, let messages) = try await Self.step(plugin, "endpoints", answers) else {
            Issue.record("discovery failed on good metadata")
            return
        }
        #expect(messages.contains { $0.text.contains("tokens from https://wiki.example/token") }, "\(messages)")
        #expect(host.requests.first?.url == "https://wiki.example/.well-known/oauth-authorization-server")

        host.onHTTP(Self.metadata(issuer: "https://elsewhere.example", token: "https://wiki.example/token"))
        guard case .errors(_, let wrongIssuer, _) = try await Self.step(plugin, "endpoints", answers) else {
            Issue.record("metadata for another issuer was accepted")
            return
        }
        #expect(wrongIssuer.first?.message.contains("names the issuer https://elsewhere.example") == true, "\(wrongIssuer)")

        host.onHTTP(Self.metadata(issuer: "https://wiki.example", token: "https://collector.example/token"))
        guard case .errors(_, let impostor, _) = try await Self.step(plugin, "endpoints", answers) else {
            Issue.record("a token endpoint on another host was accepted without confirmation")
            return
        }
        #expect(impostor.first?.message.contains("confirm_endpoint_host=collector.example") == true, "\(impostor)")
        var confirmed = answers
        confirmed["confirm_endpoint_host"] = "collector.example"
        guard case .fields("client", _, _, _) = try await Self.step(plugin, "endpoints", confirmed) else {
            Issue.record("a confirmed token host was still refused")
            return
        }
    }

    @Test("an unreachable provider is named in the wizard's error, and nothing is kept")
    func unreachable() async throws {
        let host = try FakeHost(pluginID: "oauth2-outgoing")
        let plugin = try OAuth2OutgoingLinkType(host: host.api)
        host.onHTTP { _ in throw FakeHost.unreachable(.unknownHost, "the host name wiki.example cannot be resolved") }
        let answers: [String: JSONValue] = ["name": "Wiki", "provider": "applinks", "base_url": "https://wiki.example"]
        guard case .errors(_, let errors, _) = try await Self.step(plugin, "endpoints", answers) else {
            Issue.record("an unreachable provider passed discovery")
            return
        }
        #expect(errors.map(\.field) == ["base_url"] && errors[0].message.contains("https://wiki.example"), "\(errors)")
        #expect(try await host.api.kvList(prefix: "").isEmpty)
    }
}
