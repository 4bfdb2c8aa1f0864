import AppLinksCore
import AppLinksLocking
import AppLinksPluginABI
import AppLinksPluginIPC
import Foundation
import Testing

/// The host API's one C table and its one dispatcher, against a scripted implementation: what a plugin passes
/// arrives typed, and each outcome comes back as the code and buffer `plugin.h` promises.
@Suite("Host API table")
struct HostAPITableTests {
    final class ScriptedHost: PluginHostAPI {
        let calls = Locked<[String]>([])
        private func note(_ s: String) { calls.withLock { $0.append(s) } }

        func log(level: Int32, _ message: String) { note("log \(level) \(message)") }
        func kvGet(_ key: String) throws -> Data? {
            note("kvGet \(key)")
            return key == "k" ? Data("v".utf8) : nil
        }
        func kvPut(_ key: String, value: Data, ttlSeconds: Int64) throws {
            note("kvPut \(key)=\(String(decoding: value, as: UTF8.self)) ttl \(ttlSeconds)")
        }
        func kvDelete(_ key: String) throws { throw AppLinksError(.notFound, "no \(key)") }
        func kvList(prefix: String) throws -> Data { Data(#"["\#(prefix)1"]"#.utf8) }
        func kvCompareAndSet(_ key: String, expected: Data?, replacement: Data?, ttlSeconds: Int64) throws -> Bool {
            note(
                "cas \(key) expected \(expected.map { "\($0.count) bytes" } ?? "absent") replacement \(replacement.map { "\($0.count) bytes" } ?? "delete")"
            )
            return expected == nil
        }
        func secretSeal(_ plaintext: Data) throws -> Data { Data(plaintext.reversed()) }
        func secretOpen(_ sealed: Data) throws -> Data { throw CancellationError() }
        func httpRequest(_ request: Data) throws -> Data { throw AppLinksError(.invalidInput, "not JSON") }
        func randomBytes(_ count: Int) throws -> Data { Data(repeating: 7, count: count) }
        func digest(_ algorithm: Int32, _ data: Data) throws -> Data { Data([UInt8(algorithm)]) + data }
        func hmac(_ algorithm: Int32, key: Data, _ data: Data) throws -> Data { key + data }
        func rsaGenerate(bits: Int32) throws -> Data { Data("\(bits)".utf8) }
        func rsaSign(_ algorithm: Int32, privateKeyPEM: String?, _ data: Data) throws -> Data {
            Data((privateKeyPEM ?? "instance key").utf8)
        }
        func rsaVerify(_ algorithm: Int32, publicKeyPEM: String, _ data: Data, signature: Data) throws -> Bool { signature == data }
        func instanceInfo() throws -> Data { Data("{}".utf8) }
        func linksList() throws -> Data { Data("[]".utf8) }
        func linkGet(_ id: String) throws -> Data? { nil }
        func linkUpdate(_ request: Data) throws -> Data { throw AppLinksError(.conflict, "version moved") }
        func audit(_ event: Data) throws { note("audit \(String(decoding: event, as: UTF8.self))") }
        func linkAccessToken(_ linkID: String) throws -> Data? { Data(linkID.utf8) }
        func kvBatch(_ changes: [KVChange]) throws -> Int? {
            note("batch \(changes.map { "\($0)" }.joined(separator: "; "))")
            return changes.firstIndex { $0 == .require(key: "taken", value: nil) }
        }
    }

    /// Calls a table entry that fills an out buffer, and frees it as a plugin must.
    static func withOut(_ body: (UnsafeMutablePointer<applinks_buffer>) -> Int32) -> (Int32, String) {
        var out = applinks_buffer(data: nil, len: 0)
        let rc = body(&out)
        let text = out.data.map { String(decoding: UnsafeBufferPointer(start: $0, count: out.len), as: UTF8.self) } ?? ""
        HostAPITable.pointer.pointee.free_buffer(nil, &out)
        #expect(out.data == nil && out.len == 0, "free_buffer leaves an empty buffer")
        return (rc, text)
    }

    @Test("through the C table: values, NULL against empty, not found, lost races, and errors with their codes")
    func cTable() {
        let host = ScriptedHost()
        let context = HostAPIContext(host)
        defer { withExtendedLifetime(context) {} }
        let t = HostAPITable.pointer.pointee
        let ctx = context.pointer
        #expect(t.abi_version == PluginLibrary.hostABIVersion && t.struct_size == UInt32(MemoryLayout<applinks_host_api>.size))

        #expect(Self.withOut { t.kv_get(ctx, "k", 1, $0) } == (Int32(APPLINKS_OK), "v"))
        #expect(Self.withOut { t.kv_get(ctx, "gone", 4, $0) } == (Int32(APPLINKS_NOT_FOUND), ""))
        #expect(t.kv_put(ctx, "a", 1, Array("xyz".utf8), 3, 60) == Int32(APPLINKS_OK))
        #expect(t.kv_delete(ctx, "a", 1) == Int32(APPLINKS_NOT_FOUND))
        #expect(t.kv_compare_and_set(ctx, "c", 1, nil, 0, [1], 1, 0) == Int32(APPLINKS_OK))
        let empty: [UInt8] = []
        #expect(
            empty.withUnsafeBufferPointer {
                t.kv_compare_and_set(ctx, "c", 1, $0.baseAddress ?? UnsafePointer(bitPattern: 1), 0, nil, 0, 0)
            } == Int32(APPLINKS_CONFLICT))
        #expect(Self.withOut { t.kv_list(ctx, "p", 1, $0) } == (Int32(APPLINKS_OK), #"["p1"]"#))
        #expect(Self.withOut { t.rsa_sign(ctx, 1, nil, 0, [1], 1, $0) } == (Int32(APPLINKS_OK), "instance key"))
        #expect(t.rsa_verify(ctx, 1, "pem", 3, [1, 2], 2, [1, 2], 2) == Int32(APPLINKS_OK))
        #expect(t.rsa_verify(ctx, 1, "pem", 3, [1, 2], 2, [2], 1) == Int32(APPLINKS_CONFLICT))
        var random = [UInt8](repeating: 0, count: 16)
        #expect(t.random_bytes(ctx, &random, 16) == Int32(APPLINKS_OK) && random.allSatisfy { $0 == 7 })
        #expect(t.random_bytes(ctx, nil, 16) == -1)

        let (updateRC, updateBody) = Self.withOut { t.link_update(ctx, [1], 1, $0) }
        #expect(updateRC == Int32(APPLINKS_CONFLICT) && updateBody.isEmpty)
        let (httpRC, httpBody) = Self.withOut { t.http_request(ctx, [1], 1, $0) }
        #expect(httpRC == Int32(APPLINKS_ERROR) && httpBody.contains(#""code":"invalid_input""#) && httpBody.contains("not JSON"))
        let (openRC, openBody) = Self.withOut { t.secret_open(ctx, [1], 1, $0) }
        #expect(openRC == Int32(APPLINKS_ERROR) && openBody.contains(#""code":"internal""#))

        let batch = KVChange.jsonData([
            .require(key: "r", value: Data("v".utf8)), .put(key: "p", value: Data("w".utf8), ttl: .milliseconds(1500)), .delete(key: "d"),
        ])
        #expect(
            Self.withOut { out in batch.withUnsafeBytes { t.kv_batch(ctx, $0.baseAddress!, $0.count, out) } } == (Int32(APPLINKS_OK), ""))
        let lost = KVChange.jsonData([.put(key: "p", value: Data(), ttl: nil), .require(key: "taken", value: nil)])
        #expect(
            Self.withOut { out in lost.withUnsafeBytes { t.kv_batch(ctx, $0.baseAddress!, $0.count, out) } } == (
                Int32(APPLINKS_CONFLICT), #"{"index":1}"#
            ))
        let (badRC, badBody) = Self.withOut { t.kv_batch(ctx, Array(#"{"changes":[{"op":"swap","key":"k"}]}"#.utf8), 37, $0) }
        #expect(badRC == Int32(APPLINKS_ERROR) && badBody.contains("invalid_input") && badBody.contains(#"unknown \"op\" swap"#))
        for (request, problem) in [
            (KVChange.jsonData(Array(repeating: .delete(key: "k"), count: KVChange.maxBatch + 1)), "at most 256 changes"),
            (Data(#"{"changes":[{"op":"put","key":"k"}]}"#.utf8), #"a \"put\" needs \"value_base64\""#),
            (Data(#"{"changes":[{"op":"require","key":"k","value_base64":"%%"}]}"#.utf8), "is not base64"),
            (Data(#"{"changes":[{"op":"delete"}]}"#.utf8), #"the \"key\" member is missing"#),
        ] {
            let (rc, body) = Self.withOut { out in request.withUnsafeBytes { t.kv_batch(ctx, $0.baseAddress!, $0.count, out) } }
            #expect(rc == Int32(APPLINKS_ERROR) && body.contains("invalid_input") && body.contains(problem), "\(body)")
        }

        "line".withCString { t.log(ctx, 3, $0, 4) }
        #expect(t.audit(ctx, Array(#"{"action":"x"}"#.utf8), 14) == Int32(APPLINKS_OK))
        #expect(
            host.calls.withLock { $0 } == [
                "kvGet k", "kvGet gone", "kvPut a=xyz ttl 60", "cas c expected absent replacement 1 bytes",
                "cas c expected 0 bytes replacement delete",
                #"batch require(key: "r", value: Optional(1 bytes)); put(key: "p", value: 1 bytes, ttl: Optional(2.0 seconds)); delete(key: "d")"#,
                #"batch put(key: "p", value: 0 bytes, ttl: nil); require(key: "taken", value: nil)"#, "log 3 line",
                #"audit {"action":"x"}"#,
            ])
    }

    @Test("a host call that crossed a runner's pipe gets the same answer as the C table; a misshapen one gets -1")
    func frames() {
        let host = ScriptedHost()
        let t = HostAPITable.pointer.pointee
        let context = HostAPIContext(host)
        defer { withExtendedLifetime(context) {} }
        let ctx = context.pointer
        func viaFrame(_ call: HostCall) -> (Int32, String) {
            let r = host.answer(HostCall(decoding: call.encoded())!)
            return (r.code, String(decoding: r.output, as: UTF8.self))
        }
        #expect(viaFrame(HostCall(.kvGet, blobs: [Data("k".utf8)])) == Self.withOut { t.kv_get(ctx, "k", 1, $0) })
        #expect(viaFrame(HostCall(.linkGet, blobs: [Data("x".utf8)])) == Self.withOut { t.link_get(ctx, "x", 1, $0) })
        #expect(
            viaFrame(HostCall(.hmac, ints: [2], blobs: [Data("k".utf8), Data("d".utf8)]))
                == Self.withOut { t.hmac(ctx, 2, [0x6B], 1, [0x64], 1, $0) })
        #expect(viaFrame(HostCall(.httpRequest, blobs: [Data()])) == Self.withOut { t.http_request(ctx, [], 0, $0) })
        #expect(viaFrame(HostCall(.linkAccessToken, blobs: [Data("L".utf8)])) == (Int32(APPLINKS_OK), "L"))
        for function in HostCall.Function.allCases {
            let shape = function.shape
            let call = HostCall(
                function, ints: Array(repeating: 0, count: shape.ints + 1), blobs: Array(repeating: nil, count: shape.blobs))
            #expect(host.answer(call).code == -1, "\(function) with an extra integer")
        }
        #expect(host.answer(HostCall(.randomBytes, ints: [Int64(1 << 20) + 1])).code == -1, "more random bytes than a call may ask")
        let weak = host.answer(HostCall(.rsaGenerate, ints: [1024]))
        #expect(
            weak.code == Int32(APPLINKS_ERROR) && String(decoding: weak.output, as: UTF8.self).contains("invalid_input"),
            "a key size outside 2048 to 4096 is refused for every implementation")
    }
}
