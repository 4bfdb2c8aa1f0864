import Foundation
import TestSupport

/// What the tests of outgoing link types do with the host that holds the link.
extension RunningServer {
    /// A server that may call loopback addresses, where these tests' remotes listen, and an administrator's token.
    static func allowingLoopback() throws -> (RunningServer, admin: String) {
        let port = try freeLoopbackPort()
        let s = try RunningServer(
            extraEnv: [
                "APPLINKS_BASE_URL": "http://127.0.0.1:\(port)", "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "true",
                "APPLINKS_HTTP_ALLOW_PRIVATE_ADDRESSES": "true",
            ], listen: "127.0.0.1:\(port)")
        return (s, try s.token(user: "root", admin: true))
    }
}

extension LoopbackServer {
    /// Checks a link's status now, through the admin REST API: `CATEGORY/ERROR_TYPE` and the message.
    func checkStatus(_ link: String, admin: String) async throws -> (String, String) {
        let r = try await send("POST", "/rest/applinks/3.0/links/\(link)/status", headers: [("Authorization", "Bearer \(admin)")])
        let body = (try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any]) ?? [:]
        let s = body["status"] as? [String: Any]
        return (
            [s?["category"] as? String, s?["error_type"] as? String].compactMap { $0 }.joined(separator: "/"),
            s?["message"] as? String ?? ""
        )
    }

    /// The status the links table shows now, without checking: `CATEGORY[/ERROR_TYPE]`.
    func listedStatus(_ link: String, admin: String) async throws -> String {
        let r = try await send("GET", "/rest/applinks/3.0/links/\(link)", headers: [("Authorization", "Bearer \(admin)")])
        let body = (try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any]) ?? [:]
        let s = body["status"] as? [String: Any]
        return [s?["category"] as? String, s?["error_type"] as? String].compactMap { $0 }.joined(separator: "/")
    }

    /// Waits until the links table shows `expected` for the link, as the server's background check after a change
    /// should make it; gives up after 30 s (a bound no busy machine misses for one local check) and returns what
    /// it showed last.
    func listedStatus(_ link: String, admin: String, becomes expected: String) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(30)
        var last = ""
        while ContinuousClock.now < deadline {
            last = try await listedStatus(link, admin: admin)
            if last == expected { return last }
            try await Task.sleep(for: .milliseconds(100))
        }
        return last
    }

    /// `applinks action LINK ARGS… --json`: the exit status, the JSON answer and the error's message. With
    /// `--json` an error comes as JSON on stdout, not on stderr; `stderr` here holds its message either way.
    func action(_ link: String, _ args: String...) throws -> (status: Int32, json: [String: Any], stderr: String) {
        let r = try runCommand(BuildProducts.applinks, ["action", link] + args + ["--json"], environment: env)
        let json = r.jsonObject ?? [:]
        let error = (json["error"] as? [String: Any])?["message"] as? String
        return (r.status, json, r.stderr + (error ?? ""))
    }
}
