import COpenSSL

/// A failure inside OpenSSL, with OpenSSL's own reason attached.
public struct CryptoError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var reason: String

    init(_ operation: String) {
        self.operation = operation
        let code = ERR_get_error()
        if code == 0 {
            reason = "no OpenSSL reason given"
        } else {
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buf, buf.count)
            reason = String(decoding: buf.prefix(while: { $0 != 0 }).map(UInt8.init(bitPattern:)), as: UTF8.self)
        }
        ERR_clear_error()
    }

    init(_ operation: String, reason: String) {
        self.operation = operation
        self.reason = reason
    }

    public var description: String { "\(operation) failed: \(reason)" }
}
