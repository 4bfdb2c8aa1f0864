import AppLinksCore
import AppLinksJSON
import AppLinksPluginABI
import CFFI
import Foundation

/// A C plugin's action declared as a plain C function (`c_function` in its descriptor), called with libffi:
/// `int32_t symbol(void *plugin_ctx, ARGS…, applinks_buffer *out)`, each argument an `int64_t`, a `double`, a
/// `bool` or a `const char *`, in the order of the action's parameters.
///
/// The declaration is checked when the plugin loads, so a mismatch is refused with the plugin rather than
/// found by the first admin who runs the action; the arguments are converted from the admin's text straight
/// to the C types, so an int64 arrives exact even beyond what a JSON number (a double) holds.
public struct NativeAction: @unchecked Sendable {
    // `function` is a code address inside a library that is never closed.
    public enum ArgType: String, CaseIterable, Sendable {
        case int64, double, bool, string
    }

    public let action: LinkTypeDescriptor.Action
    public let types: [ArgType]
    /// nil where the library lives in a runner process, which calls the function there.
    let function: UnsafeMutableRawPointer?

    /// Checks the declaration against the action's parameters and finds the symbol; the reason otherwise.
    public enum Resolution: Sendable {
        case resolved(NativeAction)
        case refused(String)
    }

    /// `handle` nil checks the declaration only: the library is open in another process, which finds the symbol.
    public static func resolve(_ action: LinkTypeDescriptor.Action, in handle: UnsafeMutableRawPointer?) -> Resolution {
        guard let c = action.cFunction else { return .refused("the action \(action.id) declares no c_function") }
        var types: [ArgType] = []
        for (i, name) in c.args.enumerated() {
            guard let t = ArgType(rawValue: name) else {
                return .refused(
                    "argument \(i + 1) of \(c.symbol) (action \(action.id)) has the unsupported C type '\(name)'; use "
                        + ArgType.allCases.map(\.rawValue).joined(separator: ", "))
            }
            types.append(t)
        }
        guard types.count == action.params.count else {
            return .refused(
                "\(c.symbol) takes \(types.count) argument\(types.count == 1 ? "" : "s") but the action \(action.id) declares "
                    + "\(action.params.count) parameter\(action.params.count == 1 ? "" : "s")")
        }
        for (i, (param, type)) in zip(action.params, types).enumerated() where !Self.fits(param.type, type) {
            return .refused(
                "argument \(i + 1) of \(c.symbol) is \(type.rawValue), but the action \(action.id)'s parameter '\(param.name)' is "
                    + "\(param.type.rawValue)")
        }
        guard let handle else { return .resolved(NativeAction(action: action, types: types, function: nil)) }
        guard let function = dlsym(handle, c.symbol) else {
            return .refused("the library does not export \(c.symbol), the C function of the action \(action.id)")
        }
        return .resolved(NativeAction(action: action, types: types, function: function))
    }

    private static func fits(_ param: LinkTypeDescriptor.Parameter.Kind, _ type: ArgType) -> Bool {
        switch (param, type) {
        case (.int, .int64), (.double, .double), (.bool, .bool), (.string, .string), (.url, .string), (.secret, .string): return true
        default: return false
        }
    }

    /// The arguments in declaration order, as text for the C conversion: what the admin typed (so an int64
    /// stays exact), else the default the host filled in; nil for an optional one left out (zero, false or
    /// NULL). `converted` is what the host's argument check checked and completed.
    public func values(_ raw: [(String, String)], converted: [String: JSONValue]) -> [String?] {
        let given = Dictionary(raw, uniquingKeysWith: { _, last in last })
        return action.params.map { given[$0.name] ?? converted[$0.name]?.stringValue }
    }

    /// Where a `with_link` function (ABI 1.2) is called from: the host table and context the plugin's `init`
    /// received, and the link the action runs on.
    public struct LinkContext {
        public var host: UnsafeRawPointer?
        public var hostContext: UnsafeMutableRawPointer?
        public var linkID: String
        public init(host: UnsafeRawPointer?, hostContext: UnsafeMutableRawPointer?, linkID: String) {
            self.host = host
            self.hostContext = hostContext
            self.linkID = linkID
        }
    }

    /// Whether the function takes the host table, host context and link id after the plugin's context.
    public var withLink: Bool { action.cFunction?.withLink ?? false }

    /// Calls the function with `ffi_call` on this thread: the plugin's context, for a `with_link` function the
    /// host table, host context and link id, then the arguments and the result buffer.
    public func call(
        context: UnsafeMutableRawPointer?, link: LinkContext?, values: [String?], out: UnsafeMutablePointer<applinks_buffer>
    ) -> Int32 {
        guard let function else { return Int32(APPLINKS_ERROR) }
        var argTypes: [UnsafeMutablePointer<ffi_type>?] = [applinks_ffi_pointer()]
        if withLink { argTypes += [applinks_ffi_pointer(), applinks_ffi_pointer(), applinks_ffi_pointer()] }
        argTypes += types.map {
            switch $0 {
            case .int64: return applinks_ffi_sint64()
            case .double: return applinks_ffi_double()
            case .bool: return applinks_ffi_uint8()
            case .string: return applinks_ffi_pointer()
            }
        }
        argTypes.append(applinks_ffi_pointer())
        // Each argument's storage, as ffi_call reads it: a pointer to the value.
        var storage: [UnsafeMutableRawPointer] = []
        var strings: [UnsafeMutablePointer<CChar>?] = []
        defer {
            for p in storage { p.deallocate() }
            for s in strings { free(s) }
        }
        func slot<T>(_ value: T) -> UnsafeMutableRawPointer {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(MemoryLayout<T>.size, 8), alignment: 8)
            p.storeBytes(of: value, as: T.self)
            storage.append(p)
            return p
        }
        var args: [UnsafeMutableRawPointer?] = [slot(context)]
        if withLink {
            let id = link.flatMap { strdup($0.linkID) }
            strings.append(id)
            args += [slot(link?.host), slot(link?.hostContext), slot(UnsafePointer(id))]
        }
        for (type, value) in zip(types, values) {
            switch type {
            case .int64: args.append(slot(value.flatMap { Int64($0) } ?? 0))
            case .double: args.append(slot(value.flatMap { Double($0) } ?? 0))
            case .bool: args.append(slot(UInt8(value.flatMap { JSONValue.string($0).boolValue } == true ? 1 : 0)))
            case .string:
                let s = value.flatMap { strdup($0) }
                strings.append(s)
                args.append(slot(UnsafePointer(s)))
            }
        }
        args.append(slot(out))
        // The cif keeps pointers to the type list: both live until the call returns.
        let cif = UnsafeMutablePointer<ffi_cif>.allocate(capacity: 1)
        defer { cif.deallocate() }
        let result = UnsafeMutablePointer<ffi_arg>.allocate(capacity: 1)
        defer { result.deallocate() }
        result.pointee = 0
        return argTypes.withUnsafeMutableBufferPointer { types -> Int32 in
            guard ffi_prep_cif(cif, FFI_DEFAULT_ABI, UInt32(types.count), applinks_ffi_sint32(), types.baseAddress) == FFI_OK else {
                return Int32(APPLINKS_ERROR)
            }
            args.withUnsafeMutableBufferPointer { a in
                ffi_call(cif, unsafeBitCast(function, to: (@convention(c) () -> Void).self), result, a.baseAddress)
            }
            return Int32(truncatingIfNeeded: result.pointee)
        }
    }
}
