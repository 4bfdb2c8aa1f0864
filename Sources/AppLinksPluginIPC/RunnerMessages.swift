import AppLinksPluginABI
import Foundation

/// What a plugin's descriptor table holds, read the same way in the host and in a runner process, so that
/// one set of checks (``PluginLoader``) judges a plugin wherever it runs.
public struct DescriptorFields: Codable, Sendable {
    public var structSize: UInt32
    public var abiVersion: UInt32
    public var id: String?
    public var name: String?
    public var version: String?
    public var vendor: String?
    public var descriptorJSON: String?
    /// Whether all seven functions of the v1 table are set.
    public var complete: Bool

    enum CodingKeys: String, CodingKey {
        case structSize = "struct_size", abiVersion = "abi_version", id, name, version, vendor, complete
        case descriptorJSON = "descriptor_json"
    }

    /// Reads the table. Only the two leading fields are read before the struct size is known to be valid;
    /// the caller checks `structSize` before trusting the rest.
    public init(_ raw: UnsafePointer<applinks_plugin_descriptor>) {
        structSize = raw.withMemoryRebound(to: UInt32.self, capacity: 2) { $0[0] }
        abiVersion = raw.withMemoryRebound(to: UInt32.self, capacity: 2) { $0[1] }
        guard Int(structSize) >= Self.v1Size else {
            complete = false
            return
        }
        let d = raw.pointee
        id = d.id.map { String(cString: $0) }
        name = d.name.map { String(cString: $0) }
        version = d.version.map { String(cString: $0) }
        vendor = d.vendor.map { String(cString: $0) }
        descriptorJSON = d.descriptor_json.map { String(cString: $0) }
        complete =
            d.`init` != nil && d.shutdown != nil && d.wizard_step != nil && d.check_status != nil && d.invoke_action != nil
            && d.handle_http != nil && d.free_buffer != nil
    }

    /// The least `struct_size` a v1 plugin may declare: every field up to and including `free_buffer`.
    public static let v1Size =
        MemoryLayout<applinks_plugin_descriptor>.offset(of: \applinks_plugin_descriptor.free_buffer)!
        + MemoryLayout<UnsafeRawPointer>.size
}

/// A runner's first message: the plugin's descriptor, or why the library could not be opened at all.
public struct RunnerHello: Codable, Sendable {
    public var fields: DescriptorFields?
    /// The library failed before it had a descriptor (dlopen, a missing entry symbol, a declined ABI).
    public var refusal: String?
    public var fix: String?
    /// Each `c_function` action the runner could not resolve, with the reason.
    public var nativeRefusals: [String]

    public init(fields: DescriptorFields?, refusal: String? = nil, fix: String? = nil, nativeRefusals: [String] = []) {
        self.fields = fields
        self.refusal = refusal
        self.fix = fix
        self.nativeRefusals = nativeRefusals
    }

    enum CodingKeys: String, CodingKey {
        case fields, refusal, fix
        case nativeRefusals = "native_refusals"
    }
}

/// A plugin function the host asks a runner to call: one byte naming it, then its JSON request.
public struct PluginCall: Sendable {
    public enum Function: UInt8, Sendable {
        case wizardStep = 0, checkStatus, invokeAction, handleHTTP
        /// A typed C action (``NativeAction``): the request is ``NativeCall`` JSON.
        case native
    }

    public var function: Function
    public var request: Data

    public init(_ function: Function, _ request: Data) {
        self.function = function
        self.request = request
    }

    public func encoded() -> Data {
        var w = WireWriter()
        w.u8(function.rawValue)
        w.bytes.append(request)
        return w.bytes
    }

    public init?(decoding data: Data) {
        guard let first = data.first, let f = Function(rawValue: first) else { return nil }
        function = f
        request = Data(data.dropFirst())
    }
}

/// A typed action's arguments, already checked and converted to text by the host.
public struct NativeCall: Codable, Sendable {
    public var action: String
    public var values: [String?]
    /// The link the action runs on, for a `with_link` function.
    public var linkID: String?

    public init(action: String, values: [String?], linkID: String? = nil) {
        self.action = action
        self.values = values
        self.linkID = linkID
    }
}

/// A function's return code and output buffer.
public struct CallResult: Sendable {
    public var code: Int32
    public var output: Data

    public init(code: Int32, output: Data) {
        self.code = code
        self.output = output
    }

    public func encoded() -> Data {
        var w = WireWriter()
        w.i32(code)
        w.bytes.append(output)
        return w.bytes
    }

    public init?(decoding data: Data) {
        var r = WireReader(data)
        guard let code = r.i32() else { return nil }
        self.code = code
        output = r.remaining
    }
}

/// A host API function called by a plugin in a runner: the function, its integer arguments and its byte
/// arguments in declaration order (a NULL pointer stays distinct from an empty one). The host answers it by
/// calling its own table, so a plugin out of process sees exactly what one in process sees.
public struct HostCall: Sendable, Equatable {
    public enum Function: UInt8, Sendable, CaseIterable {
        case log = 0, kvGet, kvPut, kvDelete, kvList, kvCompareAndSet, secretSeal, secretOpen, httpRequest
        case randomBytes, digest, hmac, rsaGenerate, rsaSign, rsaVerify, instanceInfo, linksList, linkGet, linkUpdate
        case audit, linkAccessToken, kvBatch
    }

    public var function: Function
    public var ints: [Int64]
    public var blobs: [Data?]
    /// The frame id of the plugin call this host call was made during, or 0 when the plugin called from a thread of
    /// its own. It lets the host trace the host call under that plugin call; it is sent only when not 0.
    public var callID: UInt64

    public init(_ function: Function, ints: [Int64] = [], blobs: [Data?] = [], callID: UInt64 = 0) {
        self.function = function
        self.ints = ints
        self.blobs = blobs
        self.callID = callID
    }

    public func encoded() -> Data {
        var w = WireWriter()
        w.u8(function.rawValue)
        w.u8(UInt8(ints.count))
        for i in ints { w.i64(i) }
        w.u8(UInt8(blobs.count))
        for b in blobs { w.blob(b) }
        if callID != 0 { w.u64(callID) }
        return w.bytes
    }

    public init?(decoding data: Data) {
        var r = WireReader(data)
        guard let f = r.u8().flatMap(Function.init(rawValue:)), let n = r.u8() else { return nil }
        var ints: [Int64] = []
        for _ in 0..<n {
            guard let i = r.i64() else { return nil }
            ints.append(i)
        }
        guard let m = r.u8() else { return nil }
        var blobs: [Data?] = []
        for _ in 0..<m {
            guard let b = r.blob() else { return nil }
            blobs.append(b)
        }
        var callID: UInt64 = 0
        if !r.remaining.isEmpty {
            guard let id = r.u64(), r.remaining.isEmpty else { return nil }
            callID = id
        }
        self.init(f, ints: ints, blobs: blobs, callID: callID)
    }
}
