import AppLinksJSON
import Foundation

// `handle_http` crosses the ABI twice per HTTP request, in JSON. Codable spends several microseconds on each of
// the four passes; these write the same bytes as `JSONCoding.encode` directly, and read through
// `JSONValue.parse`.

extension PluginHTTPRequest {
    /// The ABI's JSON for this request: byte for byte what `JSONCoding.encode(self)` writes.
    public func jsonData() -> Data {
        var out: [UInt8] = []
        out.reserveCapacity(256 + bodyBase64.utf8.count + headers.reduce(0) { $0 + $1.reduce(8) { $0 + $1.utf8.count } })
        out.append(UInt8(ascii: "{"))
        JSONWriting.member("base_url", first: true, &out)
        JSONValue.writeString(baseURL, into: &out)
        JSONWriting.member("body_base64", &out)
        JSONValue.writeString(bodyBase64, into: &out)
        JSONWriting.member("headers", &out)
        JSONWriting.stringArrays(headers, &out)
        JSONWriting.member("method", &out)
        JSONValue.writeString(method, into: &out)
        JSONWriting.member("path", &out)
        JSONValue.writeString(path, into: &out)
        JSONWriting.member("query", &out)
        JSONValue.writeString(query, into: &out)
        if let remoteAddress {
            JSONWriting.member("remote_address", &out)
            JSONValue.writeString(remoteAddress, into: &out)
        }
        if let route {
            JSONWriting.member("route", &out)
            JSONValue.writeString(route, into: &out)
        }
        if let user {
            JSONWriting.member("user", &out)
            out.append(UInt8(ascii: "{"))
            JSONWriting.member("admin", first: true, &out)
            out.append(contentsOf: (user.admin ? "true" : "false").utf8)
            JSONWriting.member("name", &out)
            JSONValue.writeString(user.name, into: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "}"))
        return Data(out)
    }

    /// Reads the ABI's JSON, as `JSONCoding.decode(PluginHTTPRequest.self, from:)` does; an error names the
    /// member that is missing or of the wrong type.
    public init(jsonData: Data) throws {
        var method: String?, path: String?, query: String?, headers: [[String]]?, body: String?, baseURL: String?
        var remoteAddress: String?, user: User?, route: String?
        try JSONReading.read(jsonData, "handle_http request") { reader in
            try reader.object { key, r in
                switch key {
                case "method": method = try r.string(for: key)
                case "path": path = try r.string(for: key)
                case "query": query = try r.string(for: key)
                case "headers": headers = try r.stringArrays(for: key)
                case "body_base64": body = try r.string(for: key)
                case "base_url": baseURL = try r.string(for: key)
                case "remote_address": remoteAddress = r.null() ? nil : try r.string(for: key)
                case "route": route = r.null() ? nil : try r.string(for: key)
                case "user":
                    if r.null() { break }
                    var name: String?, admin: Bool?
                    try r.object { key, r in
                        switch key {
                        case "name": name = try r.string(for: key)
                        case "admin": admin = try r.bool(for: key)
                        default: _ = try r.anyValue()
                        }
                    }
                    user = User(name: try JSONReading.required(name, "user.name"), admin: try JSONReading.required(admin, "user.admin"))
                default: _ = try r.anyValue()
                }
            }
        }
        let what = "handle_http request"
        self.init(
            method: try JSONReading.required(method, "method", what), path: try JSONReading.required(path, "path", what),
            query: try JSONReading.required(query, "query", what), headers: try JSONReading.required(headers, "headers", what),
            remoteAddress: remoteAddress, user: user, baseURL: try JSONReading.required(baseURL, "base_url", what), route: route)
        bodyBase64 = try JSONReading.required(body, "body_base64", what)
    }
}

extension PluginHTTPResponse {
    /// The content type of a page a plugin describes in JSON and the host renders in its own frame.
    public static let pageContentType = "application/vnd.applinks.page+json"

    /// The ABI's JSON for this response: byte for byte what `JSONCoding.encode(self)` writes.
    public func jsonData() -> Data {
        var out: [UInt8] = []
        out.reserveCapacity(64 + bodyBase64.utf8.count + headers.reduce(0) { $0 + $1.reduce(8) { $0 + $1.utf8.count } })
        out.append(UInt8(ascii: "{"))
        JSONWriting.member("body_base64", first: true, &out)
        JSONValue.writeString(bodyBase64, into: &out)
        if let checkLinks {
            JSONWriting.member("check_links", &out)
            JSONWriting.strings(checkLinks, &out)
        }
        JSONWriting.member("headers", &out)
        JSONWriting.stringArrays(headers, &out)
        if let resumeDraft {
            JSONWriting.member("resume_draft", &out)
            JSONValue.writeString(resumeDraft, into: &out)
        }
        JSONWriting.member("status", &out)
        out.append(contentsOf: String(status).utf8)
        out.append(UInt8(ascii: "}"))
        return Data(out)
    }

    public init(jsonData: Data) throws {
        var status: Int?, headers: [[String]]?, body: String?, checkLinks: [String]?, resumeDraft: String?
        try JSONReading.read(jsonData, "handle_http answer") { reader in
            try reader.object { key, r in
                switch key {
                case "status": status = try r.int(for: key)
                case "headers": headers = try r.stringArrays(for: key)
                case "body_base64": body = try r.string(for: key)
                case "check_links":
                    guard case .array(let ids) = try r.anyValue(), let strings = Optional(ids.compactMap(\.stringValue)),
                        strings.count == ids.count
                    else { throw AppLinksError(.invalidInput, "The handle_http answer's \"check_links\" must be an array of link ids.") }
                    checkLinks = strings
                case "resume_draft": resumeDraft = try r.string(for: key)
                default: _ = try r.anyValue()
                }
            }
        }
        let what = "handle_http answer"
        self.init(status: try JSONReading.required(status, "status", what), headers: try JSONReading.required(headers, "headers", what))
        bodyBase64 = try JSONReading.required(body, "body_base64", what)
        self.checkLinks = checkLinks
        self.resumeDraft = resumeDraft
    }
}

enum JSONWriting {
    static func member(_ name: StaticString, first: Bool = false, _ out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    static func stringArrays(_ arrays: [[String]], _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, array) in arrays.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            strings(array, &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    static func strings(_ array: [String], _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (j, s) in array.enumerated() {
            if j > 0 { out.append(UInt8(ascii: ",")) }
            JSONValue.writeString(s, into: &out)
        }
        out.append(UInt8(ascii: "]"))
    }
}

/// Reading an ABI message member by member, with errors that name the message and the member.
enum JSONReading {
    static func read(_ data: Data, _ what: String, _ body: (inout JSONByteReader) throws -> Void) throws {
        do {
            try JSONByteReader.read(data, body)
        } catch let e as JSONSyntaxError {
            throw AppLinksError(.invalidInput, "The \(what) is not what the ABI specifies: \(e)", cause: e)
        }
    }

    static func required<T>(_ value: T?, _ member: String, _ what: String = "handle_http request") throws -> T {
        guard let value else { throw AppLinksError(.invalidInput, "The \(what) has no \"\(member)\".") }
        return value
    }
}
