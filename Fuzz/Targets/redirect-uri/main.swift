// OAuth 2.0 redirect URIs (RFC 6749 §3.1.2, RFC 8252 §7.3). The input is a registered URI and a requested one, on
// two lines. A registrable URI is absolute https (or http on a loopback address) without a fragment or user info,
// and matches itself; a requested URI that matches a registrable one, but is not equal to it, differs only in a
// loopback port.
import AppLinksOAuth2
import Foundation
import FuzzDriver

fuzz { data in
    guard let input = text(data) else { return }
    let lines = input.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    let registered = String(lines[0]), requested = lines.count > 1 ? String(lines[1]) : registered
    guard RedirectURI.registrationProblem(registered) == nil else { return }
    expect(RedirectURI.matches(registered: registered, requested: registered), "a registered URI does not match itself")
    let url = URLComponents(string: registered)
    let scheme = url?.scheme?.lowercased()
    expect(url?.fragment == nil && url?.user == nil && url?.password == nil, "a fragment or user info in \(registered)")
    expect(scheme == "https" || (scheme == "http" && ["127.0.0.1", "[::1]", "::1"].contains(url?.host ?? "")), "\(registered) accepted")
    guard RedirectURI.matches(registered: registered, requested: requested), requested != registered else { return }
    func withoutPort(_ s: String) -> String {
        s.replacing(/^(http:\/\/(?:127\.0\.0\.1|\[::1\])):\d{1,5}/, with: { $0.1 })
    }
    expect(withoutPort(requested) == withoutPort(registered), "\(requested) matched \(registered)")
    expect(requested.hasPrefix("http://127.0.0.1") || requested.hasPrefix("http://[::1]"), "\(requested) matched \(registered)")
}
