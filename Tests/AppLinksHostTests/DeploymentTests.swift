import AppLinksCore
import AppLinksHost
import AppLinksStore
import Foundation
import GRDB
import Logging
import TestSupport
import Testing

@Suite("Deployment")
struct DeploymentTests {
    @Test(
        "every host API function works across the ABI (the fixture's self-test), in process and from a runner process",
        arguments: ["in-process", "process"])
    func hostAPISelfTest(isolation: String) async throws {
        let t = try await TestDeployment.make(env: ["APPLINKS_PLUGINS_ISOLATION": "fixture=\(isolation)"])
        #expect(t.deployment.plugins["fixture"]?.isolated == (isolation == "process"))
        _ = try await t.createFixtureLink(name: "Jira")
        let (_, response) = try await t.deployment.invokeAction("Jira", action: "selftest", rawArgs: [])
        let out = try #require(response.output?.objectValue)
        #expect(out["kv_get"] == "one" && out["kv_list"] == ["a/1", "a/2"])
        #expect(out["cas_wrong"] == false && out["cas_right"] == true && out["cas_insert_existing"] == false && out["kv_deleted"] == true)
        #expect(out["sealed_differs"] == true && out["opened"] == "hush" && out["random_len"] == 16)
        #expect(out["sha256_abc"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(out["hmac_sha1"] == "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9")  // Wikipedia's HMAC-SHA1 example
        #expect(out["rsa_verify"] == true && out["rsa_verify_tampered"] == false && out["instance_sign_verifies"] == true)
        #expect(out["instance_id"] == .string(t.deployment.identity.applicationID) && out["instance_name"] == "Test host")
        #expect(out["links"] == 1 && out["link_get"] == "Jira" && out["link_get_missing"] == true)
        // ABI 1.1: tokens come only from a link whose type gives them.
        #expect(out["access_token_missing_link"] == "not_found", "\(out)")
        #expect(out["access_token_refused"]?.stringValue?.contains("gives no access tokens") == true, "\(out)")
        // The plugin's data lives in its own namespace, and its audit events carry its name.
        #expect(try await t.deployment.store.value(namespace: "fixture", key: "a/1") == Data("uno".utf8))
        #expect(try await t.deployment.store.value(namespace: "other", key: "a/1") == nil)
        let audit = try await t.deployment.store.auditEvents(since: nil, limit: 50)
        #expect(audit.contains { $0.actor == "plugin:fixture" && $0.action == "selftest" && $0.detail["ok"] == true })
    }

    @Test("a plugin updates its own link through the host, under optimistic locking")
    func linkUpdateThroughHost() async throws {
        let t = try await TestDeployment.make()
        let link = try await t.createFixtureLink(name: "Before")
        let (after, response) = try await t.deployment.invokeAction(link.id, action: "rename", rawArgs: [("name", "After")])
        #expect(response.output?["version"] == 2)
        #expect(after.name == "After" && after.config["renamed"] == true && after.config["behaviour"] == "connected")
        #expect(
            try await t.deployment.store.auditEvents(since: nil, limit: 20).contains { $0.actor == "plugin:fixture" && $0.action == "edit" }
        )
    }

    @Test("handle_http reaches the plugin with the request and the public base URL")
    func handleHTTP() async throws {
        let t = try await TestDeployment.make()
        let plugin = try t.deployment.plugin(forType: "fixture")
        let r = try await plugin.call(
            .handleHTTP,
            PluginHTTPRequest(
                method: "GET", path: "/plugins/fixture/hello", user: .init(name: "alice", admin: false),
                baseURL: "https://applinks.example.com"), as: PluginHTTPResponse.self, timeout: .seconds(5))
        #expect(r.status == 200 && String(decoding: r.body, as: UTF8.self) == "hello alice from https://applinks.example.com")
        let missing = try await plugin.call(
            .handleHTTP, PluginHTTPRequest(method: "GET", path: "/plugins/fixture/nope", baseURL: "x"),
            as: PluginHTTPResponse.self, timeout: .seconds(5))
        #expect(missing.status == 404)
    }

    @Test("links resolve by id, unique id prefix or name; an ambiguous or unknown reference says what to do")
    func resolve() async throws {
        let t = try await TestDeployment.make()
        let a = try await t.createFixtureLink(name: "Jira")
        _ = try await t.createFixtureLink(name: "Confluence")
        #expect(try await t.deployment.resolveLink(a.id).id == a.id)
        #expect(try await t.deployment.resolveLink(String(a.id.prefix(8))).id == a.id)
        #expect(try await t.deployment.resolveLink("jira").id == a.id)
        _ = try await t.createFixtureLink(name: "jira")
        do {
            _ = try await t.deployment.resolveLink("JIRA")
            Issue.record("two links named jira are ambiguous")
        } catch let e as AppLinksError {
            #expect(e.code == .ambiguous && e.message.contains("matches 2 links"))
        }
        do {
            _ = try await t.deployment.resolveLink("nothing")
            Issue.record("unknown")
        } catch let e as AppLinksError {
            #expect(e.code == .notFound && e.message.contains("applinks list"))
        }
    }

    @Test("edit, relocate, make-primary and delete change what they say, and each is audited")
    func operations() async throws {
        let t = try await TestDeployment.make()
        let d = t.deployment
        let a = try await t.createFixtureLink(name: "A")
        let b = try await t.createFixtureLink(name: "B")
        #expect(a.primary && !b.primary)
        let edited = try await d.editLink("A", sets: [("name", "A2"), ("rpc_url", "http://internal:8080"), ("config.extra", "1")])
        #expect(
            edited.name == "A2" && edited.rpcURL == "http://internal:8080" && edited.config["extra"] == "1"
                && edited.version == a.version + 1)
        await #expect(throws: AppLinksError.self) { _ = try await d.editLink("A2", sets: [("display_url", "not a url")]) }
        await #expect(throws: AppLinksError.self) { _ = try await d.editLink("A2", sets: [("colour", "red")]) }
        await #expect(throws: AppLinksError.self) { _ = try await d.editLink("A2", sets: []) }
        let moved = try await d.relocate("A2", to: "https://new.example.com").link
        #expect(moved.displayURL == "https://new.example.com" && moved.rpcURL == "https://new.example.com")
        do {
            _ = try await d.relocate("A2", to: "https://forbidden.example.com")
            Issue.record("the plugin refuses this URL")
        } catch let e as AppLinksError {
            #expect(e.code == .invalidInput && e.message.contains("serves a different application type"))
        }
        #expect(try await d.resolveLink("A2").displayURL == "https://new.example.com")
        let primary = try await d.makePrimary("B")
        #expect(primary.primary)
        #expect(try await d.resolveLink("A2").primary == false)
        let deleted = try await d.deleteLink("B").link
        let remaining = try await d.store.links().map(\.name)
        #expect(deleted.name == "B" && remaining == ["A2"])
        #expect(try await d.resolveLink("A2").primary, "the remaining link of the type becomes primary")
        let actions = try await d.store.auditEvents(since: nil, limit: 100).map(\.action)
        for a in ["init", "create", "edit", "relocate", "make-primary", "delete"] { #expect(actions.contains(a), "missing \(a)") }
    }

    @Test("action arguments are converted to their declared types before the plugin is called")
    func typedArguments() async throws {
        let t = try await TestDeployment.make()
        _ = try await t.createFixtureLink(name: "Jira")
        let (_, r) = try await t.deployment.invokeAction(
            "Jira", action: "echo",
            rawArgs: [("text", "héllo wörld"), ("count", "-42"), ("ratio", "2.5"), ("loud", "yes")])
        #expect(r.output == ["text": "héllo wörld", "count": -42, "ratio": 2.5, "loud": true])
        do {
            _ = try await t.deployment.invokeAction(
                "Jira", action: "echo",
                rawArgs: [("count", "many"), ("ratio", "nan"), ("loud", "perhaps"), ("target", "ftp://x"), ("bogus", "1")])
            Issue.record("wrong types must be refused")
        } catch let e as AppLinksError {
            #expect(e.code == .invalidInput)
            for needle in [
                "count must be a whole number, not 'many'", "ratio must be a number", "loud must be true or false",
                "target must be an absolute http:// or https:// URL", "'bogus' is not a parameter of echo", "text is required",
            ] {
                #expect(e.message.contains(needle), "missing \(needle)")
            }
        }
        #expect(
            try await !t.deployment.store.auditEvents(since: nil, limit: 100).contains {
                $0.action == "action" && $0.detail["args"]?["count"] == "many"
            })
        await #expect(throws: AppLinksError.self) { _ = try await t.deployment.invokeAction("Jira", action: "launch", rawArgs: []) }
    }

    @Test("secrets are sealed at rest and open only with the deployment's master key")
    func sealedSecrets() async throws {
        let t = try await TestDeployment.make()
        let link = try await t.createFixtureLink(name: "Jira", extra: ["token": "PLAINTEXT-SECRET-987"])
        let db = try t.deployment.home.databasePath(t.deployment.config)
        let raw = try await DatabaseQueue(path: db).read { try Data.fetchAll($0, sql: "SELECT sealed FROM link_secrets") }
        #expect(raw.count == 1 && !String(decoding: raw[0], as: UTF8.self).contains("PLAINTEXT-SECRET-987"))
        // The plugin gets the opened secret: its check needs the token.
        #expect(try await t.deployment.checkStatus(of: [link])[0].status.category == .connected)
        // Another master key opens nothing: the deployment refuses it before any secret is tried, and says why.
        let other = Data(repeating: 7, count: 32).base64EncodedString()
        do {
            _ = try await t.reopen(env: ["APPLINKS_MASTER_KEY": other])
            Issue.record("a deployment opened with another master key")
        } catch let e as AppLinksError {
            #expect(e.code == .config && e.message.contains("does not open this deployment's sealed instance key"), "\(e.message)")
        }
    }

    @Test("the home: missing, a master key readable by others, a broken config and bad settings each say how to fix them")
    func homeErrors() async throws {
        let dir = TemporaryDirectory("home-errors")
        let missing = DeploymentHome(url: dir.path("nowhere"))
        do {
            _ = try await Deployment.open(home: missing, stores: .embedded)
            Issue.record("a missing home must fail")
        } catch let e as AppLinksError {
            #expect(e.code == .homeMissing && e.message.contains("applinks init --home \(missing.url.path)"))
        }
        let t = try await TestDeployment.make()
        chmod(t.deployment.home.masterKeyFile.path, 0o644)
        await #expect(throws: AppLinksError.self) { _ = try await t.reopen() }
        do { _ = try await t.reopen() } catch let e as AppLinksError { #expect(e.message.contains("chmod 600")) }
        chmod(t.deployment.home.masterKeyFile.path, 0o600)
        do { _ = try await t.reopen(env: ["APPLINKS_STATUS_CONCURRENCY": "0"]) } catch let e as AppLinksError {
            #expect(e.code == .config && e.message.contains("must be positive"))
        }
        do { _ = try await t.reopen(env: ["APPLINKS_BASE_URL": "ftp://x"]) } catch let e as AppLinksError {
            #expect(e.code == .config && e.message.contains("base_url 'ftp://x'"))
        }
        do { _ = try await t.reopen(env: ["APPLINKS_PLUGINS_PINS": "fixture=abc"]) } catch let e as AppLinksError {
            #expect(e.code == .config && e.message.contains("is not ID=SHA256"))
        }
        do { _ = try await t.reopen(env: ["APPLINKS_STATUS_TIMEOUT_SECONDS": "ten"]) } catch let e as AppLinksError {
            #expect(
                e.code == .config
                    && e.message
                        == "status.timeout_seconds (in config.yaml or APPLINKS_STATUS_TIMEOUT_SECONDS) must be a number of seconds."
            )
        }
        do { _ = try await t.reopen(env: ["APPLINKS_PLUGINS_REQUIRE_PINS": "perhaps"]) } catch let e as AppLinksError {
            #expect(e.code == .config && e.message.contains("plugins.require_pins") && e.message.contains("true or false"))
        }
        let original = try String(contentsOf: t.deployment.home.configFile, encoding: .utf8)
        try original.replacingOccurrences(of: "  timeout_seconds: 10", with: "  timout_seconds: 10")
            .write(to: t.deployment.home.configFile, atomically: true, encoding: .utf8)
        do {
            _ = try await t.reopen()
            Issue.record("a misspelt key must fail")
        } catch let e as AppLinksError {
            #expect(
                e.code == .config && e.message.contains("unknown key(s): status.timout_seconds")
                    && e.message.contains("status.timeout_seconds"))
        }
        try "name: [unclosed".write(to: t.deployment.home.configFile, atomically: true, encoding: .utf8)
        do {
            _ = try await t.reopen()
            Issue.record("broken YAML must fail")
        } catch let e as AppLinksError {
            #expect(e.code == .config && e.message.contains("Fix the YAML"))
        }
    }

    @Test("the environment overrides the config file")
    func environmentOverrides() async throws {
        let t = try await TestDeployment.make()
        #expect(t.deployment.config.name == "Test host" && t.deployment.config.statusTimeout == .seconds(10))
        let d = try await t.reopen(env: ["APPLINKS_NAME": "From env", "APPLINKS_STATUS_TIMEOUT_SECONDS": "2.5"])
        #expect(d.config.name == "From env" && d.config.statusTimeout == .milliseconds(2500))
        let text = try String(contentsOf: t.deployment.home.configFile, encoding: .utf8)
        #expect(text.contains("# AppLinks deployment configuration.") && text.contains("name: \"Test host\""))
    }
}
