import AppLinksJSON
import Foundation

extension LinkTypeDescriptor {
    /// Reads a plugin's `descriptor_json` by the one rule vendors read, `sdk/schema/descriptor.schema.json`: strict
    /// JSON (RFC 8259: no trailing comma, no comment), no member the schema does not name (a typo such as
    /// `c_fuction` is named), every enum value from its list (the allowed values are named), then the rules of
    /// ``validate(expectedID:sharedRoutePrefixes:)``. Every problem is listed, so that a vendor fixes them in one go.
    public static func parse(_ data: Data, expectedID: String? = nil, sharedRoutePrefixes: [String] = []) throws -> LinkTypeDescriptor {
        let json: JSONValue
        do {
            json = try JSONValue.parse(data)
        } catch {
            throw AppLinksError(.pluginRefused, "descriptor_json is not strict JSON (RFC 8259): \(error)", cause: error)
        }
        var problems: [String] = []
        Self.shape.check(json, at: "descriptor", &problems)
        if !problems.isEmpty { throw AppLinksError(.pluginRefused, problems.joined(separator: "; ")) }
        let descriptor: LinkTypeDescriptor
        do {
            descriptor = try JSONCoding.decode(LinkTypeDescriptor.self, from: data)
        } catch {
            throw AppLinksError(.pluginRefused, "descriptor_json does not decode: \(error)", cause: error)
        }
        try descriptor.validate(expectedID: expectedID, sharedRoutePrefixes: sharedRoutePrefixes)
        return descriptor
    }

    /// The schema's shape, member by member.
    static let shape: JSONShape = {
        let name = JSONShape.string
        let check = JSONShape.object(
            ["id": name, "title": .string, "error_types": .array(.oneOf(StatusErrorType.allCases.map(\.rawValue)))],
            required: ["id", "title"])
        return .object(
            [
                "id": .string, "name": .string, "version": .string, "vendor": .string, "description": .string,
                "directions": .array(.oneOf(Direction.allCases.map(\.rawValue))),
                "wizard": .object(
                    ["steps": .array(.object(["id": name, "title": .string, "fields": .array(.string)], required: ["id", "title"]))],
                    required: ["steps"]),
                "status_checks": .array(check),
                "actions": .array(
                    .object(
                        [
                            "id": name, "title": .string, "description": .string, "destructive": .bool, "host_only": .bool,
                            "extra_params": .bool,
                            "c_function": .object(
                                ["symbol": .string, "args": .array(.oneOf(["int64", "double", "bool", "string"])), "with_link": .bool],
                                required: ["symbol", "args"]),
                            "params": .array(
                                .object(
                                    [
                                        "name": name, "type": .oneOf(Parameter.Kind.allCases.map(\.rawValue)), "required": .bool,
                                        "default": .any, "help": .string,
                                    ], required: ["name", "type"])),
                        ], required: ["id", "title"])),
                "routes": .array(
                    .object(
                        [
                            "method": .oneOf(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]), "path": .string,
                            "auth": .oneOf(["none", "user", "admin"]), "inline": .bool, "authenticates_bearer": .bool,
                        ], required: ["method", "path"])),
                "authentication": .object(
                    ["incoming": .array(.string), "outgoing": .array(.string)], required: ["incoming", "outgoing"]),
            ], required: ["id", "name", "version", "vendor", "directions", "wizard"])
    }()
}

/// A JSON document's expected shape: which members an object may and must have, and which values a field takes.
indirect enum JSONShape: Sendable {
    case object([String: JSONShape], required: [String])
    case array(JSONShape)
    case string
    case bool
    case oneOf([String])
    case any

    func check(_ value: JSONValue, at path: String, _ problems: inout [String]) {
        switch (self, value) {
        case (.any, _): return
        case (.object(let members, let required), .object(let o)):
            for key in o.keys.sorted() where members[key] == nil {
                problems.append("\(path) has an unknown member '\(key)' (allowed: \(members.keys.sorted().joined(separator: ", ")))")
            }
            for key in required where o[key] == nil { problems.append("\(path) has no '\(key)', which is required") }
            for (key, shape) in members.sorted(by: { $0.key < $1.key }) {
                if let v = o[key] { shape.check(v, at: path == "descriptor" ? key : "\(path).\(key)", &problems) }
            }
        case (.array(let element), .array(let items)):
            for (i, item) in items.enumerated() { element.check(item, at: "\(path)[\(i)]", &problems) }
        case (.string, .string), (.bool, .bool): return
        case (.oneOf(let allowed), .string(let s)) where allowed.contains(s): return
        case (.oneOf(let allowed), _):
            let given = value.stringValue.map { "'\($0)'" } ?? "\(value)"
            problems.append("\(path) is \(given), which is not one of: \(allowed.joined(separator: ", "))")
        case (.object, _): problems.append("\(path) must be an object, not \(value)")
        case (.array, _): problems.append("\(path) must be an array, not \(value)")
        case (.string, _): problems.append("\(path) must be a string, not \(value)")
        case (.bool, _): problems.append("\(path) must be true or false, not \(value)")
        }
    }
}
