import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

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

/// A flat XML document, such as Atlassian's manifest and consumer info: the root's name and each leaf
/// element's texts, by name, in order.
public struct LeafXML: Sendable {
    public var root: String?
    public var values: [String: [String]] = [:]

    public func first(_ name: String) -> String? { values[name]?.first }

    public static func parse(_ data: Data) -> LeafXML? {
        final class Delegate: NSObject, XMLParserDelegate {
            var result = LeafXML()
            var text = ""
            func parser(
                _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]
            ) {
                if result.root == nil { result.root = name }
                text = ""
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                if name != result.root { result.values[name, default: []].append(text.trimmingCharacters(in: .whitespacesAndNewlines)) }
                text = ""
            }
        }
        let parser = XMLParser(data: data)
        let delegate = Delegate()
        parser.delegate = delegate
        // No DTDs and no external entities: this reads documents from other servers.
        parser.shouldResolveExternalEntities = false
        return parser.parse() ? delegate.result : nil
    }
}

enum XMLText {
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
