import AppLinksCore
import AppLinksJSON
import AppLinksLocking
import AppLinksPluginABI
import AppLinksPluginIPC
import Dispatch
import Foundation
import Synchronization

/// Loads one plugin library and serves the host's calls to it over a pipe, proxying the plugin's own calls
/// to the host API back over the same pipe. A crash or a hang here costs the host this process only.
final class PluginRunner: Sendable {
    private let channel: FrameChannel
    private let instance: PluginInstance
    private let natives: [String: NativeAction]
    private let forwarder: HostForwarder

    private init(channel: FrameChannel, raw: UnsafePointer<applinks_plugin_descriptor>, natives: [String: NativeAction]) {
        self.channel = channel
        self.natives = natives
        instance = PluginInstance(raw)
        let forwarder = HostForwarder(channel: channel)
        self.forwarder = forwarder
        instance.attach(HostAPIContext(forwarding: { forwarder.forward($0) }))
    }

    /// Sets up the descriptors, says hello with the plugin's descriptor, then serves until the host closes the
    /// pipe or asks for shutdown. Returns the exit status.
    static func main(library: String) -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        // Frames go on private copies of stdin and stdout; a plugin that prints, or a child it starts, then
        // writes to stderr and reads nothing instead of corrupting the stream.
        let input = fcntl(0, F_DUPFD_CLOEXEC, 3)
        let output = fcntl(1, F_DUPFD_CLOEXEC, 3)
        guard input >= 0, output >= 0 else { return 3 }
        let null = open("/dev/null", O_RDONLY)
        if null >= 0 { dup2(null, 0) }
        dup2(2, 1)
        let channel = FrameChannel(readFD: input, writeFD: output)

        let handle: UnsafeMutableRawPointer
        let raw: UnsafePointer<applinks_plugin_descriptor>
        do {
            (handle, raw) = try PluginLibrary.open(library)
        } catch {
            return hello(channel, RunnerHello(fields: nil, refusal: error.reason, fix: error.fix))
        }
        let fields = DescriptorFields(raw)
        var natives: [String: NativeAction] = [:]
        var refusals: [String] = []
        if let json = fields.descriptorJSON, let descriptor = try? JSONCoding.decode(LinkTypeDescriptor.self, from: Data(json.utf8)) {
            for action in descriptor.actions where action.cFunction != nil {
                switch NativeAction.resolve(action, in: handle) {
                case .resolved(let native): natives[action.id] = native
                case .refused(let why): refusals.append(why)
                }
            }
        }
        let runner = PluginRunner(channel: channel, raw: raw, natives: natives)
        guard hello(channel, RunnerHello(fields: fields, nativeRefusals: refusals)) == 0 else { return 1 }
        return runner.serve()
    }

    private static func hello(_ channel: FrameChannel, _ hello: RunnerHello) -> Int32 {
        let data = (try? JSONCoding.encode(hello)) ?? Data()
        return channel.send(Frame(.hello, id: 0, data)) ? 0 : 1
    }

    private func serve() -> Int32 {
        while let frame = channel.receive() {
            switch frame.kind {
            case .call:
                BlockingThreadPool.shared.submit { [self] in
                    let result = HostForwarder.$callID.withValue(frame.id) { answer(frame.payload) }
                    channel.send(Frame(.result, id: frame.id, result.encoded()))
                }
            case .hostResult:
                forwarder.resolve(frame)
            case .shutdown:
                instance.shutdown()
                return 0
            case .hello, .result, .hostCall:
                continue
            }
        }
        return 0  // the host is gone
    }

    private func answer(_ payload: Data) -> CallResult {
        guard let call = PluginCall(decoding: payload) else { return CallResult(code: -1, output: Data()) }
        guard call.function == .native else { return instance.call(call.function, call.request) }
        guard let request = try? JSONCoding.decode(NativeCall.self, from: call.request), let native = natives[request.action] else {
            return CallResult(code: -1, output: Data())
        }
        return instance.callNative(native, linkID: request.linkID, values: request.values)
    }
}
