import AppLinksCore
import AppLinksJSON
import AppLinksLocking
import AppLinksPluginABI
import AppLinksPluginIPC
import AppLinksTracing
import Dispatch
import Foundation
import Logging

/// An opened, validated plugin. Its `init` runs lazily on the first call, so that commands which only read
/// descriptors (such as `applinks list`) never start a plugin.
public final class LoadedPlugin: @unchecked Sendable {
    // Immutable; the plugin's init state lives in its `PluginInstance` or its runner.
    public let descriptor: LinkTypeDescriptor
    public let path: String
    public let abiVersion: UInt32
    public let sha256: String
    let backend: Backend
    let logger: Logger
    /// The actions that are plain C functions, by action id.
    package let natives: [String: NativeAction]
    /// Every call into the plugin, for `/metrics`.
    public let stats: PluginCallStats

    public var id: String { descriptor.id }

    /// Where the plugin's code runs.
    enum Backend {
        /// Opened in this process; calls go straight through its function table.
        case library(PluginInstance)
        /// In a runner process (`isolation: process`).
        case process(PluginProcess)
    }

    /// Whether the plugin runs in its own process.
    public var isolated: Bool {
        if case .process = backend { return true }
        return false
    }

    init(
        backend: Backend, descriptor: LinkTypeDescriptor, path: String, abiVersion: UInt32,
        sha256: String, logger: Logger, natives: [String: NativeAction] = [:]
    ) {
        self.natives = natives
        self.backend = backend
        if case .process(let p) = backend { stats = p.stats } else { stats = PluginCallStats() }
        self.descriptor = descriptor
        self.path = path
        self.abiVersion = abiVersion
        self.sha256 = sha256
        self.logger = logger
    }

    /// Gives the plugin its host API; `init` itself waits for the first call.
    package func attach(_ host: HostAPIContext) {
        switch backend {
        case .library(let instance): instance.attach(host)
        case .process(let p): p.attach(host)
        }
    }

    public enum Function: String, Sendable {
        case wizardStep = "wizard_step"
        case checkStatus = "check_status"
        case invokeAction = "invoke_action"
        case handleHTTP = "handle_http"

        var wire: PluginCall.Function {
            switch self {
            case .wizardStep: .wizardStep
            case .checkStatus: .checkStatus
            case .invokeAction: .invokeAction
            case .handleHTTP: .handleHTTP
            }
        }
    }

    /// Calls one plugin function with a JSON request and returns its JSON response.
    ///
    /// A plugin-reported error becomes `.pluginFailed` with the plugin's message. If `timeout` passes first, this
    /// throws `.timeout`; the plugin's thread is left to finish on its own (an in-process call cannot be stopped).
    public func call(_ function: Function, _ request: Data, timeout: Duration?) async throws -> Data {
        try await TraceSpans.span("plugin \(id) \(function.rawValue)", attributes: TraceSpans.pluginAttributes(id, function.rawValue)) {
            _ in
            try await stats.measure(function.rawValue) { try await unmeasuredCall(function, request, timeout: timeout) }
        }
    }

    private func unmeasuredCall(_ function: Function, _ request: Data, timeout: Duration?) async throws -> Data {
        let pluginID = id
        if case .process(let p) = backend {
            let r = try await p.call(PluginCall(function.wire, request), pluginName: descriptor.name, timeout: timeout)
            return try judge(r.code, r.output, what: function.rawValue)
        }
        return try await PluginThreads.run(
            timeout: timeout,
            onTimeout: {
                AppLinksError(
                    .timeout, "The link type '\(pluginID)' did not answer \(function.rawValue) within \(timeout.map { "\($0)" } ?? "")")
            }
        ) { [self] in try invoke(function, request) }
    }

    /// Answers an HTTP request with the plugin's `handle_http`. A route the plugin declared `inline` is called
    /// right here, on the request's thread, where a host call that would wait is refused (see ``InlineCall``);
    /// any other goes to a plugin thread, like every other call.
    public func handleHTTP(_ request: PluginHTTPRequest, inline: Bool, timeout: Duration?) async throws -> PluginHTTPResponse {
        let data: Data
        if inline, !isolated {
            let started = ContinuousClock.now
            do {
                data = try TraceSpans.span(
                    "plugin \(id) handle_http", attributes: TraceSpans.pluginAttributes(id, Function.handleHTTP.rawValue)
                ) { try InlineCall.run { try invoke(.handleHTTP, request.jsonData()) } }
            } catch {
                stats.record(Function.handleHTTP.rawValue, failed: true, took: ContinuousClock.now - started)
                throw error
            }
            let took = ContinuousClock.now - started
            stats.record(Function.handleHTTP.rawValue, failed: false, took: took)
            if took > InlineCall.slow {
                logger.warning(
                    "an inline route answered slowly; declare it without \"inline\" so that it runs on a plugin thread",
                    metadata: ["plugin": "\(id)", "path": "\(request.path)", "took": "\(took)"])
            }
        } else {
            data = try await call(.handleHTTP, request.jsonData(), timeout: timeout)
        }
        do {
            return try PluginHTTPResponse(jsonData: data)
        } catch {
            throw AppLinksError(
                .pluginFailed, "\(descriptor.name) returned an invalid handle_http answer: \(PluginLoader.describe(error))", cause: error)
        }
    }

    /// One synchronous call through the C function table, on the current thread.
    private func invoke(_ function: Function, _ request: Data) throws -> Data {
        guard case .library(let instance) = backend else {
            throw AppLinksError(.pluginFailed, "The link type '\(id)' runs in its own process and cannot be called inline.")
        }
        let r = instance.call(function.wire, request)
        return try judge(r.code, r.output, what: function.rawValue)
    }

    /// Calls an action that is a plain C function, on a plugin thread, with arguments already converted.
    package func callNative(_ native: NativeAction, linkID: String, values: [String?], timeout: Duration?) async throws -> Data {
        try await TraceSpans.span("plugin \(id) action", attributes: TraceSpans.pluginAttributes(id, "action")) { _ in
            try await stats.measure("action") { try await unmeasuredNative(native, linkID: linkID, values: values, timeout: timeout) }
        }
    }

    private func unmeasuredNative(_ native: NativeAction, linkID: String, values: [String?], timeout: Duration?) async throws -> Data {
        let pluginID = id
        let what = native.action.cFunction?.symbol ?? native.action.id
        if case .process(let p) = backend {
            let request = try JSONCoding.encode(NativeCall(action: native.action.id, values: values, linkID: linkID))
            let r = try await p.call(PluginCall(.native, request), pluginName: descriptor.name, timeout: timeout)
            return try judge(r.code, r.output, what: what)
        }
        return try await PluginThreads.run(
            timeout: timeout,
            onTimeout: {
                AppLinksError(
                    .timeout,
                    "The link type '\(pluginID)' did not finish the action \(native.action.id) within \(timeout.map { "\($0)" } ?? "")")
            }
        ) { [self] in
            guard case .library(let instance) = backend else { throw AppLinksError(.pluginFailed, "unreachable: \(pluginID) is isolated") }
            let r = instance.callNative(native, linkID: linkID, values: values)
            return try judge(r.code, r.output, what: what)
        }
    }

    /// A call's result as the plugin meant it: the data, or its error.
    private func judge(_ rc: Int32, _ data: Data, what: String) throws -> Data {
        let name = descriptor.name
        switch rc {
        case Int32(APPLINKS_OK):
            return data
        case Int32(APPLINKS_ERROR):
            if let body = try? JSONCoding.decode(PluginErrorBody.self, from: data) {
                if body.code == PluginInstance.initFailedCode {
                    throw AppLinksError(
                        .pluginFailed, "The link type '\(id)' (\(path)): \(body.message). Check the host log for its messages.")
                }
                throw PluginCallError(code: body.code, message: body.message, plugin: name)
            }
            throw AppLinksError(.pluginFailed, "\(name) reported an error without a readable message.")
        default:
            throw AppLinksError(.pluginFailed, "\(name) failed unexpectedly in \(what) (code \(rc)).")
        }
    }

    /// Calls `function` and decodes the answer; an answer that does not decode is the plugin's fault.
    public func call<Req: Encodable & Sendable, Res: Decodable>(
        _ function: Function, _ request: Req, as: Res.Type, timeout: Duration?
    ) async throws -> Res {
        let data = try await call(function, try JSONCoding.encode(request), timeout: timeout)
        do {
            return try JSONCoding.decode(Res.self, from: data)
        } catch {
            throw AppLinksError(
                .pluginFailed, "\(descriptor.name) returned an invalid \(function.rawValue) answer: " + Self.whatIsWrong(data, error),
                cause: error)
        }
    }

    /// What is wrong with an answer that did not decode: empty, not JSON (and where it broke), or JSON of the wrong
    /// shape (and which member).
    static func whatIsWrong(_ data: Data, _ error: any Error) -> String {
        if data.isEmpty { return "the answer was empty (0 bytes); write the JSON answer into out" }
        do {
            _ = try JSONValue.parse(data)
        } catch let e as JSONSyntaxError {
            let shown = String(decoding: data.prefix(80), as: UTF8.self)
            return "it is not JSON: \(e) (the answer begins \(JSONValue.quoted(shown)))"
        } catch {}
        return PluginLoader.describe(error)
    }

    /// Calls `shutdown` if `init` ran.
    package func shutdown() {
        switch backend {
        case .library(let instance): instance.shutdown()
        case .process(let p): p.stop()
        }
    }
}

/// An error that a plugin reported on purpose, with its own code.
public struct PluginCallError: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var plugin: String
    public var description: String { message }
}
