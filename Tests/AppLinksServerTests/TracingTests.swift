import Foundation
import TestSupport
import Testing

extension ServerProcessTests {
    /// `tracing.otlp_endpoint`: spans exported over OTLP/HTTP, read back by otlp_receiver.py, which decodes them with
    /// the OpenTelemetry project's protobuf definitions.
    @Suite("OpenTelemetry traces")
    struct TracingTests {
        static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

        /// otlp_receiver.py, writing each span it receives to a file as one JSON object per line.
        final class Receiver {
            let process = Process()
            let port: Int
            let out: URL

            init(out: URL) throws {
                self.out = out
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = ["python3", TracingTests.here.appendingPathComponent("otlp_receiver.py").path, out.path]
                let pipe = Pipe()
                process.standardOutput = pipe
                process.standardError = FileHandle.standardError
                try process.run()
                var line = Data()
                while !line.contains(UInt8(ascii: "\n")) {
                    let chunk = pipe.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    line.append(chunk)
                }
                guard let p = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
                    throw CompileError(message: "otlp_receiver.py did not start: \(String(decoding: line, as: UTF8.self))")
                }
                port = p
            }

            var spans: [[String: Any]] {
                let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
                return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            }

            func stop() {
                guard process.isRunning else { return }
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }

            deinit { stop() }
        }

        static func attributes(_ span: [String: Any]) -> [String: Any] { span["attributes"] as? [String: Any] ?? [:] }

        @Test(
            "a wizard request, its plugin call, the outbound request and the remote's answer are one trace; no secret in any span",
            arguments: [false, true])
        func oneTrace(isolated: Bool) async throws {
            let dir = TemporaryDirectory("tracing")
            let receiver = try Receiver(out: dir.path("spans.jsonl"))
            defer { receiver.stop() }
            let port = try freeLoopbackPort()
            var env = [
                "APPLINKS_BASE_URL": "http://127.0.0.1:\(port)", "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "true",
                "APPLINKS_TRACING_OTLP_ENDPOINT": "http://127.0.0.1:\(receiver.port)", "OTEL_BSP_SCHEDULE_DELAY": "100",
            ]
            if isolated { env["APPLINKS_PLUGINS_ISOLATION"] = "jenkins=process" }
            let s = try RunningServer(extraEnv: env, listen: "127.0.0.1:\(port)")
            let admin = try s.token(user: "root", admin: true)
            let secret = "shared-secret-never-traced-41"

            // The wizard's first step probes the address it is given: here this same server, so that the remote's
            // side of the outbound request is traced too, through the traceparent header it carries.
            let probe = try await s.send(
                "POST", "/rest/applinks/3.0/wizard/jenkins", headers: [("Authorization", "Bearer \(admin)")],
                body: #"{"answers": {"url": "http://127.0.0.1:\#(port)/not-jenkins", "consumer_key": "k", "shared_secret": "\#(secret)"}}"#)
            #expect(probe.body.contains("Jenkins"), "\(probe.body)")
            #expect(try await s.get("/healthz?code=one-time-code-never-traced-73&x=1").status == 200)
            s.stop()

            var spans: [[String: Any]] = []
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                spans = receiver.spans
                if spans.contains(where: { Self.attributes($0)["url.path"] as? String == "/not-jenkins/" }) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let log: Comment = "\(spans)\n\(s.log)"
            for span in spans {
                #expect((span["problems"] as? [String])?.isEmpty == true, "\(span)")
                #expect(span["service"] as? String == "applinks", "\(span)")
            }
            func server(_ path: String) -> [String: Any]? {
                spans.first { $0["kind"] as? String == "SPAN_KIND_SERVER" && Self.attributes($0)["url.path"] as? String == path }
            }
            let request = try #require(server("/rest/applinks/3.0/wizard/jenkins"), log)
            let clients = spans.filter { $0["kind"] as? String == "SPAN_KIND_CLIENT" }
            #expect(clients.count == 1, "one span per outbound request: \(clients)")
            let client = try #require(clients.first, log)
            let plugin = try #require(spans.first { $0["span_id"] as? String == client["parent_span_id"] as? String }, log)
            #expect(plugin["name"] as? String == "plugin jenkins wizard_step", log)
            let remote = try #require(server("/not-jenkins/"), log)

            #expect(plugin["parent_span_id"] as? String == request["span_id"] as? String, log)
            #expect(remote["parent_span_id"] as? String == client["span_id"] as? String, log)
            let trace = request["trace_id"] as? String
            #expect([plugin, client, remote].allSatisfy { span in span["trace_id"] as? String == trace }, log)
            let c = Self.attributes(client)
            #expect(c["server.address"] as? String == "127.0.0.1" && c["server.port"] as? Int == port, "\(c)")
            #expect(c["url.full"] as? String == "http://127.0.0.1:\(port)/not-jenkins/", "\(c)")
            #expect(c["http.response.status_code"] as? Int == 404, "\(c)")
            #expect(Self.attributes(plugin)["applinks.link_type"] as? String == "jenkins")
            #expect(Self.attributes(request)["http.response.status_code"] != nil)

            let health = try #require(server("/healthz"), log)
            #expect(Self.attributes(health)["url.query"] as? String == "code=REDACTED&x=1", "\(health)")
            let everything = (try? String(contentsOf: receiver.out, encoding: .utf8)) ?? ""
            #expect(!everything.contains("never-traced"), "a secret reached a span")
            #expect(!everything.contains(admin), "the admin's token reached a span")
        }

        @Test("without tracing.otlp_endpoint nothing is sent; a malformed endpoint is refused with the key's name")
        func offByDefaultAndChecked() async throws {
            let dir = TemporaryDirectory("tracing-off")
            let receiver = try Receiver(out: dir.path("spans.jsonl"))
            defer { receiver.stop() }
            // The standard variables alone do not turn tracing on: the config decides.
            let s = try RunningServer(extraEnv: [
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(receiver.port)", "OTEL_BSP_SCHEDULE_DELAY": "100",
            ])
            #expect(try await s.get("/healthz").status == 200)
            // The server has exited: a span it exported at shutdown was answered, and so written, before it did.
            s.stop()
            #expect(receiver.spans.isEmpty)

            let home = TemporaryDirectory("tracing-bad")
            let env = RunningServer.environment(home: home.path("home")).merging(["APPLINKS_TRACING_OTLP_ENDPOINT": "collector:4318"]) {
                _, n in n
            }
            _ = try runCommand(
                BuildProducts.applinks, ["init", "--name", "T"], environment: RunningServer.environment(home: home.path("home")))
            let refused = try runCommand(BuildProducts.applinks, ["serve", "--listen", "127.0.0.1:0"], environment: env)
            #expect(refused.status != 0)
            #expect(
                refused.stderr.contains("tracing.otlp_endpoint") && refused.stderr.contains("http://127.0.0.1:4318"), "\(refused.stderr)")
            let ratio = try runCommand(
                BuildProducts.applinks, ["serve", "--listen", "127.0.0.1:0"],
                environment: RunningServer.environment(home: home.path("home")).merging(["APPLINKS_TRACING_SAMPLE_RATIO": "2"]) { _, n in n
                })
            #expect(ratio.status != 0 && ratio.stderr.contains("tracing.sample_ratio must be from 0"), "\(ratio.stderr)")
        }
    }
}
