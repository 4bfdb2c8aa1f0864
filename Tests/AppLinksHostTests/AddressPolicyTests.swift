import AppLinksCore
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
}
