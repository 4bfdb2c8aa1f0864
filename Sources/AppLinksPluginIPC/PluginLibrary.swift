import AppLinksPluginABI
import Foundation

/// Opens a plugin library and performs the entry handshake: the same steps, and the same reasons for a
/// refusal, in the host and in a runner process.
public enum PluginLibrary {
    /// The host's ABI version, `(major << 16) | minor`.
    public static let hostABIVersion = UInt32(APPLINKS_ABI_VERSION_MAJOR << 16 | APPLINKS_ABI_VERSION_MINOR)

    /// Why a library could not be opened, and what to do about it.
    public struct Refusal: Error, Sendable {
        public var reason: String
        public var fix: String
    }

    /// The library's handle (never closed) and its descriptor table.
    public static func open(
        _ path: String
    ) throws(Refusal) -> (handle: UnsafeMutableRawPointer, raw: UnsafePointer<applinks_plugin_descriptor>) {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let why = dlerror().map { String(cString: $0) } ?? "unknown reason"
            throw Refusal(
                reason: "dlopen failed: \(why)",
                fix: "rebuild the plugin for this platform and check that the libraries it needs are installed")
        }
        // Never dlclose: a library may have registered Swift metadata or threads that outlive any close.
        guard let sym = dlsym(handle, APPLINKS_PLUGIN_ENTRY_SYMBOL) else {
            throw Refusal(
                reason: "the library does not export \(APPLINKS_PLUGIN_ENTRY_SYMBOL)",
                fix: "export `const applinks_plugin_descriptor *applinks_plugin_entry(uint32_t)` (see sdk/include/applinks/plugin.h)")
        }
        guard let raw = unsafeBitCast(sym, to: applinks_plugin_entry_fn.self)(hostABIVersion) else {
            throw Refusal(
                reason: "the plugin declined this host's ABI \(hostABIVersion >> 16).\(hostABIVersion & 0xFFFF)",
                fix: "install a build of the plugin for ABI 1.x")
        }
        return (handle, raw)
    }
}
