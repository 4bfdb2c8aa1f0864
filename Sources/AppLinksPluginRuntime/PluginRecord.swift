import AppLinksCore
import Foundation

/// What the loader found in one plugin file, loaded or not. This is what `applinks plugins list` prints.
public struct PluginRecord: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable {
        /// Opened, handshake passed, descriptor valid; callable.
        case loaded
        /// Opened and valid, but disabled for this deployment: never initialised or called.
        case disabled
        /// Not loaded; `reason` says why and how to fix it.
        case refused
    }

    public var id: String?
    public var name: String?
    public var version: String?
    public var vendor: String?
    public var abiVersion: String?
    public var path: String
    public var sha256: String?
    public var enabled: Bool
    public var state: State
    public var reason: String?
    /// Time to open the file and read its descriptor, in milliseconds.
    public var loadMs: Double?
    /// `process` when the type runs in its own runner process, else `in-process`.
    public var isolation: String?

    enum CodingKeys: String, CodingKey {
        case id, name, version, vendor, path, sha256, enabled, state, reason, isolation
        case abiVersion = "abi_version"
        case loadMs = "load_ms"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(version, forKey: .version)
        try c.encode(vendor, forKey: .vendor)
        try c.encode(abiVersion, forKey: .abiVersion)
        try c.encode(path, forKey: .path)
        try c.encode(sha256, forKey: .sha256)
        try c.encode(enabled, forKey: .enabled)
        try c.encode(state, forKey: .state)
        try c.encode(reason, forKey: .reason)
        try c.encode(loadMs, forKey: .loadMs)
        try c.encode(isolation, forKey: .isolation)
    }
}
