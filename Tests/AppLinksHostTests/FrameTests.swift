import AppLinksPluginIPC
import Foundation
import Testing

@Suite("Runner frames")
struct FrameTests {
    /// A channel whose other end the test writes raw bytes into.
    static func channel(_ bytes: [UInt8]) -> FrameChannel {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0)
        bytes.withUnsafeBytes { _ = write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        return FrameChannel(readFD: fds[0], writeFD: -1)
    }

    @Test("a frame round-trips; one that claims more than the limit, or less than its header, is refused before anything is read")
    func limits() {
        var good = [UInt8](Frame(.call, id: 7, Data("{}".utf8)).encoded())
        #expect(Self.channel(good).receive() == Frame(.call, id: 7, Data("{}".utf8)))
        for length in [UInt32(Frame.maxSize + 1), UInt32.max, 8, 0] {
            // Only the header is written: a reader that trusted the length would wait, or allocate, for the rest.
            let header = withUnsafeBytes(of: length.bigEndian) { Array($0) } + [2] + [UInt8](repeating: 0, count: 8)
            #expect(Self.channel(header).receive() == nil, "length \(length)")
        }
        good[4] = 99  // an unknown kind
        #expect(Self.channel(good).receive() == nil)
    }

    @Test("a host call round-trips with and without the plugin call it was made in; trailing bytes that are not one id are refused")
    func hostCallIDs() {
        let plain = HostCall(.httpRequest, ints: [5], blobs: [Data("req".utf8), nil])
        #expect(HostCall(decoding: plain.encoded()) == plain)
        var traced = plain
        traced.callID = 42
        #expect(traced.encoded().count == plain.encoded().count + 8)
        #expect(HostCall(decoding: traced.encoded()) == traced)
        #expect(HostCall(decoding: plain.encoded() + Data([1, 2, 3])) == nil)
        #expect(HostCall(decoding: traced.encoded() + Data([0])) == nil)
    }
}
