import AppLinksCore
import AppLinksJSON
import AppLinksTesting
import Foundation
import Testing

@testable import AtlassianOAuth1LinkType

/// The Atlassian (OAuth 1.0) link type's first wizard step in process, through ``FakeHost``: what answers at the
/// URL decides the next step, with the remote's manifest scripted in Atlassian's XML.
@Suite("Atlassian OAuth 1.0 link type, unit")
struct AtlassianOAuth1LinkTypeTests {
    static let jiraID = "8a1b2c3d-0000-4000-8000-00000000a1b2"

    static func manifest(id: String = jiraID, base: String = "https://jira.example.com") -> Data {
        Data(
            """
            <manifest><id>\(id)</id><name>Jira</name><typeId>jira</typeId><version>9.12.0</version><buildNumber>912000</buildNumber>\
            <applinksVersion>9.0.0</applinksVersion><url>\(base)</url><publicSignup>false</publicSignup>\
            <incomingAuthenticationType>com.atlassian.applinks.api.auth.types.OAuthAuthenticationProvider</incomingAuthenticationType>\
            <outgoingAuthenticationType>com.atlassian.applinks.api.auth.types.OAuthAuthenticationProvider</outgoingAuthenticationType>\
            </manifest>
            """.utf8)
    }

    static func url(_ plugin: AtlassianOAuth1LinkType, _ url: String) async throws -> WizardResponse {
        try await plugin.wizardStep(WizardRequest(step: "url", answers: ["url": .string(url)], draftID: "d"))
    }

    @Test("a manifest leads to the remote step; a redirect is followed once and told; no manifest means a Generic application")
    func detection() async throws {
        let host = try FakeHost(pluginID: "atlassian-oauth1")
        let plugin = try AtlassianOAuth1LinkType(host: host.api)
        host.onHTTP { request in
            switch request.url {
            case "https://jira.example.com/rest/applinks/1.0/manifest":
                return HostHTTPResponse(status: 200, headers: [["Content-Type", "application/xml"]], body: Self.manifest())
            case "https://old.example.com/rest/applinks/1.0/manifest":
                return HostHTTPResponse(
                    status: 301, headers: [["Location", "https://jira.example.com/rest/applinks/1.0/manifest"]], body: Data())
            default:
                return HostHTTPResponse(status: 404, headers: [], body: Data("<html>not here</html>".utf8))
            }
        }
        guard case .fields("remote", _, _, let messages) = try await Self.url(plugin, "https://jira.example.com/") else {
            Issue.record("a manifest did not lead to the remote step")
            return
        }
        #expect(messages.contains { $0.text.contains("Found jira 'Jira' (\(Self.jiraID))") }, "\(messages)")

        guard case .fields("remote", _, _, let moved) = try await Self.url(plugin, "https://old.example.com") else {
            Issue.record("a redirect to a manifest did not lead to the remote step")
            return
        }
        #expect(
            moved.contains { $0.level == .warning && $0.text.contains("https://old.example.com redirected to https://jira.example.com") })

        let generic = try await Self.url(plugin, "https://www.example.com")
        guard case .fields(let step, _, _, let why) = generic, step != "remote" else {
            Issue.record("a site without a manifest was not offered as Generic: \(generic)")
            return
        }
        #expect(why.contains { $0.text.contains("without an application-links manifest") }, "\(why)")
    }

    @Test("this instance itself, an application already linked, and an address the host refuses are errors on the URL")
    func refusals() async throws {
        let host = try FakeHost(pluginID: "atlassian-oauth1")
        let plugin = try AtlassianOAuth1LinkType(host: host.api)
        host.onHTTP { _ in HostHTTPResponse(status: 200, headers: [], body: Self.manifest(id: host.instance.id)) }
        guard case .errors("url", let itself, _) = try await Self.url(plugin, "https://jira.example.com") else {
            Issue.record("a link to this instance itself was allowed")
            return
        }
        #expect(itself.first?.message.contains("this instance itself") == true)

        host.addLink(
            Link(
                id: "l1", type: "atlassian-oauth1", name: "Our Jira", application: ApplicationInfo(type: "jira", id: Self.jiraID),
                displayURL: "https://jira.example.com"))
        host.onHTTP { _ in HostHTTPResponse(status: 200, headers: [], body: Self.manifest()) }
        guard case .errors("url", let twice, _) = try await Self.url(plugin, "https://jira.example.com") else {
            Issue.record("an application already linked was linked again")
            return
        }
        #expect(twice.first?.message.contains("already linked as 'Our Jira'") == true, "\(twice)")

        host.onHTTP { _ in throw FakeHost.refused("192.168.1.5 is a private address") }
        guard case .errors("url", let refused, _) = try await Self.url(plugin, "https://jira.internal") else {
            Issue.record("an address the host refuses was not an error")
            return
        }
        #expect(refused.first?.message == "192.168.1.5 is a private address")
    }
}
