import AppLinksCore
import AppLinksJSON
import AppLinksPluginABI
import Foundation

/// The host API that one plugin sees (`applinks_host_api` in `plugin.h`), defined once.
///
/// The host implements it for each plugin, confined to that plugin's id. Plugins reach it through one C table
/// (``HostAPITable``), in process and in a runner alike; a runner forwards each call as a ``HostCall`` frame, and
/// the host answers that frame with ``answer(_:)``, which calls this protocol directly. Adding a host function
/// therefore means: the header, a requirement here with its ``HostCall/Function`` case and its line in
/// ``answer(_:)`` and in the table, the host's implementation, and the kit's wrapper.
///
/// Requirements are synchronous: plugins call them from their own threads, and many of them wait (storage,
/// HTTP). A requirement reports "not found" as nil and "lost a race" as false; any other failure is thrown, and a
/// ``HostAPIReportable`` error chooses the code and message the plugin sees.
public protocol PluginHostAPI: Sendable {
    func log(level: Int32, _ message: String)
    func kvGet(_ key: String) throws -> Data?
    func kvPut(_ key: String, value: Data, ttlSeconds: Int64) throws
    func kvDelete(_ key: String) throws
    /// The keys as a JSON array of strings.
    func kvList(prefix: String) throws -> Data
    func kvCompareAndSet(_ key: String, expected: Data?, replacement: Data?, ttlSeconds: Int64) throws -> Bool
    func secretSeal(_ plaintext: Data) throws -> Data
    func secretOpen(_ sealed: Data) throws -> Data
    /// A `HostHTTPRequest` in JSON, answered with a `HostHTTPResponse` in JSON.
    func httpRequest(_ request: Data) throws -> Data
    func randomBytes(_ count: Int) throws -> Data
    func digest(_ algorithm: Int32, _ data: Data) throws -> Data
    func hmac(_ algorithm: Int32, key: Data, _ data: Data) throws -> Data
    func rsaGenerate(bits: Int32) throws -> Data
    /// Signs with `privateKeyPEM`, or with the instance's own key when it is nil.
    func rsaSign(_ algorithm: Int32, privateKeyPEM: String?, _ data: Data) throws -> Data
    func rsaVerify(_ algorithm: Int32, publicKeyPEM: String, _ data: Data, signature: Data) throws -> Bool
    func instanceInfo() throws -> Data
    func linksList() throws -> Data
    func linkGet(_ id: String) throws -> Data?
    func linkUpdate(_ request: Data) throws -> Data
    func audit(_ event: Data) throws
    func linkAccessToken(_ linkID: String) throws -> Data?
    /// Applies the changes all or none; nil when applied, else the index of the first requirement that failed.
    func kvBatch(_ changes: [KVChange]) throws -> Int?
}

/// A failure as the plugin receives it: a return code, and for `APPLINKS_ERROR` a `{"code","message"}` body.
public struct HostAPIFailure: Error, Sendable, Equatable {
    public var code: Int32
    public var body: Data

    public init(code: Int32, body: Data = Data()) {
        self.code = code
        self.body = body
    }

    public init(_ code: String, _ message: String) {
        self.init(code: Int32(APPLINKS_ERROR), body: (try? JSONCoding.encode(PluginErrorBody(code: code, message: message))) ?? Data())
    }
}

/// An error that knows how a plugin should see it. Any other error reaches the plugin as `internal`.
public protocol HostAPIReportable: Error {
    var hostAPIFailure: HostAPIFailure { get }
}

extension HostAPIFailure: HostAPIReportable {
    public var hostAPIFailure: HostAPIFailure { self }
}

extension AppLinksError: HostAPIReportable {
    public var hostAPIFailure: HostAPIFailure {
        switch code {
        case .conflict: HostAPIFailure(code: Int32(APPLINKS_CONFLICT))
        case .notFound: HostAPIFailure(code: Int32(APPLINKS_NOT_FOUND))
        default: HostAPIFailure(code.description, message)
        }
    }
}

extension PluginHostAPI {
    /// Answers one host call: checks its shape, calls the requirement it names, and reports the outcome as the C
    /// table would. A call whose arguments do not match its function is the caller's fault and gets -1.
    public func answer(_ call: HostCall) -> CallResult {
        guard call.ints.count == call.function.shape.ints, call.blobs.count == call.function.shape.blobs else { return .malformed }
        func int(_ i: Int) -> Int64 { call.ints[i] }
        func int32(_ i: Int) -> Int32 { Int32(truncatingIfNeeded: call.ints[i]) }
        func bytes(_ i: Int) -> Data { call.blobs[i] ?? Data() }
        func text(_ i: Int) -> String { String(decoding: bytes(i), as: UTF8.self) }
        if call.function == .randomBytes, !(0...(1 << 20)).contains(int(0)) { return .malformed }
        return CallResult.capture {
            switch call.function {
            case .log:
                log(level: int32(0), text(0))
                return .ok()
            case .kvGet: return .found(try kvGet(text(0)))
            case .kvPut:
                try kvPut(text(0), value: bytes(1), ttlSeconds: int(0))
                return .ok()
            case .kvDelete:
                try kvDelete(text(0))
                return .ok()
            case .kvList: return .ok(try kvList(prefix: text(0)))
            case .kvCompareAndSet:
                return .won(try kvCompareAndSet(text(0), expected: call.blobs[1], replacement: call.blobs[2], ttlSeconds: int(0)))
            case .secretSeal: return .ok(try secretSeal(bytes(0)))
            case .secretOpen: return .ok(try secretOpen(bytes(0)))
            case .httpRequest: return .ok(try httpRequest(bytes(0)))
            case .randomBytes: return .ok(try randomBytes(Int(int(0))))
            case .digest: return .ok(try digest(int32(0), bytes(0)))
            case .hmac: return .ok(try hmac(int32(0), key: bytes(0), bytes(1)))
            case .rsaGenerate:
                // The ABI's rule (plugin.h), for every implementation.
                guard (2048...4096).contains(int(0)) else {
                    throw AppLinksError(.invalidInput, "RSA keys must have 2048 to 4096 bits, not \(int(0))")
                }
                return .ok(try rsaGenerate(bits: int32(0)))
            case .rsaSign: return .ok(try rsaSign(int32(0), privateKeyPEM: call.blobs[0] == nil ? nil : text(0), bytes(1)))
            case .rsaVerify: return .won(try rsaVerify(int32(0), publicKeyPEM: text(0), bytes(1), signature: bytes(2)))
            case .instanceInfo: return .ok(try instanceInfo())
            case .linksList: return .ok(try linksList())
            case .linkGet: return .found(try linkGet(text(0)))
            case .linkUpdate: return .ok(try linkUpdate(bytes(0)))
            case .audit:
                try audit(bytes(0))
                return .ok()
            case .linkAccessToken: return .found(try linkAccessToken(text(0)))
            case .kvBatch:
                guard let failed = try kvBatch(try KVChange.changes(jsonData: bytes(0))) else { return .ok() }
                return CallResult(code: Int32(APPLINKS_CONFLICT), output: Data(#"{"index":\#(failed)}"#.utf8))
            }
        }
    }
}

extension HostCall.Function {
    /// How many integer and byte arguments the function takes, in the order of its C parameters.
    public var shape: (ints: Int, blobs: Int) {
        switch self {
        case .log: (1, 1)
        case .kvGet, .kvDelete, .kvList, .secretSeal, .secretOpen, .httpRequest, .linkGet, .linkUpdate, .audit, .linkAccessToken, .kvBatch:
            (0, 1)
        case .kvPut: (1, 2)
        case .kvCompareAndSet: (1, 3)
        case .randomBytes, .rsaGenerate: (1, 0)
        case .digest: (1, 1)
        case .hmac, .rsaSign: (1, 2)
        case .rsaVerify: (1, 3)
        case .instanceInfo, .linksList: (0, 0)
        }
    }
}

extension CallResult {
    static let malformed = CallResult(code: -1, output: Data())
    static func ok(_ output: Data = Data()) -> CallResult { CallResult(code: Int32(APPLINKS_OK), output: output) }
    static func found(_ output: Data?) -> CallResult {
        output.map { ok($0) } ?? CallResult(code: Int32(APPLINKS_NOT_FOUND), output: Data())
    }
    static func won(_ won: Bool) -> CallResult { won ? ok() : CallResult(code: Int32(APPLINKS_CONFLICT), output: Data()) }

    /// The outcome of a host function, with a thrown error turned into the code and body a plugin sees.
    static func capture(_ body: () throws -> CallResult) -> CallResult {
        do { return try body() } catch let e as any HostAPIReportable {
            let f = e.hostAPIFailure
            return CallResult(code: f.code, output: f.body)
        } catch {
            let f = HostAPIFailure("internal", "\(error)")
            return CallResult(code: f.code, output: f.body)
        }
    }
}
