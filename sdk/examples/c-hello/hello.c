/*
 * c-hello: a complete AppLinks link type in plain C, against <applinks/plugin.h> alone.
 *
 *   - a wizard with two steps (the remote's URL, then a greeting);
 *   - a status check that GETs the remote's URL through the host's HTTP service;
 *   - a typed action, `greet`, that the host calls as a plain C function (see c_function in DESCRIPTOR_JSON).
 *
 * Build: make (or: cc -shared -fPIC -O2 -I../../include -o libapplinks-c-hello.so hello.c)
 * Install: applinks plugins install libapplinks-c-hello.so (or list its path in plugins.paths).
 *
 * The JSON handling below is only what this example needs (finding one string member); a real plugin
 * should use a JSON library.
 */
#include <applinks/plugin.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char DESCRIPTOR_JSON[] =
    "{\"id\":\"c-hello\",\"name\":\"Hello (C example)\",\"version\":\"1.0.0\",\"vendor\":\"AppLinks SDK\","
    "\"description\":\"A remote that answers HTTP, checked with a GET.\",\"directions\":[\"outgoing\"],"
    "\"wizard\":{\"steps\":[{\"id\":\"url\",\"title\":\"The remote\"},{\"id\":\"greeting\",\"title\":\"The greeting\"}]},"
    "\"status_checks\":[{\"id\":\"get\",\"title\":\"GET the remote's URL\"}],"
    "\"actions\":[{\"id\":\"greet\",\"title\":\"Greet someone\",\"params\":["
    "{\"name\":\"name\",\"type\":\"string\",\"required\":true},"
    "{\"name\":\"times\",\"type\":\"int\",\"default\":1},"
    "{\"name\":\"shout\",\"type\":\"bool\",\"default\":false},"
    "{\"name\":\"pitch\",\"type\":\"double\",\"default\":1.0}],"
    "\"c_function\":{\"symbol\":\"hello_greet\",\"args\":[\"string\",\"int64\",\"bool\",\"double\"]}}]}";

/* What init keeps: the host's services, for the status check's HTTP call. */
struct hello {
    const applinks_host_api *host;
    void *host_ctx;
};

/* Hands `text` to the host in a buffer it frees through hello_free. */
static int32_t reply(applinks_buffer *out, const char *text) {
    size_t n = strlen(text);
    out->data = malloc(n);
    if (!out->data) return APPLINKS_ERROR;
    memcpy(out->data, text, n);
    out->len = n;
    return APPLINKS_OK;
}

/* Copies the string member `key` (the first one found) of `json` into `value`; 0 if there is none. */
static int string_member(const uint8_t *json, size_t len, const char *key, char *value, size_t size) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    char *text = strndup((const char *)json, len);
    char *at = text ? strstr(text, pattern) : NULL;
    int found = 0;
    if (at) {
        at += strlen(pattern);
        size_t i = 0;
        while (*at && *at != '"' && i + 1 < size) {
            if (*at == '\\' && at[1]) at++;
            value[i++] = *at++;
        }
        value[i] = 0;
        found = 1;
    }
    free(text);
    return found;
}

static int32_t hello_init(const applinks_host_api *host, void *host_ctx, void **plugin_ctx) {
    /* A host older than the fields used here would have a smaller table (see VERSIONING in plugin.h). */
    if (host->struct_size < offsetof(applinks_host_api, http_request) + sizeof host->http_request) return APPLINKS_ERROR;
    struct hello *h = calloc(1, sizeof *h);
    if (!h) return APPLINKS_ERROR;
    h->host = host;
    h->host_ctx = host_ctx;
    *plugin_ctx = h;
    return APPLINKS_OK;
}

static void hello_shutdown(void *plugin_ctx) { free(plugin_ctx); }

static int32_t hello_wizard(void *plugin_ctx, const uint8_t *req, size_t len, applinks_buffer *out) {
    (void)plugin_ctx;
    char step[32] = "", url[512] = "", greeting[128] = "Hello", buf[2048];
    string_member(req, len, "step", step, sizeof step);
    string_member(req, len, "url", url, sizeof url);
    string_member(req, len, "greeting", greeting, sizeof greeting);
    if (step[0] == 0)
        return reply(out, "{\"type\":\"fields\",\"step\":\"url\",\"title\":\"The remote\",\"messages\":[],"
                          "\"fields\":[{\"name\":\"url\",\"label\":\"Its URL\",\"type\":\"url\",\"required\":true}]}");
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return reply(out, "{\"type\":\"errors\",\"step\":\"url\",\"messages\":[],"
                          "\"errors\":[{\"field\":\"url\",\"message\":\"give an http(s) URL, such as https://example.com\"}]}");
    if (strcmp(step, "url") == 0)
        return reply(out, "{\"type\":\"fields\",\"step\":\"greeting\",\"title\":\"The greeting\",\"messages\":[],"
                          "\"fields\":[{\"name\":\"greeting\",\"label\":\"Greeting\",\"type\":\"text\",\"required\":false,"
                          "\"default\":\"Hello\"}]}");
    snprintf(buf, sizeof buf,
             "{\"type\":\"done\",\"link\":{\"name\":\"Hello %s\",\"application\":{\"type\":\"generic\",\"name\":\"Hello\"},"
             "\"display_url\":\"%s\",\"rpc_url\":\"%s\",\"incoming_auth\":[],\"outgoing_auth\":[],"
             "\"config\":{\"greeting\":\"%s\"}},\"secrets\":{},\"messages\":[]}",
             url, url, url, greeting);
    return reply(out, buf);
}

/* GETs the link's URL through the host, which applies the deployment's address policy and timeouts. */
static int32_t hello_status(void *plugin_ctx, const uint8_t *req, size_t len, applinks_buffer *out) {
    struct hello *h = plugin_ctx;
    char url[512] = "", request[1024], buf[1024];
    if (!string_member(req, len, "rpc", url, sizeof url))
        return reply(out, "{\"category\":\"CONFIG_ERROR\",\"error_type\":\"INVALID_CONFIG\",\"message\":\"The link has no URL.\"}");
    snprintf(request, sizeof request, "{\"method\":\"GET\",\"url\":\"%s\",\"headers\":[],\"timeout_ms\":5000,\"follow_redirects\":false}", url);
    applinks_buffer answer = {0};
    int32_t rc = h->host->http_request(h->host_ctx, (const uint8_t *)request, strlen(request), &answer);
    char code[64] = "UNEXPECTED_RESPONSE";
    if (rc == APPLINKS_OK) {
        char *text = strndup((const char *)answer.data, answer.len);
        char *status = text ? strstr(text, "\"status\":") : NULL;
        int http = status ? atoi(status + 9) : 0;
        free(text);
        if (http >= 200 && http < 400)
            snprintf(buf, sizeof buf, "{\"category\":\"CONNECTED\",\"error_type\":null,\"message\":\"%s answered HTTP %d.\"}", url, http);
        else
            snprintf(buf, sizeof buf,
                     "{\"category\":\"NETWORK_ERROR\",\"error_type\":\"UNEXPECTED_RESPONSE_STATUS\",\"message\":\"%s answered HTTP %d.\"}",
                     url, http);
    } else {
        /* The host names a network failure in the error's code (CONNECTION_REFUSED, TIMEOUT, ...); any other
           code means it would not send the request, such as to an address the deployment does not allow. */
        static const char *network[] = {"CONNECTION_REFUSED", "UNKNOWN_HOST", "SSL_UNTRUSTED", "SSL_HOSTNAME_UNMATCHED",
                                         "TIMEOUT", "UNEXPECTED_RESPONSE"};
        int is_network = 0;
        if (answer.data) string_member(answer.data, answer.len, "code", code, sizeof code);
        for (size_t i = 0; i < sizeof network / sizeof *network; i++) is_network |= strcmp(code, network[i]) == 0;
        if (is_network)
            snprintf(buf, sizeof buf,
                     "{\"category\":\"NETWORK_ERROR\",\"error_type\":\"%s\",\"message\":\"%s cannot be reached; check that it is up.\"}",
                     code, url);
        else
            snprintf(buf, sizeof buf,
                     "{\"category\":\"CONFIG_ERROR\",\"error_type\":\"INVALID_CONFIG\",\"message\":\"The host will not call %s "
                     "(%s); check the URL and the deployment's http settings.\"}",
                     url, code);
    }
    if (answer.data) h->host->free_buffer(h->host_ctx, &answer);
    return reply(out, buf);
}

/* The typed action: the host converts the admin's --arg values and calls this with libffi. */
APPLINKS_EXPORT int32_t hello_greet(void *plugin_ctx, const char *name, int64_t times, bool shout, double pitch,
                                    applinks_buffer *out) {
    (void)plugin_ctx;
    if (times < 1 || times > 5)
        return (reply(out, "{\"code\":\"invalid_input\",\"message\":\"times must be between 1 and 5\"}"), APPLINKS_ERROR);
    char line[256] = "", buf[2048];
    for (int64_t i = 0; i < times; i++) {
        size_t used = strlen(line);
        snprintf(line + used, sizeof line - used, "%s%s, %s%s", i ? " " : "", "Hello", name, shout ? "!" : ".");
    }
    snprintf(buf, sizeof buf,
             "{\"message\":\"%s\",\"output\":{\"name\":\"%s\",\"times\":\"%" PRId64 "\",\"shout\":%s,\"pitch\":\"%.17g\"}}",
             line, name, times, shout ? "true" : "false", pitch);
    return reply(out, buf);
}

static int32_t hello_action(void *plugin_ctx, const uint8_t *req, size_t len, applinks_buffer *out) {
    (void)plugin_ctx; (void)req; (void)len;
    return (reply(out, "{\"code\":\"unknown_action\",\"message\":\"c-hello has no such action\"}"), APPLINKS_ERROR);
}

static int32_t hello_http(void *plugin_ctx, const uint8_t *req, size_t len, applinks_buffer *out) {
    (void)plugin_ctx; (void)req; (void)len;
    return reply(out, "{\"status\":404,\"headers\":[],\"body_base64\":\"\"}");
}

static void hello_free(void *plugin_ctx, applinks_buffer *buffer) {
    (void)plugin_ctx;
    free(buffer->data);
    buffer->data = NULL;
    buffer->len = 0;
}

static const applinks_plugin_descriptor DESCRIPTOR = {
    sizeof(applinks_plugin_descriptor), APPLINKS_ABI_VERSION,
    "c-hello", "Hello (C example)", "1.0.0", "AppLinks SDK", DESCRIPTOR_JSON,
    hello_init, hello_shutdown, hello_wizard, hello_status, hello_action, hello_http, hello_free,
};

APPLINKS_EXPORT const applinks_plugin_descriptor *applinks_plugin_entry(uint32_t host_abi_version) {
    if (APPLINKS_ABI_MAJOR(host_abi_version) != APPLINKS_ABI_VERSION_MAJOR) return NULL;
    return &DESCRIPTOR;
}
