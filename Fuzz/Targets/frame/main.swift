// The frames between the host and a plugin runner, and the host call and result messages inside them: whatever is
// read encodes back to the very bytes it came from.
import AppLinksPluginIPC
import Foundation
import FuzzDriver

fuzz { data in
    let (frames, consumed) = Frame.decodeAll(data)
    expect(consumed <= data.count, "read past the end")
    let again = frames.reduce(into: Data()) { $0.append($1.encoded()) }
    expect(again == data.prefix(consumed), "\(frames.count) frames encode to other bytes")
    for payload in [data] + frames.map(\.payload) {
        if let call = HostCall(decoding: payload) {
            expect(HostCall(decoding: call.encoded()) == call, "a host call reads back different")
        }
        if let result = CallResult(decoding: payload) {
            let back = CallResult(decoding: result.encoded())
            expect(back?.code == result.code && back?.output == result.output, "a call result reads back different")
        }
        if let call = PluginCall(decoding: payload) {
            let back = PluginCall(decoding: call.encoded())
            expect(back?.function == call.function && back?.request == call.request, "a plugin call reads back different")
        }
    }
}
