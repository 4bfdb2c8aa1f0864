/// Escaping for the text formats the host writes: XML, quoted strings, SQL `LIKE` patterns.
///
/// Every function here works on Unicode scalars, never on `Character`s. A special character followed by a combining
/// mark is one `Character` (`"` and U+0301 make `"́`), so a `Character` search such as `replacingOccurrences(of:)`
/// misses it, while the reader at the other end, which works on bytes, still sees the special character.
public enum TextEscaping {
    /// XML text and attribute values: `&`, `<`, `>` and `"` as entities.
    public static func xml(_ s: String) -> String {
        replacing(s) {
            switch $0 {
            case "&": "&amp;"
            case "<": "&lt;"
            case ">": "&gt;"
            case "\"": "&quot;"
            default: nil
            }
        }
    }

    /// A backslash before each of `special` and before every backslash, as in an RFC 9110 quoted-string, a
    /// Prometheus label value or a `LIKE` pattern with `ESCAPE '\'`.
    public static func backslashed(_ s: String, _ special: Set<Unicode.Scalar>) -> String {
        replacing(s) { $0 == "\\" || special.contains($0) ? "\\" + String($0) : nil }
    }

    /// `s` with each scalar for which `replacement` gives text replaced by that text; `s` itself when none is.
    public static func replacing(_ s: String, _ replacement: (Unicode.Scalar) -> String?) -> String {
        guard s.unicodeScalars.contains(where: { replacement($0) != nil }) else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 16)
        for scalar in s.unicodeScalars {
            if let text = replacement(scalar) { out += text } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }
}
