import AppLinksCore
import AppLinksLocking
import Foundation
import Testing

@testable import AppLinksHost

@Suite("Outbound address policy")
struct AddressPolicyTests {
    @Test("loopback, private, link-local and shared addresses are told apart from public ones, IPv4 and IPv6")
    func classification() {
        func v4(_ s: String) -> [UInt8] { s.split(separator: ".").map { UInt8($0)! } }
        for (address, kind) in [
            ("127.0.0.1", "loopback"), ("127.9.9.9", "loopback"), ("10.1.2.3", "private"), ("172.16.0.1", "private"),
            ("172.31.255.255", "private"), ("192.168.1.1", "private"), ("169.254.169.254", "link-local"), ("100.64.0.1", "shared"),
            ("0.0.0.0", "unspecified"),
        ] {
            #expect(AddressPolicy.classify(v4(address))?.contains(kind) == true, "\(address)")
        }
        for address in ["8.8.8.8", "172.32.0.1", "172.15.255.255", "100.128.0.1", "192.169.0.1", "1.1.1.1"] {
            #expect(AddressPolicy.classify(v4(address)) == nil, "\(address)")
        }
        let loopback6 = [UInt8](repeating: 0, count: 15) + [1]
        #expect(AddressPolicy.classify(loopback6)?.contains("loopback") == true)
        #expect(AddressPolicy.classify([0xFD] + [UInt8](repeating: 0, count: 15))?.contains("private") == true)
        #expect(AddressPolicy.classify([0xFE, 0x80] + [UInt8](repeating: 0, count: 14))?.contains("link-local") == true)
        #expect(AddressPolicy.classify([UInt8](repeating: 0, count: 10) + [0xFF, 0xFF, 10, 0, 0, 1])?.contains("private") == true)
        #expect(AddressPolicy.classify([0x20, 0x01, 0x48, 0x60] + [UInt8](repeating: 0, count: 11) + [0x88]) == nil)
        #expect(AddressPolicy.addresses("localhost").contains { AddressPolicy.classify($0) != nil })
    }

    @Test("the HTTP service refuses non-public addresses with the setting that allows them, and reaches them when allowed")
    func refusal() async throws {
        for url in [
            "http://127.0.0.1:9/", "http://localhost:9/", "http://[::1]:9/", "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/",
        ] {
            do {
                _ = try await HTTPService(allowPrivateAddresses: false).execute(HostHTTPRequest(url: url, timeoutMs: 500))
                Issue.record("\(url) was requested")
            } catch let e as AppLinksError {
                #expect(e.code == .invalidInput && e.message.contains("http.allow_private_addresses"), "\(e.message)")
            }
        }
        await #expect(throws: HTTPServiceError.self) {
            _ = try await HTTPService(allowPrivateAddresses: true).execute(HostHTTPRequest(url: "http://127.0.0.1:9/", timeoutMs: 500))
        }
    }

    @Test("every reserved range of the issue is refused, IPv4 and IPv6, with mapped addresses judged as IPv4")
    func reservedRanges() {
        for address in [
            "0.1.2.3", "100.64.0.1", "100.127.255.255", "192.0.0.8", "198.18.0.1", "198.19.255.255", "224.0.0.1", "239.255.255.250",
            "240.0.0.1", "255.255.255.255", "::", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "::10.0.0.1",
            "::8.8.8.8", "fc00::1", "fdff::1", "fe80::1", "febf::1", "fec0::1", "feff::1", "ff02::1", "ff0e::1",
        ] {
            let bytes = try! #require(AddressRange.bytes(address), "\(address)")
            #expect(AddressPolicy.classify(bytes) != nil, "\(address) was taken for public")
        }
        for address in ["8.8.8.8", "192.0.1.1", "198.20.0.1", "223.255.255.255", "::ffff:8.8.8.8", "2001:4860:4860::8888", "2606:4700::1"] {
            #expect(AddressPolicy.classify(AddressRange.bytes(address)!) == nil, "\(address) was refused")
        }
    }

    @Test("IPv4 written in decimal, octal or hex is refused, even where private addresses are allowed")
    func obscuredIPv4() async throws {
        for url in [
            "http://2130706433/", "http://0177.0.0.1/", "http://0x7f.0.0.1/", "http://127.1/", "http://0x7f000001/", "http://017700000001/",
        ] {
            do {
                _ = try await HTTPService(allowPrivateAddresses: true).execute(HostHTTPRequest(url: url, timeoutMs: 500))
                Issue.record("\(url) was requested")
            } catch let e as AppLinksError {
                #expect(e.code == .invalidInput && e.message.contains("a.b.c.d"), "\(e.message)")
            }
        }
        for host in ["cafe.de", "127.0.0.1", "1.2.3.4", "a1.example", "0x.example"] {
            #expect(AddressPolicy.obscuredIPv4(host) == nil, "\(host)")
        }
    }

    /// A loopback server answering /echo with the Host it got, and /redirect?to=URL with a 302.
    static func echoServer() throws -> (Process, Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("echo_server.py").path,
        ]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        return (process, try #require(Int(line.trimmingCharacters(in: .whitespacesAndNewlines)), "the echo server did not start"))
    }

    /// A resolver for names the system does not know, counting how often each is asked.
    final class Resolver: Sendable {
        let table: [String: [UInt8]]
        let asked = Locked<[String: Int]>([:])
        init(_ table: [String: [UInt8]]) { self.table = table }
        func resolve(_ name: String) -> [[UInt8]] {
            asked.withLock { $0[name, default: 0] += 1 }
            return table[name].map { [$0] } ?? []
        }
    }

    @Test("a name is resolved once and the connection goes to the checked address, with the name kept as Host")
    func pinnedConnection() async throws {
        let (server, port) = try Self.echoServer()
        // SIGKILL: a child of the test process may inherit SIGTERM blocked.
        defer { kill(server.processIdentifier, SIGKILL) }
        // The system cannot resolve these names: an answer proves the client connected where the check said.
        let resolver = Resolver(["app.test": [127, 0, 0, 1], "other.test": [127, 0, 0, 1], "evil.test": [127, 0, 0, 2]])
        let refuseDotTwo: @Sendable ([UInt8]) -> String? = { $0 == [127, 0, 0, 2] ? "a forbidden test address" : nil }
        let http = HTTPService(allowPrivateAddresses: false, resolve: { resolver.resolve($0) }, policy: refuseDotTwo)
        let echoed = try await http.execute(HostHTTPRequest(url: "http://app.test:\(port)/echo", timeoutMs: 5000))
        #expect(echoed.status == 200 && String(decoding: echoed.body, as: UTF8.self) == "host=app.test:\(port)")
        #expect(resolver.asked.withLock { $0["app.test"] } == 1)
        let agent = try await http.execute(HostHTTPRequest(url: "http://app.test:\(port)/agent", timeoutMs: 5000))
        #expect(String(decoding: agent.body, as: UTF8.self) == "AppLinks/\(Deployment.version)")

        // Redirects are followed hop by hop, each hop resolved and checked like the first.
        let followed = try await http.execute(
            HostHTTPRequest(
                url: "http://app.test:\(port)/redirect?to=http://other.test:\(port)/echo", timeoutMs: 5000, followRedirects: true))
        #expect(String(decoding: followed.body, as: UTF8.self) == "host=other.test:\(port)")
        for target in ["http://evil.test:\(port)/echo", "http://127.0.0.2:\(port)/echo"] {
            do {
                _ = try await http.execute(
                    HostHTTPRequest(url: "http://app.test:\(port)/redirect?to=\(target)", timeoutMs: 5000, followRedirects: true))
                Issue.record("the redirect to \(target) was followed")
            } catch let e as AppLinksError {
                #expect(e.message.contains("a forbidden test address"), "\(e.message)")
            }
        }
        // A remote that sends more than the service takes (a 20 MiB "manifest") gets a clear refusal.
        do {
            _ = try await http.execute(HostHTTPRequest(url: "http://app.test:\(port)/big", timeoutMs: 10_000))
            Issue.record("a 20 MiB answer was taken")
        } catch let e as HTTPServiceError {
            #expect(e.type == .unexpectedResponse && e.message.contains("larger than \(HTTPService.maxBodyBytes) bytes"), "\(e)")
        }
        // Without followRedirects the 302 itself comes back.
        let unfollowed = try await http.execute(
            HostHTTPRequest(url: "http://app.test:\(port)/redirect?to=http://evil.test/", timeoutMs: 5000))
        #expect(unfollowed.status == 302)
    }
}

@Suite("a plugin's error codes, as the host reports them")
struct PluginErrorCodeTests {
    @Test("bad input, a refusing remote, the network and a lost race keep their meaning; anything else is the plugin's failure")
    func codes() {
        #expect(Deployment.code(ofPluginError: "invalid_input") == .invalidInput)
        #expect(Deployment.code(ofPluginError: "remote_refused") == .remoteRefused)
        for network in ["unreachable", "remote_unreachable", "network"] { #expect(Deployment.code(ofPluginError: network) == .network) }
        #expect(Deployment.code(ofPluginError: "conflict") == .conflict)
        #expect(Deployment.code(ofPluginError: "boom") == .pluginFailed)
    }
}
