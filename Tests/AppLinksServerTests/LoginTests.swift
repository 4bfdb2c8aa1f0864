import AppLinksCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

/// A browser with a cookie jar, enough for forms and redirects.
final class Browser: @unchecked Sendable {
    // Used from one test at a time.
    let server: any ServerUnderTest
    var cookies: [String: String] = [:]
    init(_ server: any ServerUnderTest) { self.server = server }

    func request(
        _ method: String, _ path: String, form: [String: String]? = nil, headers extra: [(String, String)] = []
    )
        async throws -> (status: Int, headers: HTTPHeaders, body: String)
    {
        var headers = extra
        if !cookies.isEmpty { headers.append(("Cookie", cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))) }
        var body: String?
        if let form {
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
            body = form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }.joined(separator: "&")
        }
        let r = try await server.send(method, path, headers: headers, body: body)
        for c in r.headers["Set-Cookie"] {
            let kv = c.split(separator: ";")[0].split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 { if kv[1].isEmpty { cookies[kv[0]] = nil } else { cookies[kv[0]] = kv[1] } }
        }
        return r
    }

    static func hidden(_ name: String, in html: String) -> String? {
        html.firstMatch(of: try! Regex("name=\"\(name)\" value=\"([^\"]*)\""))?.output[1].substring.map(String.init)
    }

    /// Logs in through the form, as a person would.
    func logIn(_ user: String, _ password: String, next: String = "/") async throws -> (status: Int, headers: HTTPHeaders, body: String) {
        let page = try await request("GET", "/login?next=\(next.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
        let csrf = try #require(Self.hidden("csrf_token", in: page.body))
        return try await request(
            "POST", "/login",
            form: [
                "username": user, "password": password, "csrf_token": csrf,
                "next": Self.hidden("next", in: page.body) ?? "/",
            ])
    }
}

/// The login page, sessions and the plugin routes they protect, in process: the app `applinks serve` builds, with
/// no socket. What needs real sockets (client addresses behind a proxy, two hosts' ports) is under
/// `ServerProcessTests`.
@Suite("login, sessions and protected plugin routes")
struct LoginTests {
    /// A server with a user, alice, and an administrator, root.
    static func withServer(
        baseURL: String = "http://127.0.0.1:9999", _ body: @Sendable (InProcessServer) async throws -> Void
    )
        async throws
    {
        try await InProcessServer.run(baseURL: baseURL) { server in
            _ = try await server.token(user: "alice", admin: false)
            _ = try await server.token(user: "root", admin: true)
            try await body(server)
        }
    }

    @Test("a login sets an HttpOnly, SameSite=Lax session cookie and returns to a local next; a forged form is refused")
    func login() async throws {
        try await Self.withServer { server in
            let browser = Browser(server)
            let ok = try await browser.logIn("alice", "correct horse battery", next: "/plugins/fixture/consent?x=1")
            #expect(ok.status == 303 && ok.headers["Location"].first == "/plugins/fixture/consent?x=1")
            let cookie = try #require(ok.headers["Set-Cookie"].first { $0.hasPrefix("applinks_session_") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"))
            // The same form without its CSRF token, or with another, is refused even with the right password.
            let forger = Browser(server)
            _ = try await forger.request("GET", "/login")
            let forged = try await forger.request(
                "POST", "/login", form: ["username": "alice", "password": "correct horse battery", "csrf_token": "guess"])
            #expect(forged.status == 403 && forged.headers["Set-Cookie"].first { $0.hasPrefix("applinks_session_") } == nil)
            let noCookie = Browser(server)
            let page = try await noCookie.request("GET", "/login")
            noCookie.cookies = [:]
            let blind = try await noCookie.request(
                "POST", "/login",
                form: [
                    "username": "alice", "password": "correct horse battery",
                    "csrf_token": Browser.hidden("csrf_token", in: page.body)!,
                ])
            #expect(blind.status == 403)
        }
    }

    @Test(
        "next= only ever leads to a path on this host",
        arguments: ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "evil", "/\t/evil.example/"])
    func openRedirect(next: String) async throws {
        try await Self.withServer { server in
            let r = try await Browser(server).logIn("alice", "correct horse battery", next: next)
            #expect(r.status == 303 && r.headers["Location"].first == "/")
        }
    }

    @Test("wrong passwords get 401, then 429 with Retry-After for that user, even with the right one")
    func throttle() async throws {
        try await Self.withServer { server in
            for _ in 0..<5 {
                let r = try await Browser(server).logIn("alice", "wrong password")
                #expect(r.status == 401 && r.body.contains("Wrong user name or password."))
            }
            let blocked = try await Browser(server).logIn("alice", "correct horse battery")
            #expect(blocked.status == 429 && blocked.headers["Retry-After"].first == "300")
            #expect(try await Browser(server).logIn("root", "correct horse battery").status == 303, "other users are not locked out")
        }
    }

    @Test("200 parallel wrong passwords for one user get at most 5 answers other than 429")
    func throttleRace() async throws {
        try await Self.withServer { server in
            let basic = [("Authorization", "Basic " + Data("alice:wrong password".utf8).base64EncodedString())]
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<200 { group.addTask { try await server.get("/rest/applinks/3.0/links", headers: basic).status } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.count == 200 && Set(statuses).isSubset(of: [401, 429]), "\(Set(statuses))")
            #expect(statuses.filter { $0 != 429 }.count <= 5 && statuses.contains(401), "\(statuses.filter { $0 != 429 }.count)")
            // The right password is refused too now, and a login form for the same user as well.
            #expect(
                try await server.get(
                    "/rest/applinks/3.0/links",
                    headers: [("Authorization", "Basic " + Data("alice:correct horse battery".utf8).base64EncodedString())]
                ).status == 429)
            #expect(try await Browser(server).logIn("alice", "correct horse battery").status == 429)
        }
    }

    @Test("protected routes send a browser to log in, render the plugin's page escaped with a CSRF token, and refuse a forged post")
    func protectedRoutes() async throws {
        try await Self.withServer { server in
            let anonymous = Browser(server)
            let redirect = try await anonymous.request("GET", "/plugins/fixture/consent?request=r-1")
            #expect(
                redirect.status == 303
                    && redirect.headers["Location"].first == "/login?next=%2Fplugins%2Ffixture%2Fconsent%3Frequest%3Dr%2D1")
            #expect(try await anonymous.request("POST", "/plugins/fixture/consent", form: ["decision": "allow"]).status == 401)

            let alice = Browser(server)
            _ = try await alice.logIn("alice", "correct horse battery")
            let page = try await alice.request("GET", "/plugins/fixture/consent")
            #expect(page.status == 200 && page.headers["Content-Type"].first?.hasPrefix("text/html") == true)
            #expect(page.body.contains("Allow &lt;Remote&gt; to act as alice?") && !page.body.contains("<Remote>"))
            #expect(page.body.contains("&quot;https://remote.example.com&quot;"))
            #expect(page.headers["X-Frame-Options"].first == "DENY")
            let csrf = try #require(Browser.hidden("csrf_token", in: page.body))
            let forged = try await alice.request("POST", "/plugins/fixture/consent", form: ["decision": "allow", "request": "r-1"])
            #expect(forged.status == 403 && forged.body.contains("CSRF"))
            let allowed = try await alice.request(
                "POST", "/plugins/fixture/consent", form: ["decision": "allow", "request": "r-1", "csrf_token": csrf])
            #expect(allowed.status == 200 && allowed.body == "allowed by alice")
            #expect(try await alice.request("GET", "/plugins/fixture/admin-only").status == 403)
            let root = Browser(server)
            _ = try await root.logIn("root", "correct horse battery")
            let admin = try await root.request("GET", "/plugins/fixture/admin-only")
            #expect(admin.status == 200 && admin.body == "admin root")
        }
    }

    @Test("a new password or a deleted user ends sessions and revokes tokens; a demoted admin loses admin pages at once")
    func credentialsEnd() async throws {
        try await InProcessServer.run { server in
            let rootToken = try await server.token(user: "root", admin: true)
            let bobToken = try await server.token(user: "bob", admin: true)
            let api = { (token: String) in
                try await server.get("/rest/applinks/3.0/links", headers: [("Authorization", "Bearer \(token)")]).status
            }
            let root = Browser(server), bob = Browser(server)
            #expect(try await root.logIn("root", "correct horse battery").status == 303)
            #expect(try await bob.logIn("bob", "correct horse battery").status == 303)
            #expect(try await root.request("GET", "/plugins/fixture/admin-only").status == 200)
            #expect(try await bob.request("GET", "/plugins/fixture/admin-only").status == 200)
            // Demoted: the open session loses the admin page at its next request, and the token the admin API.
            try await server.deployment.setAdmin("root", admin: false)
            #expect(try await root.request("GET", "/plugins/fixture/admin-only").status == 403)
            #expect(try await root.request("GET", "/plugins/fixture/consent").status == 200, "still logged in, as a user")
            #expect(try await api(rootToken) == 403)
            // A new password: every session of the user ends, and every personal token is revoked.
            try await server.deployment.setPassword("bob", password: "another long password")
            #expect(try await bob.request("GET", "/plugins/fixture/consent").status == 303, "the session ended")
            #expect(try await api(bobToken) == 401)
            #expect(try await Browser(server).logIn("bob", "another long password").status == 303, "the new password works")
            // Deleted and added again under the same name: the old session does not come back.
            let again = Browser(server)
            #expect(try await again.logIn("bob", "another long password").status == 303)
            try await server.deployment.deleteUser("bob")
            _ = try await server.token(user: "bob", admin: false)
            #expect(try await again.request("GET", "/plugins/fixture/consent").status == 303)
        }
    }

    @Test("logout needs the session's CSRF token and ends the session")
    func logout() async throws {
        try await Self.withServer { server in
            let alice = Browser(server)
            _ = try await alice.logIn("alice", "correct horse battery")
            let confirm = try await alice.request("GET", "/logout")
            let csrf = try #require(Browser.hidden("csrf_token", in: confirm.body))
            #expect(try await alice.request("POST", "/logout", form: [:]).status == 403)
            let out = try await alice.request("POST", "/logout", form: ["csrf_token": csrf])
            #expect(out.status == 303 && out.headers["Location"].first == "/login")
            #expect(try await alice.request("GET", "/plugins/fixture/consent").status == 303, "the session is gone")
        }
    }

    @Test("the session cookie is __Host- prefixed and Secure when the public base URL is https")
    func secureCookie() async throws {
        try await Self.withServer(baseURL: "https://applinks.example.com") { server in
            let r = try await Browser(server).logIn("alice", "correct horse battery")
            let cookie = r.headers["Set-Cookie"].first { $0.hasPrefix("__Host-applinks_session=") }
            #expect(
                cookie?.contains("Secure") == true && cookie?.contains("Path=/") == true && cookie?.contains("Domain") == false,
                "\(r.headers)")
        }
    }
}

extension ServerProcessTests {
    @Suite("login behind a trusted proxy, and two hosts on one machine")
    struct LoginProcessTests {
        static func server(env: [String: String] = [:]) throws -> RunningServer {
            let s = try RunningServer(extraEnv: env)
            _ = try s.token(user: "alice", admin: false)
            _ = try s.token(user: "root", admin: true)
            return s
        }

        @Test("X-Forwarded-For names the client only from a trusted proxy; IPv6 clients are counted by their /64")
        func forwardedClients() async throws {
            func failures(_ server: RunningServer, from client: String, users: Range<Int>) async throws -> [Int] {
                var statuses: [Int] = []
                for i in users {
                    let basic = "Basic " + Data("nobody\(i):wrong password".utf8).base64EncodedString()
                    statuses.append(
                        try await server.get(
                            "/rest/applinks/3.0/links", headers: [("Authorization", basic), ("X-Forwarded-For", "203.0.113.9, \(client)")]
                        ).status)
                }
                return statuses
            }
            // Behind a trusted proxy, each client has its own budget of 20 failures, whatever the user names.
            let proxied = try Self.server(env: ["APPLINKS_SERVER_TRUSTED_PROXIES": "127.0.0.0/8"])
            #expect(try await failures(proxied, from: "198.51.100.7", users: 0..<20).allSatisfy { $0 == 401 })
            #expect(try await failures(proxied, from: "198.51.100.7", users: 20..<21) == [429])
            #expect(try await failures(proxied, from: "198.51.100.8", users: 21..<22) == [401], "another client is not blocked")
            #expect(try await failures(proxied, from: "2001:db8:1:2::1", users: 30..<50).allSatisfy { $0 == 401 })
            #expect(try await failures(proxied, from: "2001:db8:1:2:ffff::9", users: 50..<51) == [429], "the same /64")
            #expect(try await failures(proxied, from: "2001:db8:1:3::1", users: 51..<52) == [401], "another /64")
            // Without trusted proxies the header is the client's own word, and changes nothing.
            let direct = try Self.server()
            for i in 0..<20 {
                #expect(try await failures(direct, from: "198.51.100.\(i)", users: i..<(i + 1)) == [401])
            }
            #expect(try await failures(direct, from: "198.51.100.200", users: 20..<21) == [429])
        }

        @Test("two hosts on one machine keep their own sessions: cookies ignore the port, so their names differ")
        func hostsOnOneMachine() async throws {
            let (a, b) = (try Self.server(), try Self.server())
            // One cookie jar for both, as a browser keeps one for 127.0.0.1 whatever the port.
            let onA = Browser(a), onB = Browser(b)
            #expect(try await onA.logIn("alice", "correct horse battery").status == 303)
            onB.cookies = onA.cookies
            #expect(try await onB.logIn("alice", "correct horse battery").status == 303)
            onA.cookies.merge(onB.cookies) { _, fromB in fromB }
            #expect(try await onA.request("GET", "/plugins/fixture/consent").status == 200, "logging in to B kept A's session")
            #expect(try await onB.request("GET", "/plugins/fixture/consent").status == 200)
        }
    }
}
