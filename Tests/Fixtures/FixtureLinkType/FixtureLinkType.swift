// A link type used only by the tests. It exercises every ABI function and every host API call, and can be
// told (through its link's config) to misbehave: hang, fail, or report any status.
import AppLinksCore
import AppLinksJSON
import AppLinksOAuth1
import AppLinksPluginKit
import AppLinksPluginOAuth1
import Foundation

struct FixtureLinkType: LinkTypePlugin {
    static let descriptor = LinkTypeDescriptor(
        id: "fixture", name: "Test fixture", version: "1.2.3", vendor: "AppLinks tests",
        description: "Exercises the whole plugin ABI.",
        directions: [.incoming, .outgoing, .twoWay],
        wizard: .init(steps: [
            .init(id: "remote", title: "Remote application", fields: ["name", "url", "application"]),
            .init(id: "auth", title: "Authentication", fields: ["token", "incoming", "outgoing", "wait_seconds"]),
            .init(id: "authorize", title: "Authorize in a browser", fields: ["require_approval"]),
        ]),
        statusChecks: [
            .init(
                id: "fixture", title: "Behaviour chosen by config.behaviour",
                errorTypes: [.localAuthTokenRequired, .genericLink, .timeout, .connectionRefused, .unexpectedResponseStatus])
        ],
        actions: [
            .init(
                id: "echo", title: "Echo typed arguments",
                params: [
                    .init(name: "text", type: .string, required: true, help: "Any text"),
                    .init(name: "count", type: .int, defaultValue: 1),
                    .init(name: "ratio", type: .double),
                    .init(name: "loud", type: .bool, defaultValue: false),
                    .init(name: "target", type: .url),
                ]),
            .init(id: "relocate", title: "Move the link", params: [.init(name: "url", type: .url, required: true)]),
            .init(id: "selftest", title: "Call every host API function"),
            .init(id: "rename", title: "Rename through the host API", params: [.init(name: "name", type: .string, required: true)]),
            .init(
                id: "register-consumer", title: "Register an OAuth 1.0 consumer with the fixture's provider",
                params: [
                    .init(name: "key", type: .string, required: true), .init(name: "name", type: .string, defaultValue: "Consumer"),
                    .init(name: "public_key", type: .string), .init(name: "secret", type: .secret),
                    .init(name: "impersonation", type: .bool, defaultValue: false),
                ]),
            .init(
                id: "set-token", title: "Replace the token; an empty one forgets it",
                params: [.init(name: "token", type: .secret, required: true, help: "The new token")]),
        ],
        routes: [
            .init(method: "GET", path: "/plugins/fixture/hello", auth: .none, inline: true),
            // Declared inline by mistake: it reads the store, which an inline route may not.
            .init(method: "GET", path: "/plugins/fixture/inline-store", auth: .none, inline: true),
            // Inline, and waits for a task it starts, as a handler using SingleFlight does.
            .init(method: "GET", path: "/plugins/fixture/inline-task", auth: .none, inline: true),
            .init(method: "GET", path: "/plugins/fixture/approve", auth: .user),
            .init(method: "GET", path: "/plugins/fixture/slow", auth: .none),
            .init(method: "GET", path: "/plugins/fixture/consent", auth: .user),
            .init(method: "POST", path: "/plugins/fixture/consent", auth: .user),
            .init(method: "GET", path: "/plugins/fixture/admin-only", auth: .admin),
            .init(method: "POST", path: "/plugins/servlet/oauth/request-token", auth: .none),
            .init(method: "GET", path: "/plugins/servlet/oauth/authorize", auth: .user),
            .init(method: "POST", path: "/plugins/servlet/oauth/authorize", auth: .user),
            .init(method: "POST", path: "/plugins/servlet/oauth/access-token", auth: .none),
            .init(method: "GET", path: "/plugins/fixture/whoami", auth: .none),
        ],
        authentication: .init(
            incoming: ["com.example.applinks.FixtureTokenAuthenticationProvider"],
            outgoing: ["com.example.applinks.FixtureTokenAuthenticationProvider"]))

    let host: HostAPI

    init(host: HostAPI) throws {
        self.host = host
        host.log(.debug, "fixture started")
    }

    func wizardStep(_ r: WizardRequest) async throws -> WizardResponse {
        switch r.step {
        case nil:
            return .fields(
                step: "remote", title: "Remote application",
                fields: [
                    WizardField(name: "name", label: "Link name"),
                    WizardField(name: "url", label: "Remote URL", type: .url),
                    WizardField(
                        name: "application", label: "Application type", type: .choice, defaultValue: "generic",
                        choices: ["generic", "applinks"]),
                ], messages: [])
        case "remote":
            var errors: [FieldError] = []
            let url = r.answers["url"]?.stringValue ?? ""
            if let u = URL(string: url), ["http", "https"].contains(u.scheme ?? ""), u.host?.isEmpty == false {
            } else {
                errors.append(FieldError(field: "url", message: "'\(url)' is not an http(s) URL"))
            }
            if (r.answers["name"]?.stringValue ?? "").hasPrefix("!") {
                errors.append(FieldError(field: "name", message: "names may not start with '!'"))
            }
            if !errors.isEmpty { return .errors(step: "remote", errors: errors, messages: []) }
            return .fields(
                step: "auth", title: "Authentication",
                fields: [
                    WizardField(name: "token", label: "Shared token", type: .secret),
                    WizardField(name: "incoming", label: "Accept incoming requests", type: .bool, defaultValue: true),
                    WizardField(name: "outgoing", label: "Make outgoing requests", type: .bool, defaultValue: true),
                    WizardField(
                        name: "wait_seconds", label: "Seconds the browser step takes", type: .int, required: false, defaultValue: 0),
                ], messages: [WizardMessage(.info, "Found a remote at \(url).")])
        case "auth":
            if (r.answers["token"]?.stringValue ?? "").count < 4 {
                return .errors(
                    step: "auth", errors: [FieldError(field: "token", message: "the token needs at least 4 characters")], messages: [])
            }
            return try await authorize(r)
        case "authorize":
            return try await authorize(r)
        default:
            throw PluginError(code: "invalid_step", message: "unknown step \(r.step ?? "")")
        }
    }

    /// Pending until the browser approves (`require_approval`), as an OAuth callback would, or until `wait_seconds`
    /// have passed since the step first ran. Both states live in the host's store.
    private func authorize(_ r: WizardRequest) async throws -> WizardResponse {
        // A step that takes a while, for tests that stop its process in the middle of it.
        if (r.answers["name"]?.stringValue ?? "").hasPrefix("slow") {
            host.log(.info, "slow authorize step started")
            // The draft's first attempt marks itself in the store, then holds until its runner is killed (10 minutes
            // at most, so a test that never kills it leaves no runner behind for long): a test that sees the mark
            // kills it inside this step however busy the machine. A resumed attempt finds the mark and goes on at once.
            if try await host.kvCompareAndSet("slow-held:\(r.draftID)", expected: nil, replacement: Data("1".utf8)) {
                try await Task.sleep(for: .seconds(600))
            }
        }
        if r.answers["require_approval"]?.boolValue == true, try await host.kvGet("approved:\(r.draftID)") == nil {
            return .pending(
                step: "authorize", url: "http://127.0.0.1:1/plugins/fixture/approve?draft=\(r.draftID)",
                message: "Approve the link in your browser.", pollAfterMs: 50)
        }
        let wait = Double(r.answers["wait_seconds"]?.stringValue ?? "0") ?? 0
        if wait > 0 {
            let key = "wait:\(r.draftID)"
            let now = Data(String(Date().timeIntervalSince1970).utf8)
            _ = try await host.kvCompareAndSet(key, expected: nil, replacement: now, ttl: .seconds(3600))
            let started = Double(String(decoding: try await host.kvGet(key) ?? now, as: UTF8.self)) ?? 0
            if Date().timeIntervalSince1970 - started < wait {
                return .pending(
                    step: "authorize", url: "http://127.0.0.1:1/authorize?draft=\(r.draftID)",
                    message: "Approve the link in your browser.", pollAfterMs: 100)
            }
            try await host.kvDelete(key)
        }
        let incoming = r.answers["incoming"]?.boolValue ?? true
        let outgoing = r.answers["outgoing"]?.boolValue ?? true
        let app = r.answers["application"]?.stringValue ?? "generic"
        return .done(
            link: LinkSpec(
                name: r.answers["name"]?.stringValue ?? "fixture",
                application: ApplicationInfo(
                    type: app, name: app == "applinks" ? "AppLinks" : nil, version: app == "applinks" ? "0.1.0" : nil),
                displayURL: r.answers["url"]?.stringValue ?? "", incomingAuth: incoming ? ["fixture-token"] : [],
                outgoingAuth: outgoing ? ["fixture-token"] : [], config: ["behaviour": "connected"]),
            secrets: ["token": r.answers["token"]?.stringValue ?? ""], messages: [WizardMessage(.info, "Linked.")])
    }

    func checkStatus(_ r: StatusRequest) async throws -> StatusResponse {
        switch r.link.config["behaviour"]?.stringValue ?? "connected" {
        case "connected":
            guard r.secrets["token"] != nil else {
                return .init(.accessError, .localAuthTokenRequired, message: "No token; run the wizard again.")
            }
            return .init(.connected, message: "Connected.", applicationVersion: r.link.config["remote_version"]?.stringValue)
        case "generic": return .init(.nonAtlassian, .genericLink, message: "A generic application.")
        case "hang":
            try await Task.sleep(for: .seconds(120))
            return .init(.connected, message: "Too late.")
        case "slow":
            try await Task.sleep(for: .milliseconds(300))
            return .init(.connected, message: "Slow but connected.")
        case "fail": throw PluginError(code: "boom", message: "The fixture was told to fail.")
        case "segfault":
            // Only ever checked under process isolation: this ends the process it runs in.
            UnsafeMutablePointer<Int>(bitPattern: 8)!.pointee = 1
            return .init(.connected, message: "Unreachable.")
        case "bad-pair": return .init(.connected, .timeout, message: "CONNECTED with an error type is not allowed.")
        case "http":
            let url = r.link.config["probe_url"]?.stringValue ?? r.link.rpcURL
            do {
                let resp = try await host.http(HostHTTPRequest(url: url, timeoutMs: 2000))
                return resp.status == 200
                    ? .init(.connected, message: "HTTP 200")
                    : .init(.networkError, .unexpectedResponseStatus, message: "HTTP \(resp.status)")
            } catch let e as HostError {
                return .init(.networkError, e.networkFailure ?? .unexpectedResponse, message: e.description)
            }
        case let other: return .init(.configError, .invalidConfig, message: "Unknown behaviour '\(other)'.")
        }
    }

    func invokeAction(_ r: ActionRequest) async throws -> ActionResponse {
        switch r.action {
        case "echo":
            return ActionResponse(message: "echoed", output: .object(r.args))
        case "relocate":
            let url = r.args["url"]?.stringValue ?? ""
            if url.contains("forbidden") {
                throw PluginError(code: "invalid_input", message: "\(url) serves a different application type; relocation refused.")
            }
            return ActionResponse(message: "relocated", changes: LinkChanges(displayURL: url, rpcURL: url))
        case "set-token":
            let token = r.args["token"]?.stringValue ?? ""
            if token == "wrong" { throw PluginError(code: "invalid_input", message: "The remote refused this token.") }
            return ActionResponse(
                message: token.isEmpty ? "forgotten" : "replaced", changes: LinkChanges(secrets: ["token": token.isEmpty ? nil : token]))
        case "rename":
            let updated = try await host.updateLink(
                id: r.link.id, version: r.link.version,
                changes: LinkChanges(name: r.args["name"]?.stringValue, config: ["renamed": true]))
            return ActionResponse(message: "renamed", output: .object(["version": .number(Double(updated.version))]))
        case "register-consumer":
            let args = r.args
            try await KVProviderStore(host: host).saveConsumer(
                OAuth1ConsumerRecord(
                    key: args["key"]?.stringValue ?? "", name: args["name"]?.stringValue ?? "Consumer",
                    publicKeyPEM: args["public_key"]?.stringValue,
                    secret: args["secret"]?.stringValue, allowImpersonation: args["impersonation"]?.boolValue ?? false))
            return ActionResponse(message: "registered")
        case "selftest":
            return ActionResponse(message: "selftest", output: .object(try await selftest(r)))
        default:
            throw PluginError(code: "unknown_action", message: r.action)
        }
    }

    private func selftest(_ r: ActionRequest) async throws -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        try await host.kvPut("a/1", Data("one".utf8))
        try await host.kvPut("a/2", Data("two".utf8), ttl: .seconds(60))
        try await host.kvPut("b/1", Data("other".utf8))
        out["kv_get"] = .string(String(decoding: try await host.kvGet("a/1") ?? Data(), as: UTF8.self))
        out["kv_list"] = .array(try await host.kvList(prefix: "a/").map { .string($0) })
        out["cas_wrong"] = .bool(try await host.kvCompareAndSet("a/1", expected: Data("nope".utf8), replacement: Data("x".utf8)))
        out["cas_right"] = .bool(try await host.kvCompareAndSet("a/1", expected: Data("one".utf8), replacement: Data("uno".utf8)))
        out["cas_insert_existing"] = .bool(try await host.kvCompareAndSet("a/2", expected: nil, replacement: Data("x".utf8)))
        try await host.kvDelete("b/1")
        out["kv_deleted"] = .bool(try await host.kvGet("b/1") == nil)
        let sealed = try await host.seal(Data("hush".utf8))
        out["sealed_differs"] = .bool(sealed != Data("hush".utf8))
        out["opened"] = .string(String(decoding: try await host.open(sealed), as: UTF8.self))
        out["random_len"] = .number(Double(try await host.randomBytes(16).count))
        out["sha256_abc"] = .string(hex(try await host.digest(.sha256, Data("abc".utf8))))
        out["hmac_sha1"] = .string(
            hex(try await host.hmac(.sha1, key: Data("key".utf8), Data("The quick brown fox jumps over the lazy dog".utf8))))
        let pair = try await host.rsaGenerate(bits: 2048)
        let sig = try await host.rsaSign(.sha256, privateKeyPEM: pair.privateKeyPEM, Data("msg".utf8))
        out["rsa_verify"] = .bool(try await host.rsaVerify(.sha256, publicKeyPEM: pair.publicKeyPEM, Data("msg".utf8), signature: sig))
        out["rsa_verify_tampered"] = .bool(
            try await host.rsaVerify(.sha256, publicKeyPEM: pair.publicKeyPEM, Data("msG".utf8), signature: sig))
        let info = try await host.instanceInfo()
        let instanceSig = try await host.rsaSign(.sha1, privateKeyPEM: nil, Data("base".utf8))
        out["instance_sign_verifies"] = .bool(
            try await host.rsaVerify(.sha1, publicKeyPEM: info.publicKeyPEM, Data("base".utf8), signature: instanceSig))
        out["instance_id"] = .string(info.id)
        out["instance_name"] = .string(info.name)
        out["links"] = .number(Double(try await host.links().count))
        out["link_get"] = .string(try await host.link(id: r.link.id)?.name ?? "")
        out["link_get_missing"] = .bool(try await host.link(id: "00000000-0000-0000-0000-000000000000") == nil)
        do {
            _ = try await host.accessToken(forLink: "00000000-0000-0000-0000-000000000000")
        } catch let e as AppLinksError {
            out["access_token_missing_link"] = .string(e.code.description)
        }
        do {
            _ = try await host.accessToken(forLink: r.link.id)
        } catch {
            out["access_token_refused"] = .string("\(error)")
        }
        try await host.audit(action: "selftest", linkID: r.link.id, detail: ["ok": true])
        host.log(.info, "selftest done")
        return out
    }

    /// The OAuth 1.0 provider, mounted on Atlassian's paths, verifying against the public base URL.
    private func oauthProvider(_ r: PluginHTTPRequest) async throws -> PluginHTTPResponse {
        // The fixture's consumers have no link of their own: each is admitted at every level.
        let routes = OAuth1ProviderRoutes(host: host, baseURL: r.baseURL, admission: { _ in .allowed(.all) })
        if let answer = try await routes.handle(r) { return answer }
        guard r.method == "GET", r.path == "/plugins/fixture/whoami" else { return PluginHTTPResponse(status: 404) }
        switch await routes.authenticate(r) {
        case .success(let caller):
            return PluginHTTPResponse(
                status: 200,
                body: Data("user=\(caller.user ?? "-") consumer=\(caller.consumer.key) two_legged=\(caller.twoLegged)".utf8))
        case .failure(let refusal):
            return refusal.response
        }
    }

    private func hex(_ d: Data) -> String { d.map { String(format: "%02x", $0) }.joined() }

    func handleHTTP(_ r: PluginHTTPRequest) async throws -> PluginHTTPResponse {
        if r.method == "GET", r.path == "/plugins/fixture/approve", r.query.hasPrefix("draft=") {
            let draft = String(r.query.dropFirst(6))
            try await host.kvPut("approved:\(draft)", Data("yes".utf8), ttl: .seconds(600))
            return PluginHTTPResponse(status: 200, body: Data("approved".utf8)).resuming(draft: draft)
        }
        if r.path.hasPrefix("/plugins/servlet/oauth/") || r.path == "/plugins/fixture/whoami" {
            return try await oauthProvider(r)
        }
        if r.path.hasPrefix("/rest/applinks/3.0/status/") {
            // The status API: the host hands the caller's request to the link's type, which authenticates it.
            guard r.headers.contains(where: { $0.count == 2 && $0[0].lowercased() == "x-fixture-auth" && $0[1] == "let-me-in" }) else {
                return PluginHTTPResponse(status: 401, headers: [["WWW-Authenticate", "Fixture"]], body: Data(#"{"working":false}"#.utf8))
            }
            let id = String(r.path.split(separator: "/").last ?? "")
            let link = try await host.link(id: id)
            return PluginHTTPResponse(
                status: 200, headers: [["Content-Type", "application/json"]],
                body: try JSONCoding.encode(["working": JSONValue.bool(link != nil), "link_id": .string(id)]))
        }
        if r.path == "/plugins/fixture/consent" {
            let who = r.user?.name ?? "nobody"
            if r.method == "GET" {
                // Described, not written as HTML: the host renders it, escapes it, and adds the CSRF token.
                let page: JSONValue = [
                    "title": .string("Allow <Remote> to act as \(who)?"),
                    "paragraphs": ["The application at \"https://remote.example.com\" asks for access."],
                    "form": [
                        "action": "/plugins/fixture/consent", "hidden": ["request": "r-1"],
                        "buttons": [
                            ["name": "decision", "value": "allow", "label": "Allow"],
                            ["name": "decision", "value": "deny", "label": "Deny"],
                        ],
                    ],
                ]
                return PluginHTTPResponse(
                    status: 200, headers: [["Content-Type", "application/vnd.applinks.page+json"]],
                    body: try JSONCoding.encode(page))
            }
            let form = String(decoding: r.body, as: UTF8.self)
            return PluginHTTPResponse(status: 200, body: Data("\(form.contains("decision=allow") ? "allowed" : "denied") by \(who)".utf8))
        }
        if r.path == "/plugins/fixture/admin-only" {
            return PluginHTTPResponse(status: 200, body: Data("admin \(r.user?.name ?? "?")".utf8))
        }
        if r.path == "/plugins/fixture/inline-store" {
            // Outbound HTTP waits for the network, which an inline route may not do: the host refuses it at once.
            let reply = try await host.http(HostHTTPRequest(url: "http://127.0.0.1:9/"))
            return PluginHTTPResponse(status: 200, body: Data("\(reply.status)".utf8))
        }
        if r.path == "/plugins/fixture/inline-task" {
            let answer = await Task { "answered by a task" }.value
            return PluginHTTPResponse(status: 200, body: Data(answer.utf8))
        }
        if r.path == "/plugins/fixture/slow" {
            // Logged so that a test knows the request is in flight without guessing how long that takes.
            host.log(.info, "slow route started")
            try await Task.sleep(for: .milliseconds(1500))
            return PluginHTTPResponse(status: 200, body: Data("finally".utf8))
        }
        guard r.method == "GET", r.path == "/plugins/fixture/hello" else { return PluginHTTPResponse(status: 404) }
        let who = r.user?.name ?? "anonymous"
        return PluginHTTPResponse(
            status: 200, headers: [["Content-Type", "text/plain"]], body: Data("hello \(who) from \(r.baseURL)".utf8))
    }
}

@_cdecl("applinks_plugin_entry")
public func applinksPluginEntry(_ hostABIVersion: UInt32) -> UnsafeRawPointer? {
    PluginExport.entry(FixtureLinkType.self, hostABIVersion: hostABIVersion)
}
