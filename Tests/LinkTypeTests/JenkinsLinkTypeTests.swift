import AppLinksCore
import AppLinksJSON
import AppLinksPluginKit
import AppLinksTesting
import Foundation
import Testing

@testable import JenkinsLinkType

/// The Jenkins link type in process, through ``FakeHost``: its wizard's first steps, its status check and the
/// signed request it sends, with Jenkins' answers scripted.
@Suite("Jenkins link type, unit")
struct JenkinsLinkTypeTests {
    static func jenkins(version: String? = "2.440.3") -> @Sendable (HostHTTPRequest) throws -> HostHTTPResponse {
        { request in
            var headers: [[String]] = [["Content-Type", "application/json"]]
            if let version { headers.append(["X-Jenkins", version]) }
            return HostHTTPResponse(status: 200, headers: headers, body: Data(#"{"nodeDescription":"the built-in node"}"#.utf8))
        }
    }

    static func link(_ host: FakeHost) -> Link {
        let link = Link(
            id: "j1", type: "jenkins", name: "CI", application: ApplicationInfo(type: "jenkins"), displayURL: "https://ci.example.com",
            rpcURL: "https://ci.example.com", outgoingAuth: ["oauth"], config: ["consumer_key": "applinks-key"])
        host.addLink(link)
        return link
    }

    @Test("the wizard asks for the URL, refuses one that is not http(s), and finds Jenkins by its X-Jenkins header")
    func wizardURL() async throws {
        let host = try FakeHost(pluginID: "jenkins")
        host.onHTTP(Self.jenkins())
        let plugin = try JenkinsLinkType(host: host.api)

        guard case .fields(let step, _, let fields, _) = try await plugin.wizardStep(WizardRequest(step: nil, answers: [:], draftID: "d"))
        else { Issue.record("the first step is not a form"); return }
        #expect(step == "url" && fields.map(\.name) == ["url", "name"])

        let bad = try await plugin.wizardStep(WizardRequest(step: "url", answers: ["url": "ftp://ci.example.com"], draftID: "d"))
        guard case .errors(_, let errors, _) = bad else { Issue.record("ftp:// was accepted: \(bad)"); return }
        #expect(errors.map(\.field) == ["url"])
        #expect(host.requests.isEmpty, "nothing is sent for an address that is refused")

        let good = try await plugin.wizardStep(WizardRequest(step: "url", answers: ["url": "https://ci.example.com/"], draftID: "d"))
        guard case .fields(let next, _, _, let messages) = good else { Issue.record("no next step: \(good)"); return }
        #expect(next == "consumer")
        #expect(messages.contains { $0.text.contains("Found Jenkins 2.440.3") }, "\(messages)")
        #expect(host.requests.map(\.url) == ["https://ci.example.com/"])
    }

    @Test("a second link to the same Jenkins is warned about; a server without X-Jenkins is refused as not Jenkins")
    func wizardWarnings() async throws {
        let host = try FakeHost(pluginID: "jenkins")
        _ = Self.link(host)
        host.onHTTP(Self.jenkins())
        let plugin = try JenkinsLinkType(host: host.api)
        let again = try await plugin.wizardStep(WizardRequest(step: "url", answers: ["url": "https://CI.example.com"], draftID: "d"))
        guard case .fields("consumer", _, _, let messages) = again else { Issue.record("\(again)"); return }
        #expect(messages.contains { $0.level == .warning && $0.text.contains("already linked as 'CI'") }, "\(messages)")

        host.onHTTP(Self.jenkins(version: nil))
        let other = try await plugin.wizardStep(WizardRequest(step: "url", answers: ["url": "https://www.example.com"], draftID: "d"))
        guard case .errors("url", let errors, _) = other else { Issue.record("\(other)"); return }
        #expect(errors.first?.message.contains("without an X-Jenkins header: it is not Jenkins") == true, "\(errors)")
    }

    @Test("status: unauthorized until a user approves; then a signed GET of /api/json, and CONNECTED with the version")
    func status() async throws {
        let host = try FakeHost(pluginID: "jenkins")
        let link = Self.link(host)
        host.onHTTP(Self.jenkins())
        let plugin = try JenkinsLinkType(host: host.api)

        let before = try await plugin.checkStatus(StatusRequest(link: link, secrets: ["shared_secret": "s3cret"]))
        #expect(before.category == .accessError, "\(before)")

        let after = try await plugin.checkStatus(
            StatusRequest(link: link, secrets: ["shared_secret": "s3cret", "access_token": "tok", "token_secret": "ts"]))
        #expect(after.category == .connected && after.applicationVersion == "2.440.3", "\(after)")
        let signed = try #require(host.requests.last)
        #expect(signed.url == "https://ci.example.com/api/json?tree=nodeDescription")
        let authorization = try #require(signed.headers.first { $0.first?.lowercased() == "authorization" }?.last)
        for part in [#"oauth_consumer_key="applinks-key""#, #"oauth_token="tok""#, #"oauth_signature_method="HMAC-SHA1""#] {
            #expect(authorization.contains(part), "\(authorization)")
        }
    }

    @Test("an unreachable Jenkins is a network error that names it; the host's refusal is a configuration error")
    func unreachable() async throws {
        let host = try FakeHost(pluginID: "jenkins")
        let link = Self.link(host)
        let plugin = try JenkinsLinkType(host: host.api)
        host.onHTTP { _ in throw FakeHost.unreachable(.connectionRefused, "nothing listens at ci.example.com:443") }
        let down = try await plugin.checkStatus(StatusRequest(link: link, secrets: [:]))
        #expect(down.category == .networkError && down.errorType == .connectionRefused, "\(down)")
        #expect(down.message.contains("https://ci.example.com"), "\(down)")
        host.onHTTP { _ in throw FakeHost.refused("10.0.0.1 is a private address") }
        let refused = try await plugin.checkStatus(StatusRequest(link: link, secrets: [:]))
        #expect(refused.category == .configError && refused.message.contains("private address"), "\(refused)")
    }

    @Test("actions and routes are declared once: the descriptor lists them, calls reach them by id, failures keep their codes")
    func declaredActionsAndRoutes() async throws {
        #expect(
            JenkinsLinkType.descriptor.actions.map(\.id) == [
                "authorize", "list-jobs", "trigger-build", "build-status", "open", "set-credentials",
            ])
        #expect(JenkinsLinkType.descriptor.routes.map(\.id) == ["GET " + JenkinsAuthorization.callbackPath])

        let host = try FakeHost(pluginID: "jenkins")
        let link = Self.link(host)
        let plugin = try JenkinsLinkType(host: host.api)
        let secrets = ["shared_secret": "s", "access_token": "tok", "token_secret": "ts"]
        func action(_ id: String, _ args: [String: JSONValue] = [:]) async throws -> ActionResponse {
            try await plugin.invokeAction(ActionRequest(action: id, link: link, secrets: secrets, args: args, actor: "admin"))
        }
        do {
            _ = try await action("no-such-action")
            Issue.record("an unknown action ran")
        } catch let e as PluginError {
            #expect(e.code == "unknown_action")
        }

        host.onHTTP { _ in HostHTTPResponse(status: 500, headers: [["X-Jenkins", "2.440.3"]], body: Data()) }
        do {
            _ = try await action("list-jobs")
            Issue.record("list-jobs succeeded on HTTP 500")
        } catch let e as PluginError {
            #expect(e.code == "unreachable" && e.message.contains("HTTP 500"), "a status failure becomes the action's error: \(e)")
        }

        host.onHTTP { _ in
            HostHTTPResponse(
                status: 200, headers: [["Content-Type", "application/json"], ["X-Jenkins", "2.440.3"]],
                body: Data(#"{"jobs":[{"name":"Team A","jobs":[{"name":"Deploy","url":"u","color":"blue"}]}]}"#.utf8))
        }
        let jobs = try await action("list-jobs")
        #expect(jobs.message == "1 jobs on CI.", "\(jobs)")

        let changed = try await action("set-credentials", ["consumer_key": "new-key"])
        #expect(changed.changes?.config?["consumer_key"] == "new-key")

        let missing = try await plugin.handleHTTP(
            PluginHTTPRequest(method: "GET", path: "/plugins/jenkins/nowhere", baseURL: "https://applinks.test"))
        #expect(missing.status == 404)
        // The host names the matched route: the plugin does not match the path again.
        let named = try await plugin.handleHTTP(
            PluginHTTPRequest(
                method: "GET", path: "/anything", baseURL: "https://applinks.test", route: "GET " + JenkinsAuthorization.callbackPath))
        #expect(named.status != 404, "the route the host named answered")
    }
}
