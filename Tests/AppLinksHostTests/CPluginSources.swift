import Foundation

/// C plugins that tests compile with `cc` at run time, against the SDK header alone: one well-behaved
/// template that can be bent into each kind of bad file, and one whose status answers misbehave on purpose
/// (links named "segfault" and "hang-forever" do what they say: only ever check them under process isolation).
enum CPluginSources {
    struct Options {
        var id = "cplugin"
        var abi = "APPLINKS_ABI_VERSION"
        var structSize = "sizeof(applinks_plugin_descriptor)"
        var json: String? = nil
        var exportEntry = true
        var entryReturnsNull = false
        /// More C, after the standard functions: typed actions, for one.
        var extraC = ""
    }

    static func descriptorJSON(id: String) -> String {
        #"{"id":"\#(id)","name":"C plugin","version":"0.1","vendor":"tests","directions":["outgoing"],"wizard":{"steps":[{"id":"a","title":"A"}]}}"#
    }

    static func cString(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func plugin(_ o: Options = Options()) -> String {
        let json = o.json ?? descriptorJSON(id: o.id)
        let entry = o.exportEntry ? "applinks_plugin_entry" : "some_other_name"
        return """
            #include <applinks/plugin.h>
            #include <stdio.h>
            #include <stdlib.h>
            #include <string.h>
            #include <unistd.h>

            static int inflight = 0, max_inflight = 0;

            static int32_t reply(applinks_buffer *out, const char *s) {
                size_t n = strlen(s);
                out->data = malloc(n);
                memcpy(out->data, s, n);
                out->len = n;
                return APPLINKS_OK;
            }
            static int32_t p_init(const applinks_host_api *h, void *c, void **ctx) { (void)h; (void)c; *ctx = NULL; return APPLINKS_OK; }
            static void p_shutdown(void *ctx) { (void)ctx; }
            static int32_t p_wizard(void *c, const uint8_t *r, size_t l, applinks_buffer *out) {
                (void)c; (void)r; (void)l;
                return reply(out, "{\\"type\\":\\"fields\\",\\"step\\":\\"a\\",\\"title\\":\\"A\\",\\"fields\\":[]}");
            }
            static int32_t p_status(void *c, const uint8_t *req, size_t len, applinks_buffer *out) {
                (void)c;
                char *s = strndup((const char *)req, len);
                int32_t rc;
                if (strstr(s, "\\"name\\":\\"garbage\\"")) rc = reply(out, "this is not JSON {");
                else if (strstr(s, "\\"name\\":\\"empty\\"")) rc = reply(out, "");
                else if (strstr(s, "\\"name\\":\\"happy\\"")) rc = reply(out, "{\\"category\\":\\"HAPPY\\",\\"message\\":\\"x\\"}");
                else if (strstr(s, "\\"name\\":\\"wrongtype\\"")) rc = reply(out, "{\\"category\\":\\"ACCESS_ERROR\\",\\"error_type\\":\\"TIMEOUT\\",\\"message\\":\\"x\\"}");
                else if (strstr(s, "\\"name\\":\\"negative\\"")) rc = -5;
                else if (strstr(s, "\\"name\\":\\"error\\"")) rc = (reply(out, "{\\"code\\":\\"remote_down\\",\\"message\\":\\"C says the remote is down\\"}"), APPLINKS_ERROR);
                else if (strstr(s, "\\"name\\":\\"segfault\\"")) { *(volatile int *)(uintptr_t)0 = 1; rc = -1; }
                else if (strstr(s, "\\"name\\":\\"hang-forever\\"")) { for (;;) pause(); }
                else if (strstr(s, "\\"name\\":\\"badpair\\"")) rc = reply(out, "{\\"category\\":\\"CONNECTED\\",\\"error_type\\":\\"TIMEOUT\\",\\"message\\":\\"x\\"}");
                else if (strstr(s, "\\"name\\":\\"slow")) {
                    int now = __atomic_add_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
                    int seen = __atomic_load_n(&max_inflight, __ATOMIC_SEQ_CST);
                    while (now > seen && !__atomic_compare_exchange_n(&max_inflight, &seen, now, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
                    usleep(150000);
                    __atomic_sub_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
                    char buf[160];
                    snprintf(buf, sizeof buf, "{\\"category\\":\\"CONNECTED\\",\\"error_type\\":null,\\"message\\":\\"max=%d\\"}", __atomic_load_n(&max_inflight, __ATOMIC_SEQ_CST));
                    rc = reply(out, buf);
                } else rc = reply(out, "{\\"category\\":\\"CONNECTED\\",\\"error_type\\":null,\\"message\\":\\"ok from C\\"}");
                free(s);
                return rc;
            }
            static int32_t p_action(void *c, const uint8_t *r, size_t l, applinks_buffer *out) { (void)c; (void)r; (void)l; return reply(out, "{}"); }
            static int32_t p_http(void *c, const uint8_t *r, size_t l, applinks_buffer *out) {
                (void)c; (void)r; (void)l;
                return reply(out, "{\\"status\\":204,\\"headers\\":[],\\"body_base64\\":\\"\\"}");
            }
            static void p_free(void *c, applinks_buffer *b) { (void)c; free(b->data); b->data = NULL; b->len = 0; }
            \(o.extraC)

            static const applinks_plugin_descriptor DESCRIPTOR = {
                \(o.structSize), \(o.abi),
                \(cString(o.id)), "C plugin", "0.1", "tests", \(cString(json)),
                p_init, p_shutdown, p_wizard, p_status, p_action, p_http, p_free,
            };

            APPLINKS_EXPORT const applinks_plugin_descriptor *\(entry)(uint32_t host_abi_version) {
                (void)host_abi_version;
                return \(o.entryReturnsNull ? "NULL" : "&DESCRIPTOR");
            }
            """
    }
}
