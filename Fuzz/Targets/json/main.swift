// JSONValue.parse, the reader every plugin message goes through: a document that parses is written back, pretty
// and compact, and each reads back equal.
import AppLinksJSON
import Foundation
import FuzzDriver

fuzz { data in
    guard let value = try? JSONValue.parse(data) else {
        // The host's reader refuses only what Foundation's strict reader refuses too, or what nests too deep.
        return
    }
    var pretty: [UInt8] = []
    value.writePretty(into: &pretty)
    guard let fromPretty = try? JSONValue.parse(Data(pretty)) else { return expect(false, "the pretty form does not parse") }
    expect(fromPretty == value, "the pretty form reads back different")
    guard let compact = try? JSONCoding.encode(value) else { return expect(false, "the value does not encode") }
    guard let fromCompact = try? JSONValue.parse(compact) else { return expect(false, "the compact form does not parse") }
    expect(fromCompact == value, "the compact form reads back different")
}
