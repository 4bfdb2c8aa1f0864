import AppLinksCore
import Foundation

/// A link type written in Swift. Conform one type, then export it with one declaration:
///
/// ```swift
/// struct HelloLinkType: LinkTypePlugin {
///     static let descriptor = LinkTypeDescriptor(id: "hello", name: "Hello", version: "1.0.0", vendor: "Example",
///         directions: [.outgoing], wizard: .init(steps: [.init(id: "remote", title: "Remote")]))
///     init(host: HostAPI) throws {}
///     func wizardStep(_ request: WizardRequest) async throws -> WizardResponse { ... }
///     func checkStatus(_ request: StatusRequest) async throws -> StatusResponse { .init(.connected, message: "OK") }
/// }
///
/// @_cdecl("applinks_plugin_entry")
/// public func applinksPluginEntry(_ hostABIVersion: UInt32) -> UnsafeRawPointer? {
///     PluginExport.entry(HelloLinkType.self, hostABIVersion: hostABIVersion)
/// }
/// ```
///
/// The kit turns the C calls into these async methods, decodes and encodes the JSON, and maps a thrown
/// ``PluginError`` (or any other error) to an `Int32(APPLINKS_ERROR)` result. Handlers may run concurrently.
public protocol LinkTypePlugin: Sendable {
    static var descriptor: LinkTypeDescriptor { get }

    /// Called once, from the ABI's `init`. Throwing refuses the plugin with the error's message.
    init(host: HostAPI) throws

    func wizardStep(_ request: WizardRequest) async throws -> WizardResponse
    func checkStatus(_ request: StatusRequest) async throws -> StatusResponse
    func invokeAction(_ request: ActionRequest) async throws -> ActionResponse
    func handleHTTP(_ request: PluginHTTPRequest) async throws -> PluginHTTPResponse
    func shutdown() async
}

extension LinkTypePlugin {
    public func invokeAction(_ request: ActionRequest) async throws -> ActionResponse {
        throw PluginError(code: "unknown_action", message: "The action '\(request.action)' is not implemented by \(Self.descriptor.name).")
    }

    public func handleHTTP(_ request: PluginHTTPRequest) async throws -> PluginHTTPResponse {
        PluginHTTPResponse(status: 404, headers: [["Content-Type", "text/plain; charset=utf-8"]], body: Data("Not found\n".utf8))
    }

    public func shutdown() async {}
}

/// An error a plugin reports to the host on purpose: `code` is machine-readable, `message` is for the admin.
/// The code `invalid_input` makes the CLI exit 2 and the REST API answer 400, as for any other bad input.
///
/// ```swift
/// throw PluginError(code: "invalid_input", message: "job must name a Jenkins job, such as folder/build.")
/// ```
public struct PluginError: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code): \(message)" }
}
