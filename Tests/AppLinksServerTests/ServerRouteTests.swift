import AppLinksPluginOAuth1
import Foundation
import Testing

/// The probes, the manifest, the admin API's authentication, the status API and /metrics, in process: the app
/// `applinks serve` builds, with no socket.
@Suite("server routes, in process")
struct ServerRouteTests {
    @Test("the probes answer, and the manifest answers in JSON, and in Atlassian's XML when asked")
    func manifest() async throws {
        try await InProcessServer.run { server in
            let json = try await server.get("/rest/applinks/1.0/manifest")
            #expect(json.status == 200 && json.headers["Content-Type"].first?.hasPrefix("application/json") == true)
            let m = try #require(try JSONSerialization.jsonObject(with: Data(json.body.utf8)) as? [String: Any])
            #expect(
                m["name"] as? String == "In-process host" && m["typeId"] as? String == "applinks" && m["publicSignup"] as? Bool == false)
            #expect(UUID(uuidString: m["id"] as? String ?? "") != nil && m["url"] as? String == "http://127.0.0.1:9999")
            #expect(m["version"] as? String == "0.1.0" && m["applinksVersion"] is String)
            #expect(m["incomingAuthenticationTypes"] as? [String] == ["com.example.applinks.FixtureTokenAuthenticationProvider"])
            let xml = try await server.get("/rest/applinks/1.0/manifest", headers: [("Accept", "application/xml")])
            #expect(xml.status == 200 && xml.headers["Content-Type"].first?.hasPrefix("application/xml") == true)
            let parsed = try #require(LeafXML.parse(Data(xml.body.utf8)))
            #expect(parsed.root == "manifest")
            #expect(
                parsed.values["id"] == [m["id"] as! String] && parsed.values["typeId"] == ["applinks"]
                    && parsed.values["publicSignup"] == ["false"])
            #expect(parsed.values["incomingAuthenticationType"] == ["com.example.applinks.FixtureTokenAuthenticationProvider"])
            #expect(parsed.values["outgoingAuthenticationType"]?.count == 1)
            #expect(try await server.get("/healthz").body == #"{"status":"ok"}"#)
            #expect(try await server.get("/readyz").status == 200)
            // The manifest is made once, and made again when the enabled link types change.
            #expect(try await server.get("/rest/applinks/1.0/manifest").body == json.body)
            _ = try await server.deployment.setLinkTypeEnabled("fixture", enabled: false)
            let without = try await server.get("/rest/applinks/1.0/manifest")
            let w = try #require(try JSONSerialization.jsonObject(with: Data(without.body.utf8)) as? [String: Any])
            #expect(w["incomingAuthenticationTypes"] as? [String] == [] && w["id"] as? String == m["id"] as? String)
            let withoutXML = try await server.get("/rest/applinks/1.0/manifest", headers: [("Accept", "application/xml")])
            #expect(LeafXML.parse(Data(withoutXML.body.utf8))?.values["incomingAuthenticationType"] == nil)
            _ = try await server.deployment.setLinkTypeEnabled("fixture", enabled: true)
            #expect(try await server.get("/rest/applinks/1.0/manifest").body == json.body)
        }
    }

    @Test("the admin API: 401 with a challenge without credentials or with a wrong password, 403 for a non-admin, 200 for an admin")
    func adminAPI() async throws {
        try await InProcessServer.run { server in
            _ = try await server.deployment.addUser("root", password: "correct horse battery", admin: true)
            _ = try await server.deployment.addUser("viewer", password: "correct horse battery", admin: false)
            func basic(_ user: String, _ password: String) -> [(String, String)] {
                [("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())]
            }
            let none = try await server.get("/rest/applinks/3.0/links")
            #expect(none.status == 401 && !none.headers["WWW-Authenticate"].isEmpty)
            #expect(try await server.get("/rest/applinks/3.0/links", headers: basic("root", "wrong password!")).status == 401)
            #expect(try await server.get("/rest/applinks/3.0/links", headers: basic("viewer", "correct horse battery")).status == 403)
            let admin = try await server.get("/rest/applinks/3.0/links", headers: basic("root", "correct horse battery"))
            #expect(admin.status == 200 && admin.body == "[]")
        }
    }

    @Test("the status API hands the caller to the link's type, which authenticates it")
    func statusAPI() async throws {
        try await InProcessServer.run { server in
            let id = try await server.createFixtureLink(name: "S", url: "https://s.example.com")
            let refused = try await server.get("/rest/applinks/3.0/status/\(id)")
            #expect(
                refused.status == 401 && refused.headers["WWW-Authenticate"].first == "Fixture" && refused.body == #"{"working":false}"#)
            let ok = try await server.get("/rest/applinks/3.0/status/\(id)", headers: [("X-Fixture-Auth", "let-me-in")])
            #expect(ok.status == 200 && ok.body == #"{"link_id":"\#(id)","working":true}"#)
            #expect(try await server.get("/rest/applinks/3.0/status/00000000-0000-0000-0000-000000000000").status == 404)
        }
    }

    @Test("/metrics counts requests by route and status, times them, gives links by status category, and calls by link type")
    func metrics() async throws {
        try await InProcessServer.run { server in
            let id = try await server.createFixtureLink(name: "M", url: "https://m.example.com")
            _ = try await server.deployment.checkStatus(of: [try await server.deployment.resolveLink(id)])
            for _ in 0..<3 { _ = try await server.get("/rest/applinks/1.0/manifest") }
            _ = try await server.get("/no/such/page")
            let text = try await server.get("/metrics").body
            #expect(text.contains(#"applinks_http_requests_total{method="GET",route="/rest/applinks/1.0/manifest",status="200"} 3"#))
            #expect(text.contains(#"status="404""#))
            #expect(text.contains("applinks_http_request_duration_seconds_bucket"))
            #expect(
                text.contains(#"applinks_links{category="CONNECTED"} 1"#) && text.contains(#"applinks_links{category="NETWORK_ERROR"} 0"#))
            // Calls into the link type from this server: its route, twice, with their latency.
            for _ in 0..<2 { #expect(try await server.get("/plugins/fixture/hello").status == 200) }
            let after = try await server.get("/metrics").body
            let labels = #"link_type="fixture",function="handle_http""#
            #expect(after.contains("applinks_plugin_calls_total{\(labels),outcome=\"ok\"} 2"), "\(after)")
            #expect(after.contains("applinks_plugin_calls_total{\(labels),outcome=\"failed\"} 0"))
            #expect(after.contains("applinks_plugin_call_duration_seconds_bucket{\(labels),le=\"+Inf\"} 2"))
            #expect(after.contains("applinks_plugin_call_duration_seconds_count{\(labels)} 2"))
            // The sweep that ran at start was timed.
            #expect(after.contains("applinks_status_sweep_duration_seconds_count"), "\(after)")
            // The store's pool: GRDB's five readers and one writer, and at least the request's own read counted.
            #expect(after.contains("applinks_store_pool_connections 6\n"), "\(after)")
            #expect(after.firstMatch(of: /applinks_store_operations_in_flight_peak [1-9]/) != nil, "\(after)")
            #expect(after.firstMatch(of: /applinks_store_operations_in_flight \d+\n/) != nil, "\(after)")
        }
    }
}
