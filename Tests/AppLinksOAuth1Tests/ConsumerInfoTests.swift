import AppLinksCrypto
import AppLinksPluginOAuth1
import Foundation
import Testing

@Suite("Atlassian consumer info")
struct ConsumerInfoTests {
    @Test("the XML carries the key as base64 DER and reads back to a key that verifies the owner's signatures")
    func roundTrip() throws {
        let key = try RSAKey.generate(bits: 2048)
        let pem = try key.publicKeyPEM()
        let info = ConsumerInfo(key: "a1b2-c3", name: "Jira & <Friends>", publicKeyPEM: pem, description: "Linked \"Jira\"")
        let xml = info.xml
        #expect(xml.contains("<consumer>") && !xml.contains("BEGIN PUBLIC KEY") && xml.contains("Jira &amp; &lt;Friends&gt;"))
        let read = try #require(ConsumerInfo(xml: Data(xml.utf8)))
        #expect(read.key == "a1b2-c3" && read.name == "Jira & <Friends>" && read.description == "Linked \"Jira\"")
        let signature = try key.sign(.sha1, Data("base string".utf8))
        #expect(try RSAKey(publicKeyPEM: read.publicKeyPEM).verify(.sha1, Data("base string".utf8), signature: signature))
        #expect(ConsumerInfo.der(fromPEM: read.publicKeyPEM) == ConsumerInfo.der(fromPEM: pem))
    }

    @Test("a name with a bracket or ampersand before a combining mark still makes XML that reads back to the same name")
    func combiningMarks() throws {
        let pem = try RSAKey.generate(bits: 2048).publicKeyPEM()
        let name = "a<\u{301}/name><b>&\u{301}x"
        let xml = ConsumerInfo(key: "k", name: name, publicKeyPEM: pem).xml
        #expect(!xml.contains("</name><b>"), "\(xml)")
        let read = try #require(ConsumerInfo(xml: Data(xml.utf8)), "\(xml)")
        #expect(read.name == name)
    }

    @Test("Atlassian's shape, with the key wrapped over lines and no description, is read")
    func atlassianShape() throws {
        let der = ConsumerInfo.der(fromPEM: try RSAKey.generate(bits: 2048).publicKeyPEM())
        let wrapped = stride(from: 0, to: der.count, by: 76).map { i in
            String(der.dropFirst(i).prefix(76))
        }.joined(separator: "\n")
        let xml = "<consumer><key>jira:123456</key><name>Jira</name><publicKey>\n\(wrapped)\n</publicKey></consumer>"
        let info = try #require(ConsumerInfo(xml: Data(xml.utf8)))
        #expect(info.key == "jira:123456" && info.name == "Jira" && info.description == nil)
        _ = try RSAKey(publicKeyPEM: info.publicKeyPEM)
    }

    @Test("documents that are not consumer info are refused, and external entities are never fetched")
    func refusals() {
        for bad in [
            "<manifest><key>k</key><publicKey>AAAA</publicKey></manifest>",
            "<consumer><name>n</name><publicKey>AAAA</publicKey></consumer>",
            "<consumer><key>k</key><publicKey>not base64!</publicKey></consumer>", "<consumer><key>k</key>", "not xml",
        ] {
            #expect(ConsumerInfo(xml: Data(bad.utf8)) == nil, "\(bad)")
        }
        let entity = """
            <?xml version="1.0"?><!DOCTYPE consumer [<!ENTITY x SYSTEM "file:///etc/passwd">]>
            <consumer><key>&x;</key><publicKey>AAAA</publicKey></consumer>
            """
        #expect(ConsumerInfo(xml: Data(entity.utf8))?.key.contains("root:") != true)
    }

    /// Found by the consumer-info and manifest fuzz targets: FoundationXML's XMLParser on Linux traps on a name that
    /// is not UTF-8 and reads NULL for a processing instruction without data, which would let a remote application's
    /// answer kill the host. With XMLParser this test crashes its process.
    @Test("hostile documents (a name that is not UTF-8, an empty processing instruction, another encoding) are refused")
    func notUTF8() {
        let documents: [[UInt8]] = [
            [0x3C, 0xFF, 0xFF, 0x56, 0xFF, 0x0A], [0x3C, 0x61, 0xFF, 0x3E],
            Array("<consumer><key>k</key><publicKey r".utf8) + [0xFF] + Array("=\"1\">AAAA</publicKey></consumer>".utf8),
            Array("<?xNNNNNN?>".utf8),
            Array("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><consumer><key>k\u{E9}</key><publicKey>AAAA</publicKey></consumer>".utf8),
        ]
        for bytes in documents {
            #expect(ConsumerInfo(xml: Data(bytes)) == nil)
            #expect(RemoteManifest(Data(bytes)) == nil)
        }
        let declared = #"<?xml version="1.0" encoding="utf-8"?><consumer><key>k</key><publicKey>AAAA</publicKey></consumer>"#
        #expect(ConsumerInfo(xml: Data(declared.utf8))?.key == "k")
        let instruction = "<consumer><?pi?><key>k</key><publicKey>AAAA</publicKey></consumer>"
        #expect(ConsumerInfo(xml: Data(instruction.utf8))?.key == "k")
        #expect(RemoteManifest(Data("<manifest><id>\u{E9}</id></manifest>".utf8))?.id == "\u{E9}")
    }
}
