// `Authorization: Basic` (RFC 7617): credentials that are read have a user without a colon, and their own header
// reads back equal.
import AppLinksHTTPInput
import FuzzDriver

fuzz { data in
    guard let header = text(data), let credentials = BasicCredentials(header: header) else { return }
    // Scalars, not Characters: a combining mark after the colon would hide it from `String.contains`.
    expect(!credentials.user.unicodeScalars.contains(":"), "a user name with a colon")
    expect(BasicCredentials(header: credentials.header) == credentials, "\(credentials) reads back different")
}
