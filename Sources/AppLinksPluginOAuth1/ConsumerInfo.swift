import AppLinksCore
import CLibXML2
import Foundation

/// Atlassian's `/plugins/servlet/oauth/consumer-info`: the key and RSA public key an application signs its
/// OAuth 1.0 requests with. The key travels as base64 DER, without PEM armour.
public struct ConsumerInfo: Sendable, Hashable {
    public var key: String
    public var name: String
    public var publicKeyPEM: String
    public var description: String?

    public init(key: String, name: String, publicKeyPEM: String, description: String? = nil) {
        self.key = key
        self.name = name
        self.publicKeyPEM = publicKeyPEM
        self.description = description
    }

    public var xml: String {
        var lines = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<consumer>"]
        lines.append("  <key>\(XMLText.escape(key))</key>")
        lines.append("  <name>\(XMLText.escape(name))</name>")
        lines.append("  <publicKey>\(Self.der(fromPEM: publicKeyPEM))</publicKey>")
        if let description { lines.append("  <description>\(XMLText.escape(description))</description>") }
        lines.append("</consumer>")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads the XML; nil when it is not a consumer document with a key and a public key.
    public init?(xml: Data) {
        guard let doc = LeafXML.parse(xml), doc.root == "consumer", let key = doc.first("key"), !key.isEmpty,
            let der = doc.first("publicKey"), Data(base64Encoded: der.filter { !$0.isWhitespace }) != nil
        else { return nil }
        self.init(key: key, name: doc.first("name") ?? key, publicKeyPEM: Self.pem(fromDER: der), description: doc.first("description"))
    }

    /// The base64 body of a PEM public key, on one line.
    public static func der(fromPEM pem: String) -> String {
        pem.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined().filter { !$0.isWhitespace }
    }

    public static func pem(fromDER base64: String) -> String {
        let body = base64.filter { !$0.isWhitespace }
        var lines = ["-----BEGIN PUBLIC KEY-----"]
        var rest = Substring(body)
        while !rest.isEmpty {
            lines.append(String(rest.prefix(64)))
            rest = rest.dropFirst(64)
        }
        lines.append("-----END PUBLIC KEY-----")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A flat XML document, such as Atlassian's manifest and consumer info: the root's name and each element's own
/// text, trimmed, by name, in document order.
public struct LeafXML: Sendable {
    public var root: String?
    public var values: [String: [String]] = [:]

    public func first(_ name: String) -> String? { values[name]?.first }

    /// Read with libxml2 itself, without network access, entity substitution or a DTD.
    ///
    /// FoundationXML's XMLParser is not used: on Linux its Swift callbacks trap on a tag name that is not UTF-8
    /// (swiftlang/swift-corelibs-foundation#5534) and read a NULL pointer for a processing instruction without data
    /// (`<?x?>`), so a few bytes from a remote server would stop the host. Only UTF-8 is read, and a document with
    /// a DOCTYPE is refused: neither application sends one.
    public static func parse(_ data: Data) -> LeafXML? {
        guard data.count < 1 << 24, let text = String(validating: data, as: UTF8.self), declaresOnlyUTF8(text) else { return nil }
        _ = libxml2Initialised
        let options = Int32(bitPattern: XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        guard let doc = data.withUnsafeBytes({ xmlReadMemory($0.baseAddress, Int32($0.count), nil, "UTF-8", options) }) else {
            return nil
        }
        defer { xmlFreeDoc(doc) }
        guard doc.pointee.intSubset == nil, doc.pointee.extSubset == nil, let rootNode = xmlDocGetRootElement(doc) else { return nil }
        var result = LeafXML(root: String(cString: rootNode.pointee.name))
        func walk(_ node: xmlNodePtr) {
            var child = node.pointee.children
            while let c = child {
                if c.pointee.type == XML_ELEMENT_NODE {
                    walk(c)
                    result.values[String(cString: c.pointee.name), default: []].append(ownText(c))
                }
                child = c.pointee.next
            }
        }
        walk(rootNode)
        return result
    }

    /// The element's text and CDATA children, without its child elements' text.
    private static func ownText(_ node: xmlNodePtr) -> String {
        var text = ""
        var child = node.pointee.children
        while let c = child {
            if c.pointee.type == XML_TEXT_NODE || c.pointee.type == XML_CDATA_SECTION_NODE, let content = c.pointee.content {
                text += String(cString: content)
            }
            child = c.pointee.next
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// libxml2 wants its globals set up once before threads parse.
    private static let libxml2Initialised: Void = xmlInitParser()
}

extension LeafXML {
    /// False when an XML declaration names an encoding other than UTF-8, which libxml2 would decode into names.
    static func declaresOnlyUTF8(_ text: String) -> Bool {
        let head = text.drop { $0 == "\u{FEFF}" || $0.isWhitespace }
        guard head.hasPrefix("<?xml"), let end = head.firstRange(of: "?>") else { return true }
        let declaration = head[..<end.lowerBound].lowercased()
        guard let at = declaration.firstRange(of: "encoding") else { return true }
        let value = declaration[at.upperBound...].drop { $0 == "=" || $0 == " " || $0 == "\"" || $0 == "'" }
        return value.hasPrefix("utf-8") || value.hasPrefix("utf8")
    }
}

enum XMLText {
    static func escape(_ s: String) -> String {
        TextEscaping.xml(s)
    }
}
