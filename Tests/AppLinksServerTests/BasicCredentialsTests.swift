import AppLinksHTTPInput
import Foundation
import Testing

@Suite("Basic credentials")
struct BasicCredentialsTests {
    @Test("a header splits at the first colon, in any case of the scheme, and its own header reads back the same")
    func readsAndWrites() throws {
        let alice = try #require(BasicCredentials(header: "Basic " + Data("alice:pa:ss word".utf8).base64EncodedString()))
        #expect(alice == BasicCredentials(user: "alice", password: "pa:ss word"))
        #expect(BasicCredentials(header: "bAsIc  \(Data("a:".utf8).base64EncodedString()) ") == BasicCredentials(user: "a", password: ""))
        let odd = BasicCredentials(user: "ünï", password: "\u{0}\n:x")
        #expect(BasicCredentials(header: odd.header) == odd)
    }

    @Test("the first colon splits even when a combining mark follows it and fuses the two into one Character")
    func colonBeforeCombiningMark() throws {
        let header = "Basic " + Data("a:\u{0301}:b".utf8).base64EncodedString()
        let credentials = try #require(BasicCredentials(header: header))
        #expect(credentials.user.unicodeScalars.elementsEqual("a".unicodeScalars))
        #expect(credentials.password.unicodeScalars.elementsEqual("\u{0301}:b".unicodeScalars))
    }

    @Test("another scheme, broken base64, no colon or bytes that are not UTF-8 are refused")
    func refusesMalformed() {
        for header in [
            "Bearer abc", "Basic", "Basic ", "Basic !!!", "Basic " + Data("nocolon".utf8).base64EncodedString(),
            "Basic " + Data([0x61, 0x3A, 0xFF, 0xFE]).base64EncodedString(), "Basicx " + Data("a:b".utf8).base64EncodedString(),
        ] {
            #expect(BasicCredentials(header: header) == nil, "accepted \(header.debugDescription)")
        }
    }
}
