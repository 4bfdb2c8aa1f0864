import AppLinksCore
import AppLinksHost
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
            ("future member", edit { $0["future"] = ["x": 1] }),
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
        for (i, (_, doc)) in cases.enumerated() {
            let data = try JSONSerialization.data(withJSONObject: doc)
            try data.write(to: dir.path("\(i).json"))
            let ok = (try? JSONCoding.decode(LinkTypeDescriptor.self, from: data).validate(expectedID: "fixture")) != nil
            hostVerdicts.append(ok ? "valid" : "invalid")
        }
        let script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            v = jsonschema.Draft202012Validator(schema)
            for path in sys.argv[2:]:
                print("valid" if v.is_valid(json.load(open(path))) else "invalid")
            """
        let schema = BuildProducts.repositoryRoot.appendingPathComponent("sdk/schema/descriptor.schema.json").path
        let r = try runCommand(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["python3", "-c", script, schema] + cases.indices.map { dir.path("\($0).json").path })
        #expect(r.status == 0, "python jsonschema failed: \(r.stderr)")
        let pythonVerdicts = r.stdout.split(separator: "\n").map(String.init)
        #expect(pythonVerdicts == hostVerdicts, "cases: \(cases.map(\.0))")
        #expect(
            hostVerdicts == [
                "valid", "invalid", "invalid", "invalid", "invalid", "invalid", "invalid", "invalid", "invalid", "valid", "valid",
            ])
    }
}
