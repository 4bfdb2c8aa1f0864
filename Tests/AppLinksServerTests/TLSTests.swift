import Foundation
import TestSupport
import Testing

extension ServerProcessTests {
    @Suite("serve over TLS")
    struct TLSTests {
        static func certificate(_ dir: TemporaryDirectory, _ name: String) throws -> (cert: URL, key: URL) {
            let (cert, key) = (dir.path("\(name).pem"), dir.path("\(name).key"))
            let r = try runCommand(
                URL(fileURLWithPath: "/usr/bin/openssl"),
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.path, "-out", cert.path, "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                ])
            #expect(r.status == 0, "\(r.stderr)")
            return (cert, key)
        }

        /// curl, which checks the server's certificate against `ca`: its exit status and body.
        static func curl(_ url: String, ca: URL) throws -> (Int32, String) {
            let r = try runCommand(URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "--max-time", "10", "--cacert", ca.path, url])
            return (r.status, r.stdout)
        }

        @Test(
            "HTTPS with a self-signed certificate that curl checks; SIGHUP swaps in a renewed one without a restart, and keeps the old on a bad file"
        )
        func servesAndReloads() async throws {
            let dir = TemporaryDirectory("tls")
            let first = try Self.certificate(dir, "first")
            let live = (dir.path("live.pem"), dir.path("live.key"))
            try FileManager.default.copyItem(at: first.cert, to: live.0)
            try FileManager.default.copyItem(at: first.key, to: live.1)
            let s = try RunningServer(extraEnv: ["APPLINKS_TLS_CERTIFICATE": live.0.path, "APPLINKS_TLS_PRIVATE_KEY": live.1.path])
            #expect(s.output.contains("listening on https://127.0.0.1:\(s.port)"), "\(s.output)")
            let url = "https://127.0.0.1:\(s.port)/healthz"
            #expect(try Self.curl(url, ca: first.cert) == (0, #"{"status":"ok"}"#))
            let plain = try runCommand(
                URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "--max-time", "5", "http://127.0.0.1:\(s.port)/healthz"])
            #expect(plain.status != 0 || !plain.stdout.contains("ok"), "plain HTTP must not be served on the TLS port")

            let renewed = try Self.certificate(dir, "renewed")
            try FileManager.default.removeItem(at: live.0)
            try FileManager.default.removeItem(at: live.1)
            try FileManager.default.copyItem(at: renewed.cert, to: live.0)
            try FileManager.default.copyItem(at: renewed.key, to: live.1)
            kill(s.process.processIdentifier, SIGHUP)
            var switched = false
            for _ in 0..<50 where !switched {
                switched = try Self.curl(url, ca: renewed.cert).0 == 0
                if !switched { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(switched, "the renewed certificate is served after SIGHUP: \(s.log.suffix(600))")
            #expect(try Self.curl(url, ca: first.cert).0 != 0, "the old certificate is no longer served")
            #expect(s.process.isRunning)

            try Data("not a certificate".utf8).write(to: live.0)
            kill(s.process.processIdentifier, SIGHUP)
            let refused = await s.eventually(within: .seconds(30)) { s.log.contains("TLS certificate not reloaded") }
            #expect(refused != nil, "\(s.log.suffix(600))")
            #expect(try Self.curl(url, ca: renewed.cert) == (0, #"{"status":"ok"}"#), "a bad file leaves the working pair in use")
            s.stop()
        }

        @Test("a certificate without its key is a configuration error that says so")
        func halfConfigured() throws {
            let s = try RunningServer()
            s.stop()
            let r = try runCommand(
                BuildProducts.applinks, ["config", "show"], environment: s.env.merging(["APPLINKS_TLS_CERTIFICATE": "/x.pem"]) { _, n in n }
            )
            #expect(r.status == 2 && r.stderr.contains("tls.certificate and tls.private_key go together"), "\(r.stderr)")
        }
    }
}
