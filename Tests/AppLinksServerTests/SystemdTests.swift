import Foundation
import TestSupport
import Testing

extension ServerProcessTests {
    @Suite("systemd: the unit and the notify protocol")
    struct SystemdTests {
        static let unit = BuildProducts.repositoryRoot.appendingPathComponent("packaging/applinks.service")

        @Test("packaging/applinks.service passes systemd-analyze verify, and its exposure score is OK (below 4.0)")
        func unitFile() throws {
            let dir = TemporaryDirectory("unit")
            let text = try String(contentsOf: Self.unit, encoding: .utf8)
            #expect(text.contains("Type=notify") && text.contains("WatchdogSec=") && text.contains("StateDirectory=applinks"))
            // verify checks that ExecStart's program exists: point it at the one just built.
            let copy = dir.path("applinks.service")
            try text.replacingOccurrences(of: "/usr/local/bin/applinks", with: BuildProducts.applinks.path).write(
                to: copy, atomically: true, encoding: .utf8)
            let verify = try runCommand(URL(fileURLWithPath: "/usr/bin/systemd-analyze"), ["verify", copy.path])
            #expect(verify.status == 0 && verify.stderr.isEmpty, "\(verify.stderr)")
            let security = try runCommand(URL(fileURLWithPath: "/usr/bin/systemd-analyze"), ["security", "--offline=true", copy.path])
            let score = security.stdout.firstMatch(of: /exposure level for applinks\.service: (\d+\.\d)/).flatMap { Double($0.1) }
            #expect(score != nil && score! < 4.0, "\(security.stdout.suffix(400))")
        }

        @Test("serve tells systemd READY=1 once it listens, pings WATCHDOG=1 at half the interval, and says STOPPING=1")
        func notifyProtocol() async throws {
            let dir = TemporaryDirectory("notify")
            let socket = dir.path("notify.sock").path
            let listener = Process()
            listener.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            listener.arguments = [
                "python3", "-c",
                """
                import socket, sys
                s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(20)
                print("bound", flush=True)
                while True:
                    m = s.recv(4096).decode().replace("\\n", "|"); print(m, flush=True)
                    if m.startswith("STOPPING=1"): break
                """, socket,
            ]
            let out = Pipe()
            listener.standardOutput = out
            try listener.run()
            var heard = ""
            while !heard.contains("bound") {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                heard += String(decoding: chunk, as: UTF8.self)
            }
            let s = try RunningServer(extraEnv: ["NOTIFY_SOCKET": socket, "WATCHDOG_USEC": "400000"])
            // Two pings heard, however long the machine takes to send them.
            while heard.components(separatedBy: "WATCHDOG=1").count < 3 {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                heard += String(decoding: chunk, as: UTF8.self)
            }
            s.stop()
            listener.waitUntilExit()
            heard += String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let lines = heard.split(separator: "\n").map(String.init)
            #expect(lines.contains { $0.hasPrefix("READY=1|STATUS=Serving on 127.0.0.1:\(s.port)|MAINPID=") }, "\(heard)")
            #expect(lines.filter { $0 == "WATCHDOG=1" }.count >= 2, "\(heard)")
            #expect(lines.last == "STOPPING=1", "\(heard)")
        }
    }
}
