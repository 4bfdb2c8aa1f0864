// OAuth 1.0 query and form decoding, and the signature base string built from them (RFC 5849 §3.4.1). The input is
// a query, a form body and an Authorization header, one per line. Every pair read is counted once, and the pairs
// re-encoded read back the same.
import AppLinksOAuth1
import Foundation
import FuzzDriver

fuzz { data in
    let parts = String(decoding: data, as: UTF8.self).split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
    // What follows `#` is a fragment, never part of a request's query. Cut at the scalar, as the URL reader does: a
    // combining mark after `#` makes one Character of the two, which `prefix { $0 != "#" }` would read past.
    let query = String(String.UnicodeScalarView(parts[0].unicodeScalars.prefix { $0 != "#" })),
        body = parts.count > 1 ? String(parts[1]) : "",
        header = parts.count > 2 ? String(parts[2]) : ""
    let request = OAuth1Request(
        method: "POST", url: "https://h.example/p?" + query,
        headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Authorization", header)], body: Data(body.utf8))
    let fromQuery = OAuth1Encoding.pairs(query), fromBody = OAuth1Encoding.pairs(body)
    let again = fromQuery.map { OAuth1Encoding.encode($0.0) + "=" + OAuth1Encoding.encode($0.1) }.joined(separator: "&")
    let reread = OAuth1Encoding.pairs(again)
    expect(reread.map(\.0) == fromQuery.map(\.0) && reread.map(\.1) == fromQuery.map(\.1), "query pairs changed through \(again)")
    guard let (all, _) = try? request.parameters() else { return }
    let fromHeader = (try? OAuth1AuthorizationHeader.parse(header).parameters.count) ?? 0
    expect(all.count == fromQuery.count + fromBody.count + fromHeader, "\(all.count) parameters from three sources")
    let signed = all.filter { $0.0 != "oauth_signature" }
    if let uri = try? request.baseStringURI() {
        let base = OAuth1Request.baseString(method: "POST", uri: uri, parameters: signed)
        expect(base.hasPrefix("POST&https%3A%2F%2Fh.example%2Fp&"), "base string \(base.prefix(60))")
        expect(base.unicodeScalars.allSatisfy { $0.isASCII }, "the base string is not ASCII")
    }
}
