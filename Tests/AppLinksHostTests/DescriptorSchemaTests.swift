import AppLinksCore
import AppLinksHost
import AppLinksJSON
import AppLinksPluginRuntime
import Foundation
import TestSupport
import Testing

/// The schema vendors read (sdk/schema/descriptor.schema.json) and the host's own validation must agree.
/// A third-party validator (Python's jsonschema) judges the schema side.
@Suite("Descriptor schema")
struct DescriptorSchemaTests {
    static func variants(of base: [String: Any]) -> [(String, [String: Any])] {
        func edit(_ f: (inout [String: Any]) -> Void) -> [String: Any] { var d = base; f(&d); return d }
        return [
            ("valid", base),
            ("bad id", edit { $0["id"] = "Fixture!" }),
            ("no directions", edit { $0["directions"] = [String]() }),
            ("unknown direction", edit { $0["directions"] = ["sideways"] }),
            ("no wizard steps", edit { $0["wizard"] = ["steps": [Any]()] }),
            ("missing vendor", edit { $0["vendor"] = nil }),
            ("bad parameter type", edit { $0["actions"] = [["id": "a", "title": "A", "params": [["name": "n", "type": "float128"]]]] }),
            ("route outside the plugin", edit { $0["routes"] = [["method": "GET", "path": "/admin"]] }),
            ("lower-case method", edit { $0["routes"] = [["method": "get", "path": "/plugins/fixture/x"]] }),
            ("well-known route", edit { $0["routes"] = [["method": "POST", "path": "/rest/oauth2/latest/token", "auth": "none"]] }),
            ("unknown member", edit { $0["future"] = ["x": 1] }),
            (
                "typo in an action's key",
                edit { $0["actions"] = [["id": "a", "title": "A", "c_fuction": ["symbol": "f", "args": [String]()]]] }
            ),
            ("authentication without incoming", edit { $0["authentication"] = ["outgoing": ["oauth"]] }),
            (
                "unknown C argument type",
                edit { $0["actions"] = [["id": "a", "title": "A", "c_function": ["symbol": "f", "args": ["long"]]]] }
            ),
            ("step fields", edit { $0["wizard"] = ["steps": [["id": "s", "title": "S", "fields": ["url"]]]] }),
            ("unknown error type", edit { $0["status_checks"] = [["id": "c", "title": "C", "error_types": ["NOPE"]]] }),
        ]
    }

    @Test("jsonschema and the host accept and refuse the same descriptors")
    func agree() async throws {
        let t = try await TestDeployment.make()
        let fixture = try t.deployment.plugin(forType: "fixture").descriptor
        let base = try #require(try JSONSerialization.jsonObject(with: JSONCoding.encode(fixture)) as? [String: Any])
        let cases = Self.variants(of: base)
        let dir = TemporaryDirectory("schema")
        var hostVerdicts: [String] = []
        var texts = try cases.map { try JSONSerialization.data(withJSONObject: $0.1) }
        // Not JSON by RFC 8259, though lenient parsers take it: a trailing comma.
        var trailing = String(decoding: texts[0], as: UTF8.self)
        trailing.insert(",", at: trailing.index(before: trailing.endIndex))
        texts.append(Data(trailing.utf8))
        for (i, data) in texts.enumerated() {
            try data.write(to: dir.path("\(i).json"))
            let ok =
                (try? LinkTypeDescriptor.parse(data, expectedID: "fixture", sharedRoutePrefixes: PluginLoader.sharedRoutePrefixes)) != nil
            hostVerdicts.append(ok ? "valid" : "invalid")
        }
        let script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            v = jsonschema.Draft202012Validator(schema)
            for path in sys.argv[2:]:
                try:
                    doc = json.load(open(path))
                except ValueError:
                    print("invalid")  # not JSON at all
                    continue
                print("valid" if v.is_valid(doc) else "invalid")
            """
        let schema = BuildProducts.repositoryRoot.appendingPathComponent("sdk/schema/descriptor.schema.json").path
        let r = try runCommand(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["python3", "-c", script, schema] + texts.indices.map { dir.path("\($0).json").path })
        #expect(r.status == 0, "python jsonschema failed: \(r.stderr)")
        let pythonVerdicts = r.stdout.split(separator: "\n").map(String.init)
        #expect(pythonVerdicts == hostVerdicts, "cases: \(cases.map(\.0)) + trailing comma")
        #expect(
            hostVerdicts == [
                "valid", "invalid", "invalid", "invalid", "invalid", "invalid", "invalid", "invalid", "invalid", "valid", "invalid",
                "invalid", "invalid", "invalid", "valid", "invalid", "invalid",
            ])
    }

    @Test("the host's refusal names the unknown member, the allowed values, the missing member, and where the JSON broke")
    func messages() throws {
        func problem(_ text: String) -> String {
            do {
                _ = try LinkTypeDescriptor.parse(Data(text.utf8))
                return ""
            } catch {
                return "\(error)"
            }
        }
        let base = #"{"id":"x","name":"X","version":"1","vendor":"V","directions":["outgoing"],"wizard":{"steps":[{"id":"s","title":"S"}]}"#
        let typo = problem(base + #","actions":[{"id":"a","title":"A","c_fuction":{}}]}"#)
        #expect(typo.contains("actions[0] has an unknown member 'c_fuction'") && typo.contains("c_function"), "\(typo)")
        let direction = problem(
            #"{"id":"x","name":"X","version":"1","vendor":"V","directions":["two-way"],"wizard":{"steps":[{"id":"s","title":"S"}]}}"#)
        #expect(direction.contains("directions[0] is 'two-way', which is not one of: incoming, outgoing, two_way"), "\(direction)")
        let incoming = problem(base + #","authentication":{"outgoing":[]}}"#)
        #expect(incoming.contains("authentication has no 'incoming', which is required"), "\(incoming)")
        let comma = problem(base + ",}")
        #expect(comma.contains("not strict JSON") && comma.contains("invalid JSON at byte"), "\(comma)")
    }
}

/// The other two schemas in `sdk/schema/`: the link a plugin receives, and the status answer it gives. Python's
/// jsonschema judges real links and the host's own verdicts on status answers.
@Suite("Link and status schemas")
struct LinkAndStatusSchemaTests {
    static let judge = """
        import json, sys, jsonschema
        from referencing import Registry, Resource
        root = sys.argv[1]
        schemas = {n: json.load(open(root + "/" + n + ".schema.json")) for n in ("status", "link")}
        for s in schemas.values():
            jsonschema.Draft202012Validator.check_schema(s)
        registry = Registry().with_resources([(s["$id"], Resource.from_contents(s)) for s in schemas.values()])
        which = schemas[sys.argv[2]]
        v = jsonschema.Draft202012Validator(which, registry=registry)
        for doc in json.load(sys.stdin):
            errors = [e.message for e in v.iter_errors(doc)]
            print("valid" if not errors else "invalid: " + "; ".join(errors)[:300])
        """

    static func judge(_ schema: String, _ docs: Data) throws -> [String] {
        let r = try runCommand(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["python3", "-c", judge, BuildProducts.repositoryRoot.appendingPathComponent("sdk/schema").path, schema],
            stdin: String(decoding: docs, as: UTF8.self))
        #expect(r.status == 0, "python jsonschema failed: \(r.stderr)")
        return r.stdout.split(separator: "\n").map(String.init)
    }

    @Test("link.schema.json describes the links plugins receive and list --json prints, before and after a check")
    func links() async throws {
        let t = try await TestDeployment.make()
        let fresh = try await t.createFixtureLink(name: "Schema")
        let checked = try await t.deployment.checkStatus(of: [fresh])[0]
        var generic = try await t.createFixtureLink(name: "Generic", extra: ["application": "generic"])
        generic.application.version = "1.2.3"
        let verdicts = try Self.judge("link", try JSONCoding.encode([fresh, checked, generic]))
        #expect(verdicts == ["valid", "valid", "valid"], "\(verdicts)")
        // And it is strict: the wizard's name for a URL is not a member of a link.
        var wrong = try #require(try JSONSerialization.jsonObject(with: JSONCoding.encode(fresh)) as? [String: Any])
        wrong["rpc_url"] = "https://remote.example.com"
        #expect(try Self.judge("link", try JSONSerialization.data(withJSONObject: [wrong])).first?.hasPrefix("invalid") == true)
    }

    @Test("status.schema.json and the host accept and refuse the same status answers")
    func statusAnswers() throws {
        let answers: [[String: Any]] = [
            ["category": "CONNECTED", "error_type": NSNull(), "message": "ok"],
            ["category": "CONNECTED", "message": "ok", "application_version": "9.4.0"],
            ["category": "CONNECTED", "error_type": "TIMEOUT", "message": "x"],
            ["category": "ACCESS_ERROR", "error_type": "LOCAL_AUTH_TOKEN_REQUIRED", "message": "authorize"],
            ["category": "ACCESS_ERROR", "error_type": "TIMEOUT", "message": "x"],
            ["category": "NETWORK_ERROR", "error_type": "OAUTH_TIMESTAMP_REFUSED", "message": "clocks"],
            ["category": "HAPPY", "error_type": NSNull(), "message": "x"],
            ["category": "CONFIG_ERROR", "error_type": "NO_SUCH_TYPE", "message": "x"],
        ]
        let host = answers.map { a -> String in
            guard let data = try? JSONSerialization.data(withJSONObject: a),
                let r = try? JSONCoding.decode(StatusResponse.self, from: data),
                (try? LinkStatus(r.category, r.errorType, message: r.message).validated()) != nil
            else { return "invalid" }
            return "valid"
        }
        let python = try Self.judge("status", try JSONSerialization.data(withJSONObject: answers)).map {
            $0.hasPrefix("invalid") ? "invalid" : $0
        }
        #expect(python == host)
        #expect(host == ["valid", "valid", "invalid", "valid", "invalid", "valid", "invalid", "invalid"])
    }
}
