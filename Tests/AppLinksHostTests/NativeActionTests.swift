import AppLinksCore
import AppLinksHost
import AppLinksPluginRuntime
import Foundation
import TestSupport
import Testing

/// Typed C actions: a C plugin declares an action as a plain C function, and the host calls it with libffi.
@Suite("Typed C actions")
struct NativeActionTests {
    static let params =
        #"[{"name":"count","type":"int","required":true},{"name":"ratio","type":"double","required":true},"#
        + #"{"name":"loud","type":"bool","required":true},{"name":"text","type":"string","required":true}]"#

    static func descriptor(args: String = #"["int64","double","bool","string"]"#, symbol: String = "c_typed") -> String {
        #"{"id":"cplugin","name":"C plugin","version":"0.1","vendor":"tests","directions":["outgoing"],"wizard":{"steps":[{"id":"a","title":"A"}]},"#
            + #""actions":[{"id":"typed","title":"Typed","params":\#(params),"c_function":{"symbol":"\#(symbol)","args":\#(args)}}]}"#
    }

    /// Writes back what arrived, with the int64 as text so that JSON's doubles cannot round it.
    static let typedC = #"""
        #include <stdbool.h>
        #include <inttypes.h>
        APPLINKS_EXPORT int32_t c_typed(void *ctx, int64_t count, double ratio, bool loud, const char *text, applinks_buffer *out) {
            (void)ctx;
            char buf[512];
            snprintf(buf, sizeof buf, "{\"message\":\"typed\",\"output\":{\"count\":\"%" PRId64 "\",\"ratio\":\"%.17g\",\"loud\":%s,\"text\":\"%s\"}}",
                     count, ratio, loud ? "true" : "false", text ? text : "(null)");
            return reply(out, buf);
        }
        """#

    static func plugin(_ dir: TemporaryDirectory, json: String = descriptor()) throws -> URL {
        var o = CPluginSources.Options()
        o.json = json
        o.extraC = typedC
        let file = dir.path("libtyped.so")
        try compileCPlugin(CPluginSources.plugin(o), to: file)
        return file
    }

    @Test("int64, double, bool and string arguments arrive exactly, and a wrong value is refused before the call")
    func typedArguments() async throws {
        let dir = TemporaryDirectory("typed")
        let t = try await TestDeployment.make(pluginPaths: [try Self.plugin(dir)])
        let link = try await t.deployment.store.createLink(
            Link(type: "cplugin", name: "C", application: ApplicationInfo(type: "generic"), displayURL: "https://c.example.com"),
            sealedSecrets: [:])
        // Beyond 2^53, where a double would round it; a ratio that needs all 17 digits; UTF-8 text.
        let (_, r) = try await t.deployment.invokeAction(
            link.id, action: "typed",
            rawArgs: [("count", "-9007199254740993"), ("ratio", "0.1"), ("loud", "yes"), ("text", "héllo wörld")])
        #expect(r.message == "typed")
        #expect(r.output?["count"]?.stringValue == "-9007199254740993")
        #expect(r.output?["ratio"]?.stringValue == String(format: "%.17g", 0.1))
        #expect(r.output?["loud"] == .bool(true))
        #expect(r.output?["text"]?.stringValue == "héllo wörld")

        await #expect(throws: AppLinksError.self) {
            _ = try await t.deployment.invokeAction(
                link.id, action: "typed", rawArgs: [("count", "1.5"), ("ratio", "1"), ("loud", "no"), ("text", "x")])
        }
        do {
            _ = try await t.deployment.invokeAction(
                link.id, action: "typed", rawArgs: [("count", "99999999999999999999"), ("ratio", "x"), ("loud", "no"), ("text", "x")])
            Issue.record("a wrong value was passed to C")
        } catch let e as AppLinksError {
            #expect(e.code == .invalidInput && e.message.contains("count must be") && e.message.contains("ratio must be"), "\(e.message)")
        }
    }

    @Test(
        "a declaration with an unsupported type, a mismatch with the params, or a missing symbol is refused at load",
        arguments: [
            (#"["int64","float","bool","string"]"#, "c_typed", "args[1] is 'float', which is not one of: int64, double, bool, string"),
            (
                #"["int64","int64","bool","string"]"#, "c_typed",
                "argument 2 of c_typed is int64, but the action typed's parameter 'ratio' is double"
            ),
            (#"["int64","double","bool"]"#, "c_typed", "c_typed takes 3 arguments but the action typed declares 4 parameters"),
            (#"["int64","double","bool","string"]"#, "c_missing", "does not export c_missing"),
        ])
    func refusals(args: String, symbol: String, expected: String) throws {
        let dir = TemporaryDirectory("typed-bad")
        let file = try Self.plugin(dir, json: Self.descriptor(args: args, symbol: symbol))
        let (plugins, records) = PluginLoaderTests.loader([file]).loadAll(enabled: [:])
        #expect(plugins.isEmpty)
        #expect(records.first?.reason?.contains(expected) == true, "\(records.first?.reason ?? "nil")")
    }

    /// ABI 1.2: a typed function that gets the host and its link, reads the link and answers with its name.
    static let linkedC = #"""
        #include <string.h>
        APPLINKS_EXPORT int32_t c_linked(void *ctx, const applinks_host_api *host, void *host_ctx, const char *link_id,
                                         const char *text, applinks_buffer *out) {
            (void)ctx;
            applinks_buffer link = {0};
            if (!host || !link_id || host->link_get(host_ctx, link_id, strlen(link_id), &link) != APPLINKS_OK)
                return reply(out, "{\"message\":\"no link\"}");
            size_t n = link.len + strlen(text) + 64;
            char *buf = malloc(n);
            snprintf(buf, n, "{\"message\":\"%s\",\"output\":%.*s}", text, (int)link.len, (const char *)link.data);
            host->free_buffer(host_ctx, &link);
            int32_t rc = reply(out, buf);
            free(buf);
            return rc;
        }
        """#

    static func linkedDescriptor() -> String {
        #"{"id":"cplugin","name":"C plugin","version":"0.1","vendor":"tests","directions":["outgoing"],"wizard":{"steps":[{"id":"a","title":"A"}]},"#
            + #""actions":[{"id":"linked","title":"Linked","params":[{"name":"text","type":"string","required":true}],"#
            + #""c_function":{"symbol":"c_linked","args":["string"],"with_link":true}}]}"#
    }

    @Test("with_link (ABI 1.2): the function gets the host and its link's id, in process and isolated", arguments: ["", "cplugin=process"])
    func withLink(isolation: String) async throws {
        let dir = TemporaryDirectory("typed-link")
        var o = CPluginSources.Options()
        o.json = Self.linkedDescriptor()
        o.extraC = Self.linkedC
        let file = dir.path("liblinked.so")
        try compileCPlugin(CPluginSources.plugin(o), to: file)
        let t = try await TestDeployment.make(pluginPaths: [file], env: isolation.isEmpty ? [:] : ["APPLINKS_PLUGINS_ISOLATION": isolation])
        let link = try await t.deployment.store.createLink(
            Link(
                type: "cplugin", name: "Linked remote", application: ApplicationInfo(type: "generic"), displayURL: "https://c.example.com"),
            sealedSecrets: [:])
        let (_, r) = try await t.deployment.invokeAction(link.id, action: "linked", rawArgs: [("text", "hi")])
        #expect(r.message == "hi" && r.output?["id"]?.stringValue == link.id && r.output?["name"]?.stringValue == "Linked remote", "\(r)")
    }

    @Test("a plugin built for ABI 1.1 still loads its plain typed functions, and cannot declare with_link")
    func oldForm() throws {
        let dir = TemporaryDirectory("typed-old")
        var o = CPluginSources.Options()
        o.abi = "((1u << 16) | 1u)"
        o.json = Self.descriptor()
        o.extraC = Self.typedC
        let old = dir.path("libold.so")
        try compileCPlugin(CPluginSources.plugin(o), to: old)
        let (plugins, records) = PluginLoaderTests.loader([old]).loadAll(enabled: [:])
        #expect(plugins.count == 1 && records.first?.abiVersion == "1.1", "\(records.first?.reason ?? "")")
        o.json = Self.linkedDescriptor()
        o.extraC = Self.linkedC
        let mixed = dir.path("libmixed.so")
        try compileCPlugin(CPluginSources.plugin(o), to: mixed)
        let (none, refused) = PluginLoaderTests.loader([mixed]).loadAll(enabled: [:])
        #expect(none.isEmpty && refused.first?.reason?.contains("with_link, which needs ABI 1.2") == true, "\(refused.first?.reason ?? "")")
    }
}
