import AppLinksCore
import AppLinksJSON
import AppLinksPluginKit
import Foundation

/// Jenkins' actions, each declared once: its descriptor entry beside the method that runs it.
extension JenkinsLinkType {
    static let actions: [DeclaredAction<JenkinsLinkType>] = [
        signed(.init(id: "authorize", title: "Authorize again as a Jenkins user: prints the URL to approve"), authorize),
        signed(.init(id: "list-jobs", title: "Every job, folders included"), listJobs),
        signed(
            .init(
                id: "trigger-build", title: "Start a build; other --arg NAME=VALUE are the job's build parameters",
                params: [.init(name: "job", type: .string, required: true, help: "The job's path, such as 'Team A/Deploy'")],
                extraParams: true),
            triggerBuild),
        signed(
            .init(
                id: "build-status", title: "The last build's number, result, duration and URL",
                params: [.init(name: "job", type: .string, required: true, help: "The job's path")]),
            buildStatus),
        signed(
            .init(id: "open", title: "The job's URL", params: [.init(name: "job", type: .string, required: true, help: "The job's path")]),
            open),
        .setCredentials(
            what: "consumer credentials", title: "Replace the consumer key or shared secret",
            config: [.init(name: "consumer_key", type: .string, help: "The consumer's key in Jenkins")],
            secrets: [.init(name: "shared_secret", type: .secret, help: "The consumer's shared secret")]),
    ]

    static let routes: [DeclaredRoute<JenkinsLinkType>] = [
        DeclaredRoute(.init(method: "GET", path: JenkinsAuthorization.callbackPath)) { plugin, r in
            try await plugin.authorization.callback(r)
        }
    ]

    /// An action that talks to Jenkins with the link's credentials.
    private static func signed(
        _ spec: LinkTypeDescriptor.Action,
        _ run: @escaping @Sendable (JenkinsLinkType) -> (ActionRequest, inout JenkinsClient) async throws -> ActionResponse
    ) -> DeclaredAction<JenkinsLinkType> {
        DeclaredAction(spec) { plugin, r in
            var client = plugin.client(r.link, secrets: r.secrets)
            return try await run(plugin)(r, &client)
        }
    }

    private static func job(_ r: ActionRequest) -> String { r.args["job"]?.stringValue ?? "" }

    func authorize(_ r: ActionRequest, client: inout JenkinsClient) async throws -> ActionResponse {
        let url = try await authorization.start(
            base: client.base, consumerKey: client.credentials.consumerKey, sharedSecret: client.credentials.sharedSecret,
            paths: client.paths, draft: nil, link: r.link.id)
        return ActionResponse(
            message: "Open this URL, log in to Jenkins and approve the link (within fifteen minutes):\n\(url)",
            output: ["authorization_url": .string(url)])
    }

    func listJobs(_ r: ActionRequest, client: inout JenkinsClient) async throws -> ActionResponse {
        let fields = "name,url,color"
        var tree = "jobs[\(fields)]"
        for _ in 0..<4 { tree = "jobs[\(fields),\(tree)]" }
        let response = try await client.send("GET", "/api/json?tree=" + tree)
        guard response.status == 200, let root = try? JSONValue.parse(response.body) else {
            throw StatusFailure(.networkError, .unexpectedResponseStatus, "Jenkins answered HTTP \(response.status) to /api/json.")
        }
        var jobs: [JSONValue] = []
        func walk(_ value: JSONValue?, prefix: String) {
            guard case .array(let items)? = value?["jobs"] else { return }
            for item in items {
                let name = item["name"]?.stringValue ?? "?"
                let path = prefix.isEmpty ? name : prefix + "/" + name
                let folder = item["jobs"] != nil
                jobs.append([
                    "path": .string(path), "kind": .string(folder ? "folder" : "job"), "url": item["url"] ?? .null,
                    "color": item["color"] ?? .null,
                ])
                if folder { walk(item, prefix: path) }
            }
        }
        walk(root, prefix: "")
        let count = jobs.filter { $0["kind"]?.stringValue == "job" }.count
        return ActionResponse(message: "\(count) jobs on \(r.link.name).", output: .array(jobs))
    }

    func triggerBuild(_ r: ActionRequest, client: inout JenkinsClient) async throws -> ActionResponse {
        let job = Self.job(r)
        guard !job.isEmpty else { throw PluginError(code: "invalid_input", message: "Give --arg job=PATH, such as 'Team A/Deploy'.") }
        let parameters = r.args.filter { $0.key != "job" }.sorted { $0.key < $1.key }.map { ($0.key, $0.value.stringValue ?? "") }
        let path = JenkinsClient.jobPath(job) + (parameters.isEmpty ? "/build" : "/buildWithParameters")
        var response = try await client.send("POST", path, form: parameters)
        if response.status == 403, String(decoding: response.body, as: UTF8.self).localizedCaseInsensitiveContains("crumb") {
            let crumb = try await client.send("GET", "/crumbIssuer/api/json")
            guard let c = try? JSONValue.parse(crumb.body), let field = c["crumbRequestField"]?.stringValue,
                let value = c["crumb"]?.stringValue
            else {
                throw StatusFailure(.networkError, .unexpectedResponse, "Jenkins asked for a crumb but its crumb issuer gave none.")
            }
            // Jenkins binds a crumb to the web session that fetched it (since 2.176.2): the retry goes back in
            // that session, with the cookies the crumb issuer set.
            var headers = [(field, value)]
            if let cookie = JenkinsClient.cookieHeader(crumb) { headers.append(("Cookie", cookie)) }
            response = try await client.send("POST", path, form: parameters, headers: headers)
        }
        guard response.status == 201 || response.status == 200, let queue = response.header("Location") else {
            let text = String(decoding: response.body.prefix(300), as: UTF8.self)
            throw PluginError(
                code: response.status == 404 ? "invalid_input" : "unreachable",
                message: response.status == 404
                    ? "Jenkins has no job '\(job)'; see list-jobs." : "Jenkins refused the build (HTTP \(response.status)): \(text)")
        }
        var output: [String: JSONValue] = ["queue_item": .string(queue)]
        let itemPath = String(queue.dropFirst(client.base.count)) + (queue.hasSuffix("/") ? "" : "/") + "api/json"
        for _ in 0..<20 where queue.hasPrefix(client.base) {
            let item = try await client.send("GET", itemPath)
            if let executable = (try? JSONValue.parse(item.body))?["executable"], let number = executable["number"]?.doubleValue {
                output["build_number"] = .number(number)
                output["build_url"] = executable["url"] ?? .null
                break
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        let started = output["build_number"]?.doubleValue.map { "build #\(Int($0))" } ?? "a build (still queued at \(queue))"
        return ActionResponse(message: "Started \(started) of \(job).", output: .object(output))
    }

    func buildStatus(_ r: ActionRequest, client: inout JenkinsClient) async throws -> ActionResponse {
        let job = Self.job(r)
        let response = try await client.send(
            "GET", JenkinsClient.jobPath(job) + "/lastBuild/api/json?tree=number,result,duration,url,building")
        guard response.status == 200, let b = try? JSONValue.parse(response.body) else {
            throw PluginError(
                code: "invalid_input",
                message: response.status == 404
                    ? "'\(job)' has no build yet, or is no job; see list-jobs." : "Jenkins answered HTTP \(response.status).")
        }
        let number = Int(b["number"]?.doubleValue ?? 0)
        let result = b["result"]?.stringValue ?? (b["building"]?.boolValue == true ? "BUILDING" : "UNKNOWN")
        return ActionResponse(
            message: "\(job) #\(number): \(result), \(Int((b["duration"]?.doubleValue ?? 0) / 1000)) s.",
            output: [
                "number": .number(Double(number)), "result": .string(result), "duration_ms": b["duration"] ?? .null,
                "url": b["url"] ?? .null,
            ])
    }

    func open(_ r: ActionRequest, client: inout JenkinsClient) async throws -> ActionResponse {
        let job = Self.job(r)
        guard !job.isEmpty else { throw PluginError(code: "invalid_input", message: "Give --arg job=PATH, such as 'Team A/Deploy'.") }
        let found = try await client.send("GET", JenkinsClient.jobPath(job) + "/api/json?tree=name")
        guard found.status == 200 else {
            throw PluginError(
                code: found.status == 404 ? "invalid_input" : "unreachable",
                message: found.status == 404
                    ? "Jenkins has no job '\(job)'; see list-jobs." : "Jenkins did not answer for '\(job)' (HTTP \(found.status)).")
        }
        let url = client.base + JenkinsClient.jobPath(job) + "/"
        return ActionResponse(message: url, output: ["url": .string(url)])
    }
}
