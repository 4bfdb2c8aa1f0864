import Foundation

/// Where log lines go: a file descriptor (standard error by default), written by a thread of its own.
///
/// A request that logs only copies its line into a buffer. It never waits on the terminal, the journal or a slow pipe.
/// After each write, the writer thread gathers the lines of a short window (10 ms) and writes them in one go, so under
/// load a burst of lines costs one wake-up and one `write` instead of one each. After a quiet window it sleeps, and
/// the next line wakes it and is written at once.
///
/// - Lines stay whole and in the order they were handed in.
/// - Nothing is dropped. When the buffer holds `limit` bytes that are not yet written, a caller waits for the writer,
///   as it would have waited on a synchronous write.
/// - ``flush(timeout:)`` returns once everything handed in before it is written. `applinks serve` calls it when it
///   stops, and ``standardError`` also flushes at process exit.
///
/// ```swift
/// LogSink.standardError.write("one whole line\n")
/// LogSink.standardError.flush()
/// ```
public final class LogSink: @unchecked Sendable {
    // All mutable state is guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [UInt8] = []
    /// The writer thread is writing a batch it took.
    private var writing = false
    /// The writer thread waits with no timeout, for the first line after a quiet spell: that line must wake it.
    private var idle = false
    private var started = false
    private let fd: Int32
    private let limit: Int
    private let window: TimeInterval

    /// Standard error, for every handler in the process, so that their lines interleave whole.
    public static let standardError: LogSink = {
        let sink = LogSink(fd: STDERR_FILENO)
        atexit { LogSink.standardError.flush(timeout: .seconds(5)) }
        return sink
    }()

    /// - Parameters:
    ///   - fd: the descriptor to write to; the sink never closes it.
    ///   - limit: the bytes it buffers before a caller waits.
    ///   - window: how long the writer gathers lines after each write before it writes them. Under load that makes
    ///     one wake-up and one `write` per window instead of one per line; the cost is that a line shows up to this
    ///     late. A flush, or a full buffer, ends the window early.
    public init(fd: Int32, limit: Int = 4 << 20, window: Duration = .milliseconds(10)) {
        self.fd = fd
        self.limit = limit
        self.window = Double(window.components.seconds) + Double(window.components.attoseconds) / 1e18
    }

    /// Queues one or more whole lines, each ending in a newline.
    public func write(_ text: String) {
        var text = text
        text.withUTF8 { write($0) }
    }

    /// Queues bytes that end at a line boundary.
    public func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        condition.lock()
        while pending.count >= limit {
            // Ends the writer's batching window early.
            condition.broadcast()
            condition.wait()
        }
        pending.append(contentsOf: bytes)
        if !started {
            started = true
            let thread = Thread { [self] in drain() }
            thread.name = "applinks.log"
            thread.stackSize = 256 << 10
            thread.start()
        } else if idle {
            idle = false
            condition.broadcast()
        }
        condition.unlock()
    }

    /// Waits until every byte handed in before the call is written, or until `timeout` passes (a reader that
    /// stopped reading must not hold the process forever). Returns whether everything was written.
    @discardableResult
    public func flush(timeout: Duration = .seconds(30)) -> Bool {
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while !pending.isEmpty || writing {
            // Ends the writer's batching window early.
            condition.broadcast()
            if !condition.wait(until: deadline) { return pending.isEmpty && !writing }
        }
        return true
    }

    private func drain() {
        var batch: [UInt8] = []
        condition.lock()
        while true {
            if pending.isEmpty {
                writing = false
                condition.broadcast()
                // Lines that come soon after a write wait for the end of the window and go out together, with no
                // wake-up of their own; after a quiet window the thread sleeps until a line wakes it.
                _ = condition.wait(until: Date().addingTimeInterval(window))
                if pending.isEmpty {
                    idle = true
                    while idle && pending.isEmpty { condition.wait() }
                    idle = false
                }
            }
            swap(&batch, &pending)
            writing = true
            // Callers waiting for room may go on now.
            condition.broadcast()
            condition.unlock()
            batch.withUnsafeBytes { Self.writeAll($0, to: fd) }
            batch.removeAll(keepingCapacity: batch.capacity <= limit)
            condition.lock()
        }
    }

    /// Writes until done or the descriptor fails: a log that cannot be written is dropped, never retried in a loop.
    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32) {
        guard var next = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Foundation.write(fd, next, left)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            next += n
            left -= n
        }
    }
}
