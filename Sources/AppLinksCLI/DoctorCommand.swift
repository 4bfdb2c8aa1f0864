import AppLinksCore
import AppLinksHost
import AppLinksJSON
import AppLinksServer
import AppLinksStore
import ArgumentParser
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

struct DoctorCommand: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check a deployment and print each problem with its fix.",
        discussion: """
            Checks the home's file modes, the config, the database (SQLite's integrity check), that every plugin loads, \
            that the base URL resolves and fits the listen address, each linked remote's clock (OAuth 1.0 allows five \
            minutes), and the TLS certificate's expiry. Exits 1 if it found a problem; warnings alone exit 0.
            """)
    @OptionGroup var common: CommonOptions

    struct Finding: Encodable {
        enum Level: String, Encodable { case ok, warning, problem }
        var check: String
        var level: Level
        var message: String
    }

    func execute() async throws {
        let home = common.deploymentHome
        try home.requireExisting()
        var findings: [Finding] = []
        func add(_ check: String, _ level: Finding.Level, _ message: String) {
            findings.append(Finding(check: check, level: level, message: message))
        }

        findings += Self.fileModes(home)
        let config: DeploymentConfig
        do {
            config = try await DeploymentConfig.load(home: home.url)
            add("config", .ok, "\(home.configFile.path) is valid.")
        } catch let e as AppLinksError {
            add("config", .problem, e.message)
            return try report(findings)
        }
        let deployment: Deployment
        do {
            deployment = try await Deployment.open(home: home, stores: .standard, logger: CLILogging.logger)
        } catch let e as AppLinksError {
            add("database", .problem, e.message)
            return try report(findings)
        }
        if let sqlite = deployment.store as? SQLiteStore {
            let result = try await sqlite.integrityCheck()
            if result == ["ok"] {
                add("database", .ok, "SQLite's integrity check passed.")
            } else {
                add(
                    "database", .problem,
                    "SQLite's integrity check found damage: \(result.prefix(3).joined(separator: "; ")). Restore the latest backup "
                        + "(applinks restore) into a new home.")
            }
        } else {
            add("database", .ok, "The PostgreSQL database answers; check its integrity with PostgreSQL's own tools.")
        }
        for record in deployment.pluginRecords where record.state == .refused {
            add("plugins", .problem, "\(record.path) is refused: \(record.reason ?? "no reason given")")
        }
        if !deployment.pluginRecords.contains(where: { $0.state == .refused }) {
            add("plugins", .ok, "\(deployment.pluginRecords.count) plugin file(s) load.")
        }
        findings += Self.baseURL(config)
        findings += await Self.clocks(try await deployment.store.links())
        if let certificates = try? tlsCertificates(deployment) {
            let days = certificates.expiresAt.timeIntervalSinceNow / 86400
            if days < 0 {
                add(
                    "tls", .problem,
                    "The certificate \(config.tlsCertificate ?? "") expired \(Timestamp.format(certificates.expiresAt)). Renew it, then kill -HUP the server."
                )
            } else if days < 21 {
                add(
                    "tls", .warning,
                    "The certificate expires in \(Int(days)) day(s), on \(Timestamp.format(certificates.expiresAt)). Renew it, then kill -HUP the server."
                )
            } else {
                add("tls", .ok, "The certificate is valid until \(Timestamp.format(certificates.expiresAt)).")
            }
        } else if config.tlsCertificate != nil {
            add("tls", .problem, "The TLS certificate or key cannot be read; `applinks serve` says why.")
        }
        await deployment.shutdown()
        try report(findings)
    }

    func report(_ findings: [Finding]) throws {
        if common.json {
            let data = try JSONCoding.encode(findings)
            print(String(decoding: data, as: UTF8.self))
        } else {
            for f in findings {
                print("\(f.level.rawValue.uppercased().padding(toLength: 7, withPad: " ", startingAt: 0)) \(f.check): \(f.message)")
            }
        }
        if findings.contains(where: { $0.level == .problem }) { throw ExitCode(1) }
    }

    /// The home and its secrets are its owner's; plugin files are code the server loads, so nobody else may change them.
    static func fileModes(_ home: DeploymentHome) -> [Finding] {
        var out: [Finding] = []
        let fm = FileManager.default
        func mode(_ path: String) -> Int? { (try? fm.attributesOfItem(atPath: path))?[.posixPermissions] as? Int }
        if let m = mode(home.url.path), m & 0o022 != 0 {
            out.append(
                Finding(check: "files", level: .problem, message: "\(home.url.path) is writable by others; chmod 700 \(home.url.path)"))
        }
        if let m = mode(home.masterKeyFile.path), m & 0o077 != 0 {
            out.append(
                Finding(
                    check: "files", level: .problem,
                    message: "\(home.masterKeyFile.path) is readable by others; chmod 600 \(home.masterKeyFile.path)"))
        }
        var plugins = [home.pluginDirectory.path]
        plugins += ((try? fm.contentsOfDirectory(atPath: home.pluginDirectory.path)) ?? []).map {
            home.pluginDirectory.appendingPathComponent($0).path
        }
        for path in plugins {
            if let m = mode(path), m & 0o022 != 0 {
                out.append(
                    Finding(
                        check: "files", level: .problem,
                        message: "\(path) is writable by others, who could replace code the server loads; chmod go-w \(path)"))
            }
        }
        if out.isEmpty {
            out.append(Finding(check: "files", level: .ok, message: "The home, its master key and its plugins are its owner's."))
        }
        return out
    }

    static func baseURL(_ config: DeploymentConfig) -> [Finding] {
        guard let url = URL(string: config.baseURL), let host = url.host else {
            return [Finding(check: "base_url", level: .problem, message: "base_url \(config.baseURL) has no host.")]
        }
        var info: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, nil, nil, &info) == 0
        if let info { freeaddrinfo(info) }
        guard resolved else {
            return [
                Finding(
                    check: "base_url", level: .problem,
                    message: "\(host), the host of base_url, does not resolve here; remotes cannot reach \(config.baseURL) either.")
            ]
        }
        let listen = try? ListenAddress(config.listen)
        let port = url.port ?? (url.scheme == "https" ? 443 : 80)
        let loopback = ["127.0.0.1", "localhost", "::1", "[::1]"]
        if loopback.contains(host), let listen, !loopback.contains(listen.host) {
            return [
                Finding(
                    check: "base_url", level: .warning,
                    message:
                        "base_url \(config.baseURL) is a loopback address, but serve listens on \(config.listen) for others: remotes would be told a URL they cannot reach. Set base_url to the address they use."
                )
            ]
        }
        if let listen, config.trustedProxies.isEmpty, listen.port != port {
            return [
                Finding(
                    check: "base_url", level: .warning,
                    message:
                        "base_url \(config.baseURL) names port \(port), but serve listens on \(config.listen). Behind a proxy that is right: list it in server.trusted_proxies. Otherwise make them agree."
                )
            ]
        }
        return [Finding(check: "base_url", level: .ok, message: "\(config.baseURL) resolves and fits listen \(config.listen).")]
    }

    /// Each remote's clock, from the Date header of its answer: OAuth 1.0 refuses timestamps five minutes off.
    static func clocks(_ links: [Link]) async -> [Finding] {
        var out: [Finding] = []
        let session = URLSession(configuration: .ephemeral)
        // Only links this host signs requests on: an OAuth 2.0 client's redirect origin has no clock to agree with.
        for link in links where !link.outgoingAuth.isEmpty {
            guard let url = URL(string: link.rpcURL), ["http", "https"].contains(url.scheme ?? "") else { continue }
            var request = URLRequest(url: url)
            request.httpMethod = "HEAD"
            request.timeoutInterval = 5
            guard let (_, response) = try? await session.data(for: request), let http = response as? HTTPURLResponse,
                let header = http.value(forHTTPHeaderField: "Date"), let date = Self.httpDate(header)
            else {
                out.append(
                    Finding(
                        check: "clock", level: .warning,
                        message: "\(link.name) (\(link.rpcURL)) did not answer with its time; its clock is not checked."))
                continue
            }
            let skew = date.timeIntervalSinceNow
            if abs(skew) > 300 {
                out.append(
                    Finding(
                        check: "clock", level: .problem,
                        message:
                            "\(link.name)'s clock is \(Int(abs(skew))) s \(skew > 0 ? "ahead of" : "behind") this host's; OAuth 1.0 refuses more than 300 s. Synchronise both with NTP."
                    ))
            } else {
                out.append(
                    Finding(check: "clock", level: .ok, message: "\(link.name)'s clock is within \(Int(abs(skew)) + 1) s of this host's."))
            }
        }
        return out
    }

    static func httpDate(_ s: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return f.date(from: s)
    }
}
