import AppLinksLocking
import Foundation

/// One message between the host and a plugin runner process (``PluginRunner``), over a pipe.
///
/// On the wire: a 4-byte big-endian length of what follows, the kind (1 byte), the message id (8 bytes, big
/// endian) and the payload. Plugin calls carry the very JSON documents of the C ABI as their payload; the
/// framing only adds what a pipe needs: boundaries, and ids that pair concurrent calls with their answers.
public struct Frame: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        /// Runner to host, once, first: the plugin's descriptor as ``RunnerHello`` JSON.
        case hello = 1
        /// Host to runner: a plugin function (``PluginCall``).
        case call = 2
        /// Runner to host: a call's result (``CallResult``).
        case result = 3
        /// Runner to host: a host API function the plugin called (``HostCall``). Id 0 expects no answer.
        case hostCall = 4
        /// Host to runner: a host API function's result (``CallResult``).
        case hostResult = 5
        /// Host to runner: call the plugin's `shutdown`, then exit.
        case shutdown = 6
    }

    public var kind: Kind
    public var id: UInt64
    public var payload: Data

    public init(_ kind: Kind, id: UInt64, _ payload: Data = Data()) {
        self.kind = kind
        self.id = id
        self.payload = payload
    }

    /// Frames larger than this are refused: no JSON the ABI carries comes near it.
    public static let maxSize = 64 << 20

    /// The length a frame's 4-byte header announces; nil when no frame may be that long or that short.
    public static func bodyLength(_ header: Data) -> Int? {
        guard header.count == 4 else { return nil }
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        return length >= 9 && length <= maxSize ? length : nil
    }

    /// A frame from what follows its length: the kind, the id and the payload. Nil for an unknown kind or a
    /// body too short for its header.
    public init?(body: Data) {
        var r = WireReader(body)
        guard let kindByte = r.u8(), let kind = Kind(rawValue: kindByte), let id = r.u64() else { return nil }
        self.init(kind, id: id, Data(body.dropFirst(9)))
    }

    /// The whole frames at the start of a byte stream, read as ``FrameChannel/receive()`` reads them, and how
    /// many bytes they took; reading stops at the first malformed or incomplete frame.
    public static func decodeAll(_ stream: Data) -> (frames: [Frame], consumed: Int) {
        var frames: [Frame] = []
        var offset = stream.startIndex
        while stream.endIndex - offset >= 4, let length = bodyLength(stream[offset..<(offset + 4)]),
            stream.endIndex - offset - 4 >= length, let frame = Frame(body: stream[(offset + 4)..<(offset + 4 + length)])
        {
            frames.append(frame)
            offset += 4 + length
        }
        return (frames, offset - stream.startIndex)
    }

    public func encoded() -> Data {
        var w = WireWriter()
        w.u32(UInt32(9 + payload.count))
        w.u8(kind.rawValue)
        w.u64(id)
        w.bytes.append(payload)
        return w.bytes
    }
}

/// Reads and writes frames on a pair of file descriptors. Writes from several threads are serialised; reads
/// belong to one thread.
public final class FrameChannel: Sendable {
    public let readFD: Int32
    public let writeFD: Int32
    /// The write end, one frame at a time.
    private let writing: Locked<Int32>

    public init(readFD: Int32, writeFD: Int32) {
        self.readFD = readFD
        self.writeFD = writeFD
        writing = Locked(writeFD)
    }

    /// Sends one frame whole; false once the other side is gone.
    @discardableResult
    public func send(_ frame: Frame) -> Bool {
        let data = frame.encoded()
        return writing.withLock { fd in
            data.withUnsafeBytes { buffer -> Bool in
                var offset = 0
                while offset < buffer.count {
                    let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return false }
                    offset += n
                }
                return true
            }
        }
    }

    /// The next frame; nil at the end of the stream or on a malformed one (the peer is then not to be trusted).
    public func receive() -> Frame? {
        guard let header = readExactly(4), let length = Frame.bodyLength(header), let body = readExactly(length) else { return nil }
        return Frame(body: body)
    }

    private func readExactly(_ count: Int) -> Data? {
        var data = Data(count: count)
        let ok = data.withUnsafeMutableBytes { buffer -> Bool in
            var offset = 0
            while offset < count {
                let n = read(readFD, buffer.baseAddress! + offset, count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        return ok ? data : nil
    }
}

/// Big-endian integers and length-prefixed byte strings.
public struct WireWriter: Sendable {
    public var bytes = Data()
    public init() {}
    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    public mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    /// A byte string, or nil (a NULL pointer on the C side), which is not the same as empty.
    public mutating func blob(_ v: Data?) {
        guard let v else { return u32(.max) }
        u32(UInt32(v.count))
        bytes.append(v)
    }
}

public struct WireReader: Sendable {
    private let data: Data
    private var offset: Int

    public init(_ data: Data) {
        self.data = data
        offset = data.startIndex
    }

    public var remaining: Data { data.suffix(from: offset) }

    private mutating func take(_ n: Int) -> Data? {
        guard n >= 0, data.endIndex - offset >= n else { return nil }
        defer { offset += n }
        return data[offset..<offset + n]
    }

    public mutating func u8() -> UInt8? { take(1)?.first }
    public mutating func u32() -> UInt32? { take(4).map { $0.reduce(0) { $0 << 8 | UInt32($1) } } }
    public mutating func u64() -> UInt64? { take(8).map { $0.reduce(0) { $0 << 8 | UInt64($1) } } }
    public mutating func i32() -> Int32? { u32().map { Int32(bitPattern: $0) } }
    public mutating func i64() -> Int64? { u64().map { Int64(bitPattern: $0) } }
    /// `.some(nil)` is a NULL; nil means the bytes ran out.
    public mutating func blob() -> Data?? {
        guard let n = u32() else { return nil }
        if n == .max { return .some(nil) }
        guard let d = take(Int(n)) else { return nil }
        return .some(Data(d))
    }
}
