import AppLinksCore
import AppLinksJSON
import Foundation
import Testing

@Suite("Model")
struct ModelTests {
    @Test("a value interpolated into a message reads as text or JSON, never as Swift's debug form")
    func interpolation() {
        let body = JSONValue.string("oauth_problem=consumer_key_unknown&oauth_problem_advice=x")
        #expect("refused: \(body)" == "refused: oauth_problem=consumer_key_unknown&oauth_problem_advice=x")
        let object: JSONValue = ["error": ["message": "no"], "n": 2]
        #expect("\(object)".contains(#""message" : "no""#) && !"\(object)".contains("object("))
        #expect("\(JSONValue.array([.bool(true), .null]))".filter { !$0.isWhitespace } == "[true,null]")
    }

    @Test("the Application column's detail is the product and version, never the remote's own name again")
    func productAndVersion() {
        #expect(ApplicationInfo(type: "applinks", name: "Host B", version: "0.1.0").productAndVersion == "AppLinks 0.1.0")
        #expect(ApplicationInfo(type: "jenkins", name: "Jenkins (127.0.0.1)", version: "2.492.3").productAndVersion == "Jenkins 2.492.3")
        #expect(ApplicationInfo(type: "generic", name: nil).productAndVersion == "Generic application")
    }

    @Test("direction is derived from the authentication configured on this side")
    func direction() {
        #expect(Direction(incomingAuth: ["oauth"], outgoingAuth: ["oauth"]) == .twoWay)
        #expect(Direction(incomingAuth: ["oauth"], outgoingAuth: []) == .incoming)
        #expect(Direction(incomingAuth: [], outgoingAuth: ["oauth"]) == .outgoing)
        #expect(Direction(incomingAuth: [], outgoingAuth: []) == .outgoing)
    }

    @Test("a link's JSON has the CLI's snake_case shape")
    func linkJSON() throws {
        let link = Link(
            id: "11111111-2222-3333-4444-555555555555", type: "jenkins", name: "CI",
            application: ApplicationInfo(type: "generic"), displayURL: "https://ci.example.com",
            rpcURL: "http://ci.internal:8080", incomingAuth: [], outgoingAuth: ["oauth1"],
            status: LinkStatus(
                .networkError, .connectionRefused, message: "refused",
                checkedAt: Date(timeIntervalSince1970: 1_800_000_000)),
            createdAt: Date(timeIntervalSince1970: 1_799_000_000.5), updatedAt: Date(timeIntervalSince1970: 1_799_000_001))
        let obj = try #require(try JSONSerialization.jsonObject(with: JSONCoding.encode(link)) as? [String: Any])
        #expect(obj["id"] as? String == link.id && obj["name"] as? String == "CI" && obj["type"] as? String == "jenkins")
        let app = try #require(obj["application"] as? [String: Any])
        #expect(app["name"] as? String == "Generic application" && app["type"] as? String == "generic" && app.keys.contains("version"))
        #expect(obj["direction"] as? String == "outgoing")
        let status = try #require(obj["status"] as? [String: Any])
        #expect(status["category"] as? String == "NETWORK_ERROR" && status["error_type"] as? String == "CONNECTION_REFUSED")
        #expect(status["message"] as? String == "refused" && (status["checked_at"] as? String)?.hasPrefix("2027-01-15T08:00:00") == true)
        let urls = try #require(obj["urls"] as? [String: String])
        #expect(urls == ["display": "https://ci.example.com", "rpc": "http://ci.internal:8080"])
        #expect(obj["primary"] as? Bool == false && obj["enabled"] as? Bool == true)
        let back = try JSONCoding.decode(Link.self, from: JSONCoding.encode(link))
        #expect(back == link)
    }

    @Test("status pairs outside the vocabulary are rejected")
    func statusVocabulary() throws {
        #expect(throws: AppLinksError.self) { try LinkStatus(.connected, .timeout, message: "").validated() }
        #expect(throws: AppLinksError.self) { try LinkStatus(.accessError, .connectionRefused, message: "").validated() }
        _ = try LinkStatus(.networkError, .oauthTimestampRefused, message: "").validated()
        _ = try LinkStatus(.unknown, .timeout, message: "").validated()
        _ = try LinkStatus(.connected, message: "").validated()
        #expect(StatusCategory.allCases.count == 8)
    }

    static func descriptor(_ edit: (inout LinkTypeDescriptor) -> Void = { _ in }) -> LinkTypeDescriptor {
        var d = LinkTypeDescriptor(
            id: "jenkins", name: "Jenkins", version: "1.0.0", vendor: "AppLinks", directions: [.outgoing],
            wizard: .init(steps: [.init(id: "url", title: "URL")]),
            actions: [.init(id: "trigger-build", title: "Trigger", params: [.init(name: "job", type: .string, required: true)])],
            routes: [.init(method: "GET", path: "/plugins/jenkins/callback", auth: .user)])
        edit(&d)
        return d
    }

    @Test("descriptor validation lists every problem")
    func descriptorValidation() throws {
        try Self.descriptor().validate(expectedID: "jenkins")
        #expect(throws: AppLinksError.self) { try Self.descriptor().validate(expectedID: "other") }
        let bad = Self.descriptor {
            $0.id = "Bad Id"
            $0.directions = []
            $0.wizard.steps = []
            $0.actions.append(.init(id: "trigger-build", title: "again"))
            $0.routes = [.init(method: "get", path: "/admin/steal")]
        }
        do {
            try bad.validate()
            Issue.record("an invalid descriptor must not validate")
        } catch let e as AppLinksError {
            for needle in [
                "id 'Bad Id'", "directions is empty", "wizard.steps is empty", "'trigger-build' is declared twice",
                "method 'get'", "/admin/steal must lie under /plugins/Bad Id/",
            ] {
                #expect(e.message.contains(needle), "missing: \(needle) in \(e.message)")
            }
        }
        // A path outside the type's namespace only under a prefix the host shares.
        let outside = Self.descriptor { $0.routes = [.init(method: "POST", path: "/rest/oauth2/latest/token")] }
        try outside.validate(sharedRoutePrefixes: ["/rest/oauth2/latest/"])
        #expect(throws: AppLinksError.self) { try outside.validate(sharedRoutePrefixes: ["/rest/oauth2-client/latest/"]) }
        #expect(throws: AppLinksError.self) { try outside.validate() }
    }

    @Test("descriptor JSON: defaults, unknown members ignored, wrong types refused")
    func descriptorJSON() throws {
        let json = """
            {"id":"x","name":"X","version":"1","vendor":"V","directions":["two_way"],"wizard":{"steps":[{"id":"a","title":"A"}]},
             "future_member":{"anything":1},"actions":[{"id":"go","title":"Go","params":[{"name":"n","type":"int","default":3}]}]}
            """
        let d = try JSONCoding.decode(LinkTypeDescriptor.self, from: Data(json.utf8))
        #expect(d.directions == [.twoWay] && d.routes.isEmpty && d.statusChecks.isEmpty)
        #expect(d.actions[0].params[0].defaultValue == .number(3) && d.actions[0].params[0].required == false)
        #expect(throws: DecodingError.self) {
            try JSONCoding.decode(LinkTypeDescriptor.self, from: Data(json.replacingOccurrences(of: "\"int\"", with: "\"float128\"").utf8))
        }
    }

    @Test("wizard responses round-trip, and an unknown type is refused")
    func wizardResponses() throws {
        let responses: [WizardResponse] = [
            .fields(
                step: "url", title: "URL", fields: [WizardField(name: "url", label: "URL", type: .url)],
                messages: [WizardMessage(.warning, "w")]),
            .errors(step: "url", errors: [FieldError(field: "url", message: "bad")], messages: []),
            .pending(step: "auth", url: "https://x/authorize", message: "wait", pollAfterMs: 250),
            .done(
                link: LinkSpec(name: "n", application: ApplicationInfo(type: "generic"), displayURL: "https://x"), secrets: ["s": "v"],
                messages: []),
        ]
        for r in responses { #expect(try JSONCoding.decode(WizardResponse.self, from: JSONCoding.encode(r)) == r) }
        #expect(throws: DecodingError.self) { try JSONCoding.decode(WizardResponse.self, from: Data(#"{"type":"maybe"}"#.utf8)) }
    }

    @Test("encoding a long array on every core gives exactly what one encoder gives", arguments: [false, true])
    func parallelArrayEncoding(pretty: Bool) async throws {
        let links = (0..<1500).map { i in
            Link(
                type: "t", name: "Link \(i)", application: ApplicationInfo(type: "generic"), displayURL: "https://\(i).example.com",
                incomingAuth: i % 2 == 0 ? ["oauth"] : [], config: ["i": .number(Double(i)), "s": "x\"y"],
                createdAt: Date(timeIntervalSince1970: 1_800_000_000), updatedAt: Date(timeIntervalSince1970: 1_800_000_000))
        }
        for count in [0, 1, 511, 512, 513, 1500] {
            let slice = Array(links.prefix(count))
            #expect(try await JSONCoding.encodeArray(slice, pretty: pretty) == JSONCoding.encode(slice, pretty: pretty), "count \(count)")
        }
    }

    @Test("timestamps are ISO 8601 in UTC with milliseconds, and read back")
    func timestamps() {
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1_800_000_000.1234)) == "2027-01-15T08:00:00.123Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -1.5)) == "1969-12-31T23:59:58.500Z")
        #expect(abs((Timestamp.parse("2027-01-15T08:00:00.123Z")?.timeIntervalSince1970 ?? 0) - 1_800_000_000.123) < 0.0005)
        #expect(Timestamp.parse("2027-01-15T08:00:00Z")?.timeIntervalSince1970 == 1_800_000_000)
        #expect(Timestamp.parse("yesterday") == nil)
    }

    @Test("JSONValue keeps numbers, booleans and nesting")
    func jsonValue() throws {
        let v: JSONValue = ["a": 1, "b": [true, nil, "s"], "c": ["d": 2.5]]
        let text = String(decoding: try JSONCoding.encode(v), as: UTF8.self)
        #expect(text == #"{"a":1,"b":[true,null,"s"],"c":{"d":2.5}}"#)
        #expect(try JSONCoding.decode(JSONValue.self, from: Data(text.utf8)) == v)
        #expect(
            JSONValue.string("Yes").boolValue == true && JSONValue.string("n").boolValue == false
                && JSONValue.string("off").boolValue == false && JSONValue.string("?").boolValue == nil)
    }
}
