import Foundation
import TestSupport
import Testing

extension ServerProcessTests {
    @Suite("Web administration")
    struct WebAdminTests {
        /// A server with the built link types and the fixture, with no administrator yet.
        static func server() throws -> RunningServer {
            let port = try freeLoopbackPort()
            return try RunningServer(
                extraEnv: ["APPLINKS_BASE_URL": "http://127.0.0.1:\(port)", "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "true"],
                listen: "127.0.0.1:\(port)")
        }

        static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

        @Test(
            "in Chromium: setup, the wizard, credentials used by authlib, a typed action, live updates, a two-way link made and deleted in the browser, escaping, and a non-admin's 403; axe finds nothing serious"
        )
        func browser() async throws {
            let (a, b) = (try Self.server(), try Self.server())
            let shots = ProcessInfo.processInfo.environment["APPLINKS_SCREENSHOTS"] ?? a.dir.path("screenshots").path
            try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
            let config: [String: Any] = [
                "a": "http://127.0.0.1:\(a.port)", "b": "http://127.0.0.1:\(b.port)", "a_code": try a.setupCode(),
                "b_code": try b.setupCode(), "applinks": BuildProducts.applinks.path, "a_env": a.env, "b_env": b.env,
                "screenshots": shots,
            ]
            let json = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
            let r = try await offPool {
                try runCommand(
                    URL(fileURLWithPath: "/usr/bin/env"),
                    ["python3", Self.script.appendingPathComponent("web_admin_browser.py").path, json])
            }
            #expect(r.status == 0, "the browser test failed: \(r.stderr)\n\(r.stdout)\nserver A log: \(a.log.suffix(3000))")
            guard r.status == 0 else { return }
            let report = try? JSONSerialization.jsonObject(with: Data((r.stdout.split(separator: "\n").last ?? "").utf8)) as? [String: Any]
            let pages = report?["pages_checked"] as? [String] ?? []
            for page in [
                "setup", "links-empty", "wizard", "wizard-errors", "created", "link", "credentials", "links", "link-types", "audit",
            ] {
                #expect(pages.contains(page), "axe and a screenshot for \(page): \(pages)")
            }
            #expect(FileManager.default.fileExists(atPath: shots + "/links.png"))
            a.stop()
            b.stop()
        }

        @Test("headers and refusals: CSP without inline script, 403 for a non-admin, a stale form changes nothing, one-time setup code")
        func refusals() async throws {
            let s = try Self.server()
            let code = try s.setupCode()
            #expect(try await s.get("/").headers["Location"].first == "/setup")
            let setup = try await s.get("/setup")
            let csp = setup.headers["Content-Security-Policy"].first ?? ""
            #expect(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"), "\(csp)")
            #expect(setup.headers["X-Frame-Options"].first == "DENY")

            // The page's script and stylesheet are same-origin, hashed and cacheable.
            let scriptPath = try #require(setup.body.firstMatch(of: /src="(\/static\/applinks\.[0-9a-f]+\.js)"/)).1
            let script = try await s.get(String(scriptPath))
            #expect(script.status == 200 && script.headers["Cache-Control"].first?.contains("immutable") == true)
            #expect(try await s.get("/static/applinks.0000.js").status == 404)

            // The code works once: a form without the login CSRF cookie is refused, a wrong code too, then the right one.
            let csrf = try #require(Browser.hidden("csrf_token", in: setup.body))
            let cookie = try #require(setup.headers["Set-Cookie"].first?.split(separator: ";").first.map(String.init))
            func post(_ code: String, cookie: String?) async throws -> (status: Int, headers: HTTPHeadersLike, body: String) {
                var headers = [("Content-Type", "application/x-www-form-urlencoded")]
                if let cookie { headers.append(("Cookie", cookie)) }
                let r = try await s.send(
                    "POST", "/setup", headers: headers,
                    body:
                        "csrf_token=\(csrf)&code=\(code)&username=root&password=correct+horse+battery&password_again=correct+horse+battery")
                return (r.status, HTTPHeadersLike(r.headers.map { ($0.name, $0.value) }), r.body)
            }
            #expect(try await post(code, cookie: nil).status == 403)
            #expect(try await post("WRONG-CODE-0000-0000", cookie: cookie).status == 401)
            let made = try await post(code, cookie: cookie)
            #expect(made.status == 303 && made.headers["Location"] == "/admin/applinks", "\(made.body)")
            #expect(try await post(code, cookie: cookie).status == 403, "the page refuses everything once an administrator exists")

            // The reciprocal page sends the browser back only to the application being linked, never elsewhere.
            let admin = try #require(
                made.headers["Set-Cookie"].flatMap { $0.hasPrefix("applinks_session") ? $0 : nil }?.split(separator: ";").first.map(
                    String.init))
            let offsite = try await s.get(
                "/admin/applinks/reciprocal?type=fixture&answer.url=https%3A%2F%2Fapp.example.com&return=https%3A%2F%2Fevil.example%2Fx",
                headers: [("Cookie", admin)])
            #expect(
                offsite.status == 200 && offsite.body.contains("app.example.com") && !offsite.body.contains("evil.example"),
                "\(offsite.body)")
            let onsite = try await s.get(
                "/admin/applinks/reciprocal?type=fixture&answer.url=https%3A%2F%2Fapp.example.com&return=https%3A%2F%2Fapp.example.com%2Fback",
                headers: [("Cookie", admin)])
            #expect(onsite.body.contains("https://app.example.com/back"), "\(onsite.body)")

            // A user who is not an administrator: 403 on every admin page, in HTML.
            _ = try s.token(user: "bob", admin: false)
            let login = try await s.get("/login")
            let loginCSRF = try #require(Browser.hidden("csrf_token", in: login.body))
            let loginCookie = try #require(login.headers["Set-Cookie"].first?.split(separator: ";").first.map(String.init))
            let loggedIn = try await s.send(
                "POST", "/login", headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", loginCookie)],
                body: "csrf_token=\(loginCSRF)&username=bob&password=correct+horse+battery&next=%2F")
            let session = try #require(
                loggedIn.headers["Set-Cookie"].first { $0.hasPrefix("applinks_session") }?.split(separator: ";").first.map(String.init))
            for path in ["/admin/applinks", "/admin/applinks/new", "/admin/link-types", "/admin/audit", "/admin/applinks/rows"] {
                let r = try await s.get(path, headers: [("Cookie", session)])
                let refused = r.status == 403 && r.body.contains("Administrators only")
                #expect(refused, "\(path): \(r.status)")
            }
            #expect(try await s.get("/", headers: [("Cookie", session)]).headers["Location"].first == "/account/authorizations")
            #expect(try await s.get("/admin/applinks").headers["Location"].first?.hasPrefix("/login?next=") == true)
            s.stop()
        }
    }
}

/// Response headers by name, for a tuple a test builds itself.
struct HTTPHeadersLike {
    var fields: [(String, String)]
    init(_ fields: [(String, String)]) { self.fields = fields }
    subscript(_ name: String) -> String? { fields.first { $0.0.lowercased() == name.lowercased() }?.1 }
}
