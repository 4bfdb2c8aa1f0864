import AppLinksLogging
import Foundation
import Logging
import Testing

/// The buffered writer the server's log goes through: whole lines, in order, none lost, and a flush that cannot hang.
@Suite("log sink")
struct LogSinkTests {
    /// A pipe whose read end a thread drains into memory until the write end closes.
    final class Pipe: @unchecked Sendable {
        let read: Int32
        let write: Int32
        private let done = DispatchSemaphore(value: 0)
        private var bytes: [UInt8] = []

        init(startReading: Bool = true) throws {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw POSIXError(.EMFILE) }
            (read, write) = (fds[0], fds[1])
            if startReading { startDraining() }
        }

        func startDraining(pauseEvery: Int = 0) {
            Thread.detachNewThread { [self] in
                var chunk = [UInt8](repeating: 0, count: 4096)
                var reads = 0
                while true {
                    let n = Foundation.read(read, &chunk, chunk.count)
                    if n <= 0 { break }
                    bytes.append(contentsOf: chunk[..<n])
                    reads += 1
                    if pauseEvery > 0 && reads % pauseEvery == 0 { usleep(2000) }
                }
                done.signal()
            }
        }

        /// Closes the write end and returns all that was read.
        func finish() -> String {
            close(write)
            done.wait()
            close(read)
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    @Test("lines from many threads arrive whole, each thread's in its order, and none is lost")
    func manyWriters() throws {
        let pipe = try Pipe()
        let sink = LogSink(fd: pipe.write)
        let (threads, each) = (8, 3000)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<each { sink.write("thread \(t) line \(i) \(String(repeating: "x", count: i % 97))\n") }
        }
        #expect(sink.flush())
        let lines = pipe.finish().split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == threads * each)
        var next = [Int](repeating: 0, count: threads)
        for line in lines {
            let parts = line.split(separator: " ")
            guard parts.count >= 4, let t = Int(parts[1]), let i = Int(parts[3]), t < threads else {
                Issue.record("a torn line: \(line.prefix(80))")
                return
            }
            #expect(i == next[t], "thread \(t)'s lines out of order")
            #expect(parts.count == (i % 97 == 0 ? 4 : 5) && (i % 97 == 0 || parts[4].count == i % 97))
            next[t] = i + 1
        }
        #expect(next == [Int](repeating: each, count: threads))
    }

    @Test("a full buffer makes writers wait for a slow reader instead of dropping lines")
    func backPressure() throws {
        let pipe = try Pipe(startReading: false)
        // Far less room than is written, and a reader that pauses: writers must wait for it.
        let sink = LogSink(fd: pipe.write, limit: 1024)
        pipe.startDraining(pauseEvery: 4)
        let line = String(repeating: "y", count: 199) + "\n"
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<2000 { sink.write(line) }
        }
        #expect(sink.flush())
        let text = pipe.finish()
        #expect(text.utf8.count == 4 * 2000 * 200)
        #expect(text.split(separator: "\n").allSatisfy { $0.count == 199 })
    }

    @Test("flush gives up at its timeout when nobody reads, instead of holding the process")
    func flushTimeout() throws {
        let pipe = try Pipe(startReading: false)
        let sink = LogSink(fd: pipe.write)
        // More than a pipe holds (64 KiB on Linux), so the writer thread blocks in write().
        let line = String(repeating: "z", count: 1023) + "\n"
        for _ in 0..<256 { sink.write(line) }
        let start = ContinuousClock.now
        #expect(!sink.flush(timeout: .milliseconds(300)))
        #expect(ContinuousClock.now - start >= .milliseconds(300))
        pipe.startDraining()
        #expect(sink.flush())
        #expect(pipe.finish().utf8.count == 256 * 1024)
    }
}

@Suite("text log handler")
struct TextLogHandlerTests {
    /// What swift-log's own StreamLogHandler writes, to compare with.
    final class Capture: TextOutputStream, @unchecked Sendable {
        var text = ""
        func write(_ string: String) { text += string }
    }

    @Test("writes the line swift-log's StreamLogHandler writes, metadata sorted, error included, timestamp aside")
    func sameAsStreamLogHandler() throws {
        struct Failure: Error, CustomStringConvertible { var description: String { "it broke" } }
        let events: [(String, Logger.Level, Logger.Message, Logger.Metadata?, (any Error)?)] = [
            ("applinks", .info, "GET /healthz 200 0.1ms", ["client": "127.0.0.1", "host": "a.example"], nil),
            ("applinks", .warning, "no link type is loaded", nil, nil),
            ("", .error, "a failure", ["b": "2", "a": .array(["x", "y"]), "c": .dictionary(["k": "v"])], Failure()),
        ]
        for (label, level, message, metadata, error) in events {
            let pipe = try LogSinkTests.Pipe()
            let sink = LogSink(fd: pipe.write)
            var ours = TextLogHandler(label: label, sink: sink)
            ours.metadata = ["request_id": "r1"]
            let capture = Capture()
            var theirs = StreamLogHandler(label: label, stream: capture, metadataProvider: nil)
            theirs.metadata = ["request_id": "r1"]
            let event = LogEvent(
                level: level, message: message, error: error, metadata: metadata, source: "AppLinksServer", file: #fileID,
                function: #function, line: #line)
            ours.log(event: event)
            theirs.log(event: event)
            #expect(sink.flush())
            let written = pipe.finish()
            // The timestamp is the first field; both have the same shape, and the rest must match byte for byte.
            func split(_ s: String) -> (Substring, Substring) {
                let space = s.firstIndex(of: " ")!
                return (s[..<space], s[space...])
            }
            let (ourTime, ourRest) = split(written)
            let (theirTime, theirRest) = split(capture.text)
            #expect(ourRest == theirRest)
            #expect(ourTime.count == theirTime.count && ourTime.prefix(13) == theirTime.prefix(13))
            #expect(written.hasSuffix("\n") && written.filter { $0 == "\n" }.count == 1)
        }
    }
}

@Suite("JSON log handler")
struct JSONLogHandlerTests {
    @Test("one object per line, with the request id lifted out, and the error a line carries, as the text format shows it")
    func errorAndMetadata() throws {
        struct Failure: Error, CustomStringConvertible { var description: String { "it broke" } }
        let pipe = try LogSinkTests.Pipe()
        let sink = LogSink(fd: pipe.write)
        var handler = JSONLogHandler(label: "applinks", sink: sink)
        handler.metadata = ["hb.request.id": "r1", "client": "127.0.0.1"]
        handler.log(
            event: LogEvent(
                level: .error, message: "a failure", error: Failure(), metadata: ["client": "10.0.0.1"], source: "AppLinksServer",
                file: #fileID, function: #function, line: #line))
        #expect(sink.flush())
        let text = pipe.finish()
        #expect(text.hasSuffix("\n") && text.filter { $0 == "\n" }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["message"] as? String == "a failure" && object["level"] as? String == "error")
        #expect(object["request_id"] as? String == "r1" && object["source"] as? String == "AppLinksServer")
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["client"] as? String == "10.0.0.1", "the line's own metadata wins over the logger's")
        #expect(metadata["error.message"] as? String == "it broke")
        #expect((metadata["error.type"] as? String)?.hasSuffix("Failure") == true)
    }
}
