import Foundation
import TestSupport
import Testing

extension ServerProcessTests {
    @Suite("log.format json")
    struct LogFormatTests {
        @Test("every line serve writes is one JSON object with timestamp, level and message; requests carry their id; no password")
        func jsonLines() async throws {
            let s = try RunningServer(extraEnv: ["APPLINKS_LOG_FORMAT": "json"])
            #expect(try await s.get("/healthz").status == 200)
            #expect(try await s.get("/no/such/page").status == 404)
            let login = try await s.get("/login")
            let csrf = try #require(Browser.hidden("csrf_token", in: login.body))
            let cookie = try #require(login.headers["Set-Cookie"].first?.split(separator: ";").first.map(String.init))
            let refused = try await s.send(
                "POST", "/login", headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", cookie)],
                body: "csrf_token=\(csrf)&username=nobody&password=hunter2-secret&next=%2F")
            #expect(refused.status == 401)
            s.stop()

            let lines = s.log.split(separator: "\n").map(String.init)
            #expect(lines.count >= 4, "\(s.log)")
            var requestIDs = 0
            for line in lines {
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object != nil, "not one JSON object: \(line)")
                guard let object else { continue }
                let stamp = object["timestamp"] as? String ?? ""
                #expect(stamp.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(line)")
                #expect(object["level"] is String && object["message"] is String, "\(line)")
                if (object["message"] as? String)?.hasPrefix("GET /no/such/page 404") == true {
                    #expect((object["request_id"] as? String)?.isEmpty == false, "\(line)")
                    requestIDs += 1
                }
            }
            #expect(requestIDs == 1, "the 404's access log line: \(s.log)")
            #expect(!s.log.contains("hunter2-secret"))
            #expect(lines.contains { $0.contains("login failed") }, "\(s.log)")
        }

        @Test("log.level with exceptions per module: the access log alone can be silenced, or kept while everything else is quiet")
        func moduleLevels() async throws {
            func lines(_ env: [String: String]) async throws -> [[String: Any]] {
                let s = try RunningServer(extraEnv: env.merging(["APPLINKS_LOG_FORMAT": "json"]) { _, n in n })
                #expect(try await s.get("/healthz").status == 200)
                s.stop()
                return s.log.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            }
            func accessLog(_ l: [[String: Any]]) -> Bool {
                l.contains { ($0["message"] as? String)?.hasPrefix("GET /healthz 200") == true }
            }
            func started(_ l: [[String: Any]]) -> Bool { l.contains { ($0["message"] as? String)?.hasPrefix("Server started") == true } }

            let quietAccess = try await lines(["APPLINKS_LOG_MODULES": "AppLinksServer=warning"])
            #expect(!accessLog(quietAccess) && started(quietAccess), "\(quietAccess)")
            #expect(!quietAccess.contains { $0["source"] as? String == "AppLinksServer" && $0["level"] as? String == "info" })

            let onlyAccess = try await lines(["APPLINKS_LOG_LEVEL": "warning", "APPLINKS_LOG_MODULES": "AppLinksServer=info"])
            #expect(accessLog(onlyAccess) && !started(onlyAccess), "\(onlyAccess)")
        }
    }
}
