import NIOCore

/// HTML made by appending into the response's buffer: markup written in the code goes in as it is, and every value
/// is escaped, by the same escaper the templates use.
///
/// The pages an admin may open thousands of times an hour (the links table and its live update) and the frame
/// every page shares are written with it; Mustache's dynamic lookups cost more than the rest of such a request.
struct HTMLBuffer {
    private(set) var buffer: ByteBuffer

    init(capacity: Int) { buffer = ByteBufferAllocator().buffer(capacity: capacity) }

    mutating func raw(_ markup: StaticString) { buffer.writeStaticString(markup) }

    /// HTML that is already escaped: a rendered template.
    mutating func markup(_ html: String) { buffer.writeString(html) }

    mutating func text(_ value: String) {
        let done: Void? = value.utf8.withContiguousStorageIfAvailable { bytes in
            FastHTMLEscaping.escape(bytes) { buffer.writeBytes($0) }
        }
        if done == nil {
            var copy = value
            copy.withUTF8 { bytes in FastHTMLEscaping.escape(bytes) { buffer.writeBytes($0) } }
        }
    }

    mutating func text(_ value: Int) { buffer.writeString(String(value)) }

    var string: String { String(buffer: buffer) }
}
