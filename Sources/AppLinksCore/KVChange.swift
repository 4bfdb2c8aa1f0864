import AppLinksJSON
import Foundation

/// One step of an atomic batch of key-value changes (`kv_batch`, ABI 1.3).
///
/// A batch lets a plugin make several changes that must hold together, such as a refresh token's rotation (spend
/// the old token, update its grant, write the new tokens), in one transaction: one commit instead of one per
/// change, and no state in between for a crash or a concurrent request to see.
public enum KVChange: Sendable, Equatable {
    /// Requires the key's live value to be `value` (nil: absent or expired). Writes nothing.
    case require(key: String, value: Data?)
    /// Writes a value; a nil `ttl` means no expiry.
    case put(key: String, value: Data, ttl: Duration?)
    case delete(key: String)

    public var key: String {
        switch self {
        case .require(let key, _), .put(let key, _, _), .delete(let key): key
        }
    }

    /// The most changes one batch may carry: a batch is one transaction, and the host holds the write lock for it.
    public static let maxBatch = 256
}

extension KVChange {
    /// The batch's ABI JSON: `{"changes": [{"op": "require" | "put" | "delete", "key": "...",
    /// "value_base64": "..." (put; require, absent for "must be absent"), "ttl_seconds": N (put, optional)}]}`.
    public static func jsonData(_ changes: [KVChange]) -> Data {
        var out: [UInt8] = []
        out.reserveCapacity(32 + changes.reduce(0) { $0 + 48 + $1.key.utf8.count + $1.encodedValueSize })
        out.append(contentsOf: #"{"changes":["#.utf8)
        for (i, change) in changes.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"op":""#.utf8)
            switch change {
            case .require: out.append(contentsOf: "require".utf8)
            case .put: out.append(contentsOf: "put".utf8)
            case .delete: out.append(contentsOf: "delete".utf8)
            }
            out.append(contentsOf: #"","key":"#.utf8)
            JSONValue.writeString(change.key, into: &out)
            switch change {
            case .require(_, let value?), .put(_, let value, _):
                out.append(contentsOf: #","value_base64":""#.utf8)
                out.append(contentsOf: value.base64EncodedData())
                out.append(UInt8(ascii: "\""))
            default: break
            }
            if case .put(_, _, let ttl?) = change {
                out.append(contentsOf: #","ttl_seconds":"#.utf8)
                out.append(contentsOf: String(ttl.wholeSecondsRoundedUp).utf8)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: "]}".utf8)
        return Data(out)
    }

    private var encodedValueSize: Int {
        switch self {
        case .require(_, let value?), .put(_, let value, _): (value.count + 2) / 3 * 4
        default: 0
        }
    }

    /// Reads a batch's ABI JSON; an error names the change and the member that is wrong.
    public static func changes(jsonData: Data) throws -> [KVChange] {
        var changes: [KVChange] = []
        do {
            try JSONByteReader.read(jsonData) { reader in
                try reader.object { member, r in
                    guard member == "changes" else {
                        _ = try r.anyValue()
                        return
                    }
                    try r.array { r in
                        guard changes.count < maxBatch else {
                            throw AppLinksError(.invalidInput, "A kv_batch may carry at most \(maxBatch) changes; split it.")
                        }
                        changes.append(try change(&r, index: changes.count))
                    }
                }
            }
        } catch let e as AppLinksError {
            throw e
        } catch {
            throw AppLinksError(.invalidInput, "The kv_batch request is not valid JSON: \(error)", cause: error)
        }
        return changes
    }

    private static func change(_ r: inout JSONByteReader, index: Int) throws -> KVChange {
        var op: String?, key: String?, value: String?, ttl: Int?
        try r.object { member, r in
            switch member {
            case "op": op = try r.string(for: member)
            case "key": key = try r.string(for: member)
            case "value_base64": value = r.null() ? nil : try r.string(for: member)
            case "ttl_seconds": ttl = r.null() ? nil : try r.int(for: member)
            default: _ = try r.anyValue()
            }
        }
        func fail(_ problem: String) -> AppLinksError { AppLinksError(.invalidInput, "kv_batch change \(index): \(problem)") }
        guard let key else { throw fail(#"the "key" member is missing."#) }
        let bytes = try value.map { text -> Data in
            guard let d = Data(base64Encoded: text) else { throw fail(#""value_base64" is not base64."#) }
            return d
        }
        switch op {
        case "require": return .require(key: key, value: bytes)
        case "put":
            guard let bytes else { throw fail(#"a "put" needs "value_base64"."#) }
            return .put(key: key, value: bytes, ttl: ttl.flatMap { $0 > 0 ? .seconds($0) : nil })
        case "delete": return .delete(key: key)
        case let other?: throw fail(#"unknown "op" \#(other); use require, put or delete."#)
        case nil: throw fail(#"the "op" member is missing."#)
        }
    }
}

extension Duration {
    /// A time to live as the host API takes it, in whole seconds where 0 means none: rounded up, at least 1, so
    /// that a short time to live still expires.
    public var wholeSecondsRoundedUp: Int64 {
        let c = components
        return max(1, c.seconds + (c.attoseconds > 0 ? 1 : 0))
    }
}
