import AppLinksLocking
import AppLinksPluginABI
import AppLinksPluginIPC
import Dispatch
import Foundation
import Synchronization

/// The host API in a runner process: each call the plugin makes goes to the host as a frame, and the plugin's
/// thread waits for the answer. A `log` line goes without waiting.
final class HostForwarder: Sendable {
    private let channel: FrameChannel
    private let waiting = Locked<[UInt64: Waiter]>([:])
    private let nextID = Atomic<UInt64>(1)

    /// One plugin thread waiting for the host's answer to a host API call.
    private final class Waiter: @unchecked Sendable {
        // `result` is written once, before `done` is signalled, and read after the wait.
        let done = DispatchSemaphore(value: 0)
        var result = CallResult(code: -1, output: Data())
    }

    init(channel: FrameChannel) {
        self.channel = channel
    }

    /// The plugin call this thread is answering, which the host calls it makes name.
    @TaskLocal static var callID: UInt64 = 0

    func forward(_ call: HostCall) -> CallResult {
        var call = call
        call.callID = Self.callID
        guard call.function != .log else {
            channel.send(Frame(.hostCall, id: 0, call.encoded()))
            return CallResult(code: Int32(APPLINKS_OK), output: Data())
        }
        let id = nextID.add(1, ordering: .relaxed).newValue
        let waiter = Waiter()
        waiting.withLock { $0[id] = waiter }
        guard channel.send(Frame(.hostCall, id: id, call.encoded())) else {
            waiting.withLock { _ = $0.removeValue(forKey: id) }
            return CallResult(code: -1, output: Data())
        }
        waiter.done.wait()
        return waiter.result
    }

    /// Hands the host's answer to the thread that waits for it.
    func resolve(_ frame: Frame) {
        guard let waiter = waiting.withLock({ $0.removeValue(forKey: frame.id) }) else { return }
        waiter.result = CallResult(decoding: frame.payload) ?? CallResult(code: -1, output: Data())
        waiter.done.signal()
    }
}
