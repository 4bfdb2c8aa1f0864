import Foundation

/// Where `?next=` may send a browser after login: a path on this host, never another site.
///
/// Browsers strip tabs and newlines from a `Location`, read `\` as `/`, and some decode `%2F` or fold full-width
/// dots, so `/%09/evil.example` or `/%5Cevil.example` would leave the site. Only a path made of printable
/// ASCII, starting with one `/` and never `//` or `/\`, is accepted, both as given and fully percent-decoded.
///
/// ```swift
/// SafeRedirect.path("/admin/applinks?x=1")  // "/admin/applinks?x=1"
/// SafeRedirect.path("/%09/evil.example")    // "/"
/// ```
public enum SafeRedirect {
    /// `next` if it is a safe same-origin path, otherwise `/`.
    public static func path(_ next: String?) -> String {
        guard let next, isSafe(next) else { return "/" }
        // Decoded until nothing changes: a double-encoded `%252F` must not become `/` in a second decoder.
        var decoded = next
        for _ in 0..<4 {
            guard let once = decoded.removingPercentEncoding else { return "/" }
            guard isSafe(once) else { return "/" }
            if once == decoded {
                guard let url = URL(string: next), url.scheme == nil, url.host == nil else { return "/" }
                return next
            }
            decoded = once
        }
        return "/"
    }

    private static func isSafe(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        guard bytes.first == UInt8(ascii: "/") else { return false }
        if bytes.count > 1, bytes[1] == UInt8(ascii: "/") || bytes[1] == UInt8(ascii: "\\") { return false }
        // Printable ASCII only, and no backslash anywhere: a browser reads it as a slash.
        return bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }
    }
}
