// The OAuth 1.0 `Authorization` header (RFC 5849 §3.5.1): a header that parses serialises and parses back to the
// same realm and parameters.
import AppLinksOAuth1
import FuzzDriver

fuzz { data in
    guard let header = text(data), let (realm, parameters) = try? OAuth1AuthorizationHeader.parse(header) else { return }
    // Our serialiser drops line breaks from a realm: no header can carry them.
    if let realm, realm.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) { return }
    let again = OAuth1AuthorizationHeader.serialize(realm: realm, parameters: parameters)
    guard let (realm2, parameters2) = try? OAuth1AuthorizationHeader.parse(again) else {
        return expect(false, "our own header \(again.debugDescription) does not parse")
    }
    expect(realm2 == realm, "realm \(realm.debugDescription) came back as \(realm2.debugDescription)")
    expect(parameters2.map(\.0) == parameters.map(\.0) && parameters2.map(\.1) == parameters.map(\.1), "parameters changed: \(again)")
}
