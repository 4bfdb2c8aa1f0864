import Foundation
import TestSupport
import Testing

extension ServerProcessTests {
    @Suite("plain HTTP sent to HTTPS, and the headers of a trusted proxy")
    struct HTTPSRedirectTests {
        static let base = "https://applinks.example.com"

        @Test("behind a TLS proxy, what the proxy got over plain HTTP goes to the base URL; only a trusted proxy's word counts")
        func behindAProxy() async throws {
            let proxied = try RunningServer(extraEnv: [
                "APPLINKS_BASE_URL": Self.base, "APPLINKS_SERVER_TRUSTED_PROXIES": "127.0.0.0/8", "APPLINKS_SERVER_REDIRECT_HTTP": "true",
            ])
            let plain = try await proxied.get("/admin/applinks?type=jira&q=a%20b", headers: [("X-Forwarded-Proto", "http")])
            #expect(plain.status == 308, "\(plain)")
            #expect(plain.headers["Location"].first == "\(Self.base)/admin/applinks?type=jira&q=a%20b")
            // The host is always the base URL's, whatever the request names.
            let crafted = try await proxied.get(
                "//evil.example.net/x", headers: [("X-Forwarded-Proto", "http"), ("X-Forwarded-Host", "evil.example.net")])
            #expect(crafted.headers["Location"].first == "\(Self.base)//evil.example.net/x", "\(crafted)")
            // The nearest proxy's value is the one that counts: a client's own "https" before it changes nothing.
            #expect(try await proxied.get("/login", headers: [("X-Forwarded-Proto", "https, http")]).status == 308)
            #expect(try await proxied.get("/login", headers: [("X-Forwarded-Proto", "https")]).status == 200)
            #expect(try await proxied.get("/healthz", headers: [("X-Forwarded-Proto", "http")]).status == 200, "probes stay where they are")
            // The forwarded host reaches the access log, next to the forwarded client.
            _ = try await proxied.get(
                "/healthz", headers: [("X-Forwarded-Host", "applinks.example.com"), ("X-Forwarded-For", "198.51.100.4")])
            let logged = await proxied.eventually(within: .seconds(60)) {
                let log = (try? String(contentsOf: proxied.logFile, encoding: .utf8)) ?? ""
                return log.contains("client=198.51.100.4") && log.contains("host=applinks.example.com")
            }
            #expect(logged != nil, "\((try? String(contentsOf: proxied.logFile, encoding: .utf8))?.suffix(800) ?? "")")
            proxied.stop()

            // Without a trusted proxy, X-Forwarded-Proto is the client's own word: nothing is redirected.
            let direct = try RunningServer(extraEnv: [
                "APPLINKS_BASE_URL": Self.base, "APPLINKS_SERVER_TRUSTED_PROXIES": "10.0.0.0/8", "APPLINKS_SERVER_REDIRECT_HTTP": "true",
            ])
            #expect(try await direct.get("/login", headers: [("X-Forwarded-Proto", "http")]).status == 200)
            direct.stop()
        }

        @Test("with TLS, tls.redirect_from listens for plain HTTP and sends every request to the base URL")
        func redirectListener() async throws {
            let dir = TemporaryDirectory("tls-redirect")
            let pair = try TLSTests.certificate(dir, "pair")
            let plainPort = try freeLoopbackPort()
            let s = try RunningServer(extraEnv: [
                "APPLINKS_TLS_CERTIFICATE": pair.cert.path, "APPLINKS_TLS_PRIVATE_KEY": pair.key.path, "APPLINKS_BASE_URL": Self.base,
                "APPLINKS_TLS_REDIRECT_FROM": "127.0.0.1:\(plainPort)",
            ])
            func plain(_ path: String) throws -> CommandResult {
                try runCommand(
                    URL(fileURLWithPath: "/usr/bin/curl"),
                    [
                        "-s", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                        "http://127.0.0.1:\(plainPort)\(path)",
                    ])
            }
            var answer = try plain("/admin/applinks?page=2")
            for _ in 0..<50 where answer.stdout.hasPrefix("000") {
                try await Task.sleep(for: .milliseconds(100))
                answer = try plain("/admin/applinks?page=2")
            }
            #expect(answer.stdout == "308 \(Self.base)/admin/applinks?page=2", "\(answer.stdout) \(s.log.suffix(600))")
            #expect(try plain("/healthz").stdout.hasPrefix("200"))
            #expect(try TLSTests.curl("https://127.0.0.1:\(s.port)/healthz", ca: pair.cert) == (0, #"{"status":"ok"}"#))
            s.stop()
        }

        @Test("the redirect settings refuse what cannot work, and say why")
        func refusals() throws {
            let s = try RunningServer()
            s.stop()
            func show(_ env: [String: String]) throws -> CommandResult {
                try runCommand(BuildProducts.applinks, ["config", "show"], environment: s.env.merging(env) { _, n in n })
            }
            let noProxy = try show(["APPLINKS_SERVER_REDIRECT_HTTP": "true", "APPLINKS_BASE_URL": Self.base])
            #expect(
                noProxy.status == 2 && noProxy.stderr.contains("server.redirect_http needs server.trusted_proxies"), "\(noProxy.stderr)")
            let noTLS = try show(["APPLINKS_TLS_REDIRECT_FROM": "127.0.0.1:8081", "APPLINKS_BASE_URL": Self.base])
            #expect(noTLS.status == 2 && noTLS.stderr.contains("tls.redirect_from needs tls.certificate"), "\(noTLS.stderr)")
            let plainBase = try show([
                "APPLINKS_SERVER_REDIRECT_HTTP": "true", "APPLINKS_SERVER_TRUSTED_PROXIES": "127.0.0.0/8",
                "APPLINKS_BASE_URL": "http://applinks.example.com",
            ])
            #expect(plainBase.status == 2 && plainBase.stderr.contains("base_url must be https"), "\(plainBase.stderr)")
            let pair = try TLSTests.certificate(TemporaryDirectory("tls-refusals"), "pair")
            let badAddress = try show([
                "APPLINKS_TLS_CERTIFICATE": pair.cert.path, "APPLINKS_TLS_PRIVATE_KEY": pair.key.path, "APPLINKS_BASE_URL": Self.base,
                "APPLINKS_TLS_REDIRECT_FROM": "port eighty",
            ])
            #expect(badAddress.status == 2 && badAddress.stderr.contains("is not HOST:PORT"), "\(badAddress.stderr)")
            let notBool = try show(["APPLINKS_SERVER_REDIRECT_HTTP": "sometimes"])
            #expect(notBool.status == 2 && notBool.stderr.contains("server.redirect_http"), "\(notBool.stderr)")
        }
    }
}
