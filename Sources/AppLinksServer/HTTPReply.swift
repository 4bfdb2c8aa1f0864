import AppLinksCore
import AppLinksJSON
import Foundation
import HTTPTypes
import Hummingbird

/// Small constructors for the responses the server sends.
enum HTTPReply {
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONCoding.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func text(_ text: String, status: HTTPResponse.Status = .ok, type: String = "text/plain; charset=utf-8") -> Response {
        Response(status: status, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// An error in the body shape the CLI uses: `{"error": {"code", "message"}}`.
    static func error(_ status: HTTPResponse.Status, code: String, _ message: String, headers: HTTPFields = [:]) -> Response {
        struct Body: Encodable { var error: PluginErrorBody }
        var r = json(Body(error: PluginErrorBody(code: code, message: message)), status: status)
        for field in headers { r.headers.append(field) }
        return r
    }

    /// A plugin's answer as a response: its status (clamped to a valid code) and the headers whose names are valid.
    static func plugin(_ answer: PluginHTTPResponse) -> Response {
        var headers = HTTPFields()
        for h in answer.headers where h.count == 2 {
            if let name = HTTPField.Name(h[0]) { headers.append(HTTPField(name: name, value: h[1])) }
        }
        return Response(
            status: .init(code: min(599, max(100, answer.status))), headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}
