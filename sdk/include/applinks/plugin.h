/*
 * applinks/plugin.h: the AppLinks link-type plugin ABI, version 1.
 *
 * A link-type plugin is a shared library that exports exactly one symbol, `applinks_plugin_entry`.
 * Everything else crosses the boundary through the two tables declared here: the plugin's descriptor
 * (plugin -> host) and the host API (host -> plugin). Requests and responses are UTF-8 JSON documents
 * carried in `applinks_buffer`s. Plugins never link against host symbols.
 *
 * VERSIONING
 *   APPLINKS_ABI_VERSION is (major << 16) | minor.
 *   - A host loads a plugin only if the plugin's major equals the host's major and the plugin's minor is
 *     no newer than the host's minor.
 *   - A minor version may only APPEND fields to the end of `applinks_plugin_descriptor` or
 *     `applinks_host_api`, add JSON members, or add request/response kinds that old peers can ignore.
 *     Every table starts with `struct_size`; a reader never touches a field that lies beyond the
 *     `struct_size` the writer declared.
 *   - Removing or reordering a field, changing a signature, or changing the meaning of an existing JSON
 *     member needs a new major version.
 *
 * OWNERSHIP
 *   - A buffer is freed by whoever allocated it, through that side's `free_buffer`:
 *     * results that a plugin function writes to `*out` are allocated by the plugin and released by the
 *       host with `descriptor->free_buffer(plugin_ctx, out)`;
 *     * results that a host API function writes to `*out` are allocated by the host and released by the
 *       plugin with `host_api->free_buffer(host_ctx, out)`.
 *   - Input pointers (`const uint8_t *request`, `const char *key`, ...) are borrowed for the duration of
 *     the call only. Copy what you need to keep.
 *   - The descriptor and every string it points to must stay valid until the process exits: the host
 *     never calls dlclose().
 *
 * THREADING
 *   - `init` is called at most once, before any other function, and `shutdown` at most once, after every
 *     other call has returned. Neither runs concurrently with anything else.
 *   - `wizard_step`, `check_status`, `invoke_action` and `handle_http` MAY BE CALLED CONCURRENTLY from
 *     several host threads. A plugin must make them thread-safe. They may block (for example on a host
 *     HTTP call); the host calls them from threads it reserves for plugins.
 *   - Except: `handle_http` for a route the descriptor declares `"inline": true` is called on the host's
 *     request thread, to save the hand-off to a plugin thread. It must answer at once: from memory, the
 *     key-value store (kv_*) and its own links (link_get, links_list), which the host then answers on that
 *     same thread. A host whose store cannot (one that needs async work for it) calls inline routes on a
 *     plugin thread instead, so the route works either way. Host functions that wait on the network or on
 *     other work (http_request, link_update, audit) return APPLINKS_ERROR there, with a message naming the
 *     route's fix; log, secrets, crypto and identity work.
 *   - `free_buffer` may be called from any thread.
 *   - Every host API function may be called from any thread, at any time between the return of `init`
 *     and the call to `shutdown`, including from threads the plugin creates.
 *
 * TYPED C ACTIONS (descriptor "c_function")
 *   An action may be a plain C function that the host calls with libffi, its arguments already converted:
 *     int32_t symbol(void *plugin_ctx, ARGS..., applinks_buffer *out);
 *   Since 1.2, with "with_link": true, it also gets what it needs to call the link's remote:
 *     int32_t symbol(void *plugin_ctx, const applinks_host_api *host, void *host_ctx, const char *link_id,
 *                    ARGS..., applinks_buffer *out);
 *   `host` and `host_ctx` are those `init` received; `link_id` names the link the action runs on (use
 *   link_get for its JSON). Each of ARGS is int64_t, double, bool or const char *, in the order of the
 *   action's params. A 1.1 plugin keeps the first form; the host refuses "with_link" from a plugin built for
 *   ABI 1.1.
 *
 * RETURN CODES
 *   Plugin functions and host API functions return an `int32_t`:
 *     APPLINKS_OK (0)         success; `*out` (where there is one) holds the JSON result.
 *     APPLINKS_ERROR (1)      a reported failure; `*out` holds {"code": "...", "message": "..."}.
 *     APPLINKS_NOT_FOUND (2)  host API only: the key, secret or link does not exist; `*out` is empty.
 *     APPLINKS_CONFLICT (3)   host API only: a compare-and-set or versioned update lost the race.
 *     negative                an unexpected failure; `*out` may be empty. The host reports it as UNKNOWN.
 */
#ifndef APPLINKS_PLUGIN_H
#define APPLINKS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define APPLINKS_ABI_VERSION_MAJOR 1
#define APPLINKS_ABI_VERSION_MINOR 3
#define APPLINKS_ABI_VERSION ((uint32_t)((APPLINKS_ABI_VERSION_MAJOR << 16) | APPLINKS_ABI_VERSION_MINOR))
#define APPLINKS_ABI_MAJOR(v) ((uint32_t)(v) >> 16)
#define APPLINKS_ABI_MINOR(v) ((uint32_t)(v) & 0xFFFFu)

/** The name of the single exported symbol. */
#define APPLINKS_PLUGIN_ENTRY_SYMBOL "applinks_plugin_entry"

enum {
    APPLINKS_OK = 0,
    APPLINKS_ERROR = 1,
    APPLINKS_NOT_FOUND = 2,
    APPLINKS_CONFLICT = 3,
};

/** Log levels for `applinks_host_api.log`. */
enum {
    APPLINKS_LOG_TRACE = 0,
    APPLINKS_LOG_DEBUG = 1,
    APPLINKS_LOG_INFO = 2,
    APPLINKS_LOG_WARNING = 3,
    APPLINKS_LOG_ERROR = 4,
};

/** Digest algorithms for the host's crypto functions. */
enum {
    APPLINKS_DIGEST_SHA1 = 1,
    APPLINKS_DIGEST_SHA256 = 2,
};

/**
 * A byte buffer. When it is an output, the callee sets both fields; an empty result is {NULL, 0}.
 * JSON results are UTF-8 and need not be NUL-terminated.
 */
typedef struct applinks_buffer {
    uint8_t *data;
    size_t len;
} applinks_buffer;

/**
 * Services that the host offers a plugin. Passed to `init`; valid until `shutdown` returns.
 * Append-only: check `struct_size` before using a field added after v1.0.
 * `host_ctx` is the opaque pointer passed to `init`; pass it back on every call.
 * Every key-value, secret and link operation is confined to the calling plugin's own namespace.
 *
 * Each function below states its contract in the same four lines:
 *   Since     the ABI version that added it; read it only when `struct_size` covers it.
 *   Calls     where it may be called from. "Anywhere" means any thread, from inside `init` (which the host runs
 *             on a plugin thread before the first call), and from a route declared "inline". A function that
 *             waits on the network or on other work says "not inline": there it returns APPLINKS_ERROR with
 *             a message that names the fix (drop "inline": true from the route).
 *   Returns   what `*out` holds for each return code. Codes not listed are not returned. Every function may
 *             also return a negative code for an unexpected failure, with `*out` left empty.
 *   Frees     a non-empty `*out` belongs to the plugin, which releases it with `free_buffer(host_ctx, out)`
 *             from any thread. An empty result is {NULL, 0}, which needs no free (freeing it is harmless).
 * APPLINKS_ERROR's `*out` is always {"code": "...", "message": "..."}.
 * The same contract holds in process and in an isolated runner (`isolation: process`); there each call is a
 * round trip over the runner's pipe, so batch what you can.
 */
typedef struct applinks_host_api {
    uint32_t struct_size;
    uint32_t abi_version;

    /**
     * Frees a buffer that a host function wrote to `*out`, and sets it to {NULL, 0}.
     * Since 1.0. Calls: anywhere. Freeing {NULL, 0} does nothing.
     */
    void (*free_buffer)(void *host_ctx, applinks_buffer *buffer);

    /**
     * Writes one line to the host log under the plugin's id. `message` is UTF-8 of `len` bytes; invalid
     * bytes are replaced. `level` is an APPLINKS_LOG_* value; others are clamped to the nearest.
     * Since 1.0. Calls: anywhere. Never fails. Never log a secret: the host cannot tell one from text.
     */
    void (*log)(void *host_ctx, int32_t level, const char *message, size_t len);

    /* ---- Key-value store, namespaced per plugin and shared by every node of a cluster. ---- */

    /**
     * Reads a value.
     * Since 1.0. Calls: anywhere.
     * Returns: APPLINKS_OK, `*out` = the value's bytes (may be empty); APPLINKS_NOT_FOUND if absent or
     * expired, `*out` empty; APPLINKS_ERROR if the store is unreachable.
     */
    int32_t (*kv_get)(void *host_ctx, const char *key, size_t key_len, applinks_buffer *out);
    /**
     * Writes a value, replacing any. `ttl_seconds` <= 0 means no expiry.
     * Since 1.0. Calls: anywhere. Returns: APPLINKS_OK; APPLINKS_ERROR if the store is unreachable.
     */
    int32_t (*kv_put)(void *host_ctx, const char *key, size_t key_len, const uint8_t *value, size_t value_len,
                      int64_t ttl_seconds);
    /**
     * Deletes a value. Deleting a missing key succeeds.
     * Since 1.0. Calls: anywhere. Returns: APPLINKS_OK; APPLINKS_ERROR if the store is unreachable.
     */
    int32_t (*kv_delete)(void *host_ctx, const char *key, size_t key_len);
    /**
     * Lists the live keys that start with `prefix` (byte-wise; an empty prefix lists all).
     * Since 1.0. Calls: anywhere.
     * Returns: APPLINKS_OK, `*out` = a JSON array of strings in byte order; APPLINKS_ERROR if the store is
     * unreachable.
     */
    int32_t (*kv_list)(void *host_ctx, const char *prefix, size_t prefix_len, applinks_buffer *out);
    /**
     * Atomically replaces the value if it currently equals `expected`, across every node of a cluster.
     * With `expected == NULL` the key must be absent (insert-if-absent). With `replacement == NULL` the key
     * is deleted. This is how a plugin makes something single-use: delete with the value it read.
     * Since 1.0. Calls: anywhere.
     * Returns: APPLINKS_OK if swapped; APPLINKS_CONFLICT if the current value differs; APPLINKS_ERROR if the
     * store is unreachable.
     */
    int32_t (*kv_compare_and_set)(void *host_ctx, const char *key, size_t key_len, const uint8_t *expected,
                                  size_t expected_len, const uint8_t *replacement, size_t replacement_len,
                                  int64_t ttl_seconds);

    /* ---- Sealed secrets (AES-256-GCM under the deployment's master key). ---- */

    /**
     * Seals `plaintext`, bound to this plugin: another link type cannot open it.
     * Since 1.0. Calls: anywhere.
     * Returns: APPLINKS_OK, `*out` = opaque bytes safe to store anywhere (the key-value store, a link's
     * config); APPLINKS_ERROR if the deployment has no usable master key.
     */
    int32_t (*secret_seal)(void *host_ctx, const uint8_t *plaintext, size_t len, applinks_buffer *out);
    /**
     * Opens what `secret_seal` produced.
     * Since 1.0. Calls: anywhere.
     * Returns: APPLINKS_OK, `*out` = the plaintext; APPLINKS_ERROR if it was tampered with, sealed by another
     * plugin, or sealed under another master key.
     */
    int32_t (*secret_open)(void *host_ctx, const uint8_t *sealed, size_t len, applinks_buffer *out);

    /* ---- Outbound HTTP. ---- */

    /**
     * Performs one HTTP request, under the deployment's outbound address policy (loopback and private
     * addresses are refused unless the deployment allows them). Request JSON:
     *   {"method": "GET", "url": "https://...", "headers": [["Name", "value"], ...],
     *    "body_base64": "...", "timeout_ms": 10000, "follow_redirects": false}
     * Since 1.0. Calls: any thread and inside `init`; not inline. It blocks the calling thread until the
     * answer or the timeout.
     * Returns: APPLINKS_OK, `*out` = {"status": 200, "headers": [["Name", "value"], ...], "body_base64": "..."}
     * for any HTTP status, 4xx and 5xx included; APPLINKS_ERROR for a malformed request, a refused address,
     * or a transport failure, whose code is one of CONNECTION_REFUSED, UNKNOWN_HOST, SSL_UNTRUSTED,
     * SSL_HOSTNAME_UNMATCHED, TIMEOUT or UNEXPECTED_RESPONSE.
     */
    int32_t (*http_request)(void *host_ctx, const uint8_t *request, size_t len, applinks_buffer *out);

    /* ---- Crypto (system OpenSSL). ---- */

    /**
     * Fills the plugin's own `len` bytes at `out` from the operating system's CSPRNG. Unlike the other
     * functions, `out` is the destination itself, not an applinks_buffer: nothing is allocated or freed.
     * Since 1.0. Calls: anywhere.
     * Returns: APPLINKS_OK with all `len` bytes written; a negative code if `out` is NULL.
     */
    int32_t (*random_bytes)(void *host_ctx, uint8_t *out, size_t len);
    /**
     * Hashes `data`. `algorithm` is an APPLINKS_DIGEST_* value.
     * Since 1.0. Calls: anywhere.
     * Returns: APPLINKS_OK, `*out` = the raw digest (20 bytes for SHA-1, 32 for SHA-256); APPLINKS_ERROR for
     * an unknown algorithm.
     */
    int32_t (*digest)(void *host_ctx, int32_t algorithm, const uint8_t *data, size_t len, applinks_buffer *out);
    /**
     * HMAC of `data` under `key` (RFC 2104), as OAuth 1.0's HMAC-SHA1 and most webhook signatures need.
     * `algorithm` is an APPLINKS_DIGEST_* value; a key of any length, empty included, is accepted.
     * Since 1.0. Calls: anywhere.
     * Returns: APPLINKS_OK, `*out` = the raw MAC (20 bytes for SHA-1, 32 for SHA-256); APPLINKS_ERROR for an
     * unknown algorithm. Compare MACs in constant time.
     */
    int32_t (*hmac)(void *host_ctx, int32_t algorithm, const uint8_t *key, size_t key_len, const uint8_t *data,
                    size_t len, applinks_buffer *out);
    /**
     * Generates an RSA key pair of `bits` bits, which must be 2048 to 4096: smaller keys are breakable, and
     * larger ones take seconds to make.
     * Since 1.0. Calls: anywhere, but it takes up to a second of CPU; prefer a wizard step to a route.
     * Returns: APPLINKS_OK, `*out` = {"private_key_pem": "...", "public_key_pem": "..."} (PKCS#8 and SPKI PEM);
     * APPLINKS_ERROR for a size outside 2048 to 4096.
     */
    int32_t (*rsa_generate)(void *host_ctx, int32_t bits, applinks_buffer *out);
    /**
     * Signs `data` with RSASSA-PKCS1-v1_5 over the APPLINKS_DIGEST_* `algorithm`. `private_key_pem` is a
     * PEM private key of any size OpenSSL reads (PKCS#1 or PKCS#8); NULL means this instance's own key,
     * the one `instance_info` publishes, which is how an Atlassian-style link signs with RSA-SHA1.
     * Since 1.0. Calls: anywhere.
     * Returns: APPLINKS_OK, `*out` = the raw signature (as long as the key's modulus); APPLINKS_ERROR for a
     * PEM that is not an RSA private key, or an unknown algorithm.
     */
    int32_t (*rsa_sign)(void *host_ctx, int32_t algorithm, const char *private_key_pem, size_t pem_len,
                        const uint8_t *data, size_t len, applinks_buffer *out);
    /**
     * Verifies an RSASSA-PKCS1-v1_5 signature with a PEM public key in SPKI form
     * ("-----BEGIN PUBLIC KEY-----", what `rsa_generate` and `instance_info` give).
     * Since 1.0. Calls: anywhere.
     * Returns: APPLINKS_OK if the signature verifies; APPLINKS_CONFLICT if it does not; APPLINKS_ERROR for a
     * PEM that is not an RSA public key, or an unknown algorithm. There is no `*out`.
     */
    int32_t (*rsa_verify)(void *host_ctx, int32_t algorithm, const char *public_key_pem, size_t pem_len,
                          const uint8_t *data, size_t len, const uint8_t *signature, size_t signature_len);

    /* ---- This instance. ---- */

    /**
     * Who this deployment is, as a remote sees it.
     * Since 1.0. Calls: anywhere.
     * Returns: APPLINKS_OK, `*out` = {"id": "<uuid>", "name": "...", "type": "applinks", "version": "...",
     * "base_url": "...", "public_key_pem": "..."}.
     */
    int32_t (*instance_info)(void *host_ctx, applinks_buffer *out);

    /* ---- The plugin's own links (never another type's). ---- */

    /**
     * Every link of this plugin's type.
     * Since 1.0. Calls: anywhere.
     * Returns: APPLINKS_OK, `*out` = a JSON array in the host's link JSON (sdk/docs/abi.md), without secrets;
     * APPLINKS_ERROR if the store is unreachable.
     */
    int32_t (*links_list)(void *host_ctx, applinks_buffer *out);
    /**
     * One link of this plugin's type, by id.
     * Since 1.0. Calls: anywhere.
     * Returns: APPLINKS_OK, `*out` = the link in the host's link JSON, without secrets; APPLINKS_NOT_FOUND,
     * `*out` empty, when no link has that id AND when the link belongs to another type: the answers are the
     * same, so a plugin cannot learn which ids other types hold (use `link_access_token` to call another
     * type's remote); APPLINKS_ERROR if the store is unreachable.
     */
    int32_t (*link_get)(void *host_ctx, const char *id, size_t id_len, applinks_buffer *out);
    /**
     * Updates a link of this plugin's type, recorded in the audit log as "plugin:ID":
     *   {"id": "...", "version": 3, "changes": {"config": {...}, "secrets": {"name": "value" | null},
     *    "display_url": ..., "incoming_auth": [...], ...}}
     * Since 1.0. Calls: any thread and inside `init`; not inline.
     * Returns: APPLINKS_OK, `*out` = the updated link; APPLINKS_CONFLICT, `*out` empty, if `version` is no
     * longer current (read the link again, reapply, retry); APPLINKS_NOT_FOUND, `*out` empty, for no such link
     * of this type; APPLINKS_ERROR for a malformed request or a change the host refuses.
     */
    int32_t (*link_update)(void *host_ctx, const uint8_t *request, size_t len, applinks_buffer *out);

    /* ---- Audit. ---- */

    /**
     * Records {"action": "...", "link_id": "..." (optional), "detail": {...} (optional)} in the audit log,
     * with "plugin:ID" as the actor. Never put a secret in `detail`.
     * Since 1.0. Calls: any thread and inside `init`; not inline.
     * Returns: APPLINKS_OK; APPLINKS_ERROR for a malformed event or an unreachable store. There is no `*out`.
     */
    int32_t (*audit)(void *host_ctx, const uint8_t *event, size_t len);

    /* ---- Since v1.1: what other link types hold. ---- */

    /**
     * A fresh access token for calling the application that link `link_id` (of any type) points at, from
     * that link's type, which refreshes it first when it is about to expire. Only types with a host-only
     * `access-token` action give tokens (oauth2-outgoing does).
     * Since 1.1. Calls: any thread; not inline (it may make network calls), and not inside `init`: the link may
     * be this plugin's own, whose `access-token` action would wait for the `init` that is calling it.
     * Returns: APPLINKS_OK, `*out` = {"access_token": "...", "token_type": "Bearer"}; APPLINKS_NOT_FOUND,
     * `*out` empty, if there is no such link; APPLINKS_ERROR with the reason (a type that gives no tokens, a
     * link not authorized yet, a provider that cannot be reached).
     */
    int32_t (*link_access_token)(void *host_ctx, const char *link_id, size_t id_len, applinks_buffer *out);

    /* ---- Since v1.3: several key-value changes at once. ---- */

    /**
     * Applies several key-value changes in one transaction, all or none, across every node of a cluster:
     *   {"changes": [{"op": "require", "key": "...", "value_base64": "..."},   (omit value_base64: must be absent)
     *                {"op": "put", "key": "...", "value_base64": "...", "ttl_seconds": 60},   (ttl optional)
     *                {"op": "delete", "key": "..."}]}
     * Every "require" is checked against the values before the batch; only if all hold are the puts and deletes
     * made, in order. No other write to a required key comes between the check and the commit. This is how a
     * plugin makes a change that spans keys (spend a token, update its grant, write the new tokens) at the cost of
     * one commit, with no state in between for a crash or a concurrent request to see. At most 256 changes.
     * Since 1.3. Calls: anywhere.
     * Returns: APPLINKS_OK, `*out` empty, when applied; APPLINKS_CONFLICT, `*out` = {"index": N}, the position in
     * "changes" of the first requirement that did not hold, and nothing was written; APPLINKS_ERROR for a malformed
     * batch or an unreachable store.
     */
    int32_t (*kv_batch)(void *host_ctx, const uint8_t *request, size_t len, applinks_buffer *out);
} applinks_host_api;

/**
 * What a plugin is and what it can do. Returned by `applinks_plugin_entry`; static for the life of the
 * process. Append-only: the host reads a field only when `struct_size` covers it.
 */
typedef struct applinks_plugin_descriptor {
    uint32_t struct_size;
    uint32_t abi_version;

    /** Stable id, lower case letters, digits and '-', such as "jenkins". */
    const char *id;
    const char *name;
    const char *version;
    const char *vendor;
    /**
     * UTF-8 JSON, NUL-terminated: directions, wizard steps and fields, status checks, actions with typed
     * parameters, and HTTP routes. See sdk/schema/descriptor.schema.json.
     */
    const char *descriptor_json;

    /**
     * Called once before any other function, on a plugin thread, when the first call arrives (not at load).
     * Stores the plugin's own context in `*plugin_ctx`. It may call the host API (see each function's
     * "Calls" line), but not wait for its own functions to be called.
     * Since 1.0. Returns: APPLINKS_OK to start; any other code refuses the plugin: `*plugin_ctx` is then
     * ignored, `shutdown` is not called, and every later call fails with "init_failed", naming the code.
     */
    int32_t (*init)(const applinks_host_api *host, void *host_ctx, void **plugin_ctx);
    /** Called once when the host stops, after every other call has returned; only if `init` succeeded. Since 1.0. */
    void (*shutdown)(void *plugin_ctx);

    /**
     * Each of the following takes a JSON request and writes a JSON response to `*out`:
     *   wizard_step   {"step": "id" | null, "answers": {...}, "draft_id": "..."}
     *                 -> {"type": "fields" | "errors" | "pending" | "done", ...}
     *   check_status  {"link": {...}, "secrets": {...}}
     *                 -> {"category": "CONNECTED", "error_type": null, "message": "..."}
     *   invoke_action {"action": "id", "link": {...}, "secrets": {...}, "args": {...}}
     *                 -> {"message": "...", "output": ...}
     *   handle_http   {"method", "path", "query", "headers", "body_base64", "remote_address", "user",
     *                  "base_url"} -> {"status": 200, "headers": [...], "body_base64": "..."}
     * The JSON shapes are specified in sdk/docs/abi.md.
     *
     * Since 1.0. Calls: from the host's plugin threads, concurrently (see THREADING); `handle_http` for an
     * inline route on a request thread, where it must not block.
     * Returns: APPLINKS_OK, `*out` = the response above; APPLINKS_ERROR, `*out` = {"code": "...",
     * "message": "..."}, which the host shows the admin (a wizard step's field errors are an APPLINKS_OK
     * response of type "errors", not an error); negative, `*out` may be empty, reported as UNKNOWN.
     * Frees: the host releases a non-empty `*out` with the descriptor's `free_buffer`, from any thread.
     */
    int32_t (*wizard_step)(void *plugin_ctx, const uint8_t *request, size_t len, applinks_buffer *out);
    int32_t (*check_status)(void *plugin_ctx, const uint8_t *request, size_t len, applinks_buffer *out);
    int32_t (*invoke_action)(void *plugin_ctx, const uint8_t *request, size_t len, applinks_buffer *out);
    int32_t (*handle_http)(void *plugin_ctx, const uint8_t *request, size_t len, applinks_buffer *out);

    /** Frees a buffer that one of the functions above wrote to `*out`. */
    void (*free_buffer)(void *plugin_ctx, applinks_buffer *buffer);
} applinks_plugin_descriptor;

/**
 * The one exported symbol. `host_abi_version` is the host's APPLINKS_ABI_VERSION. Return NULL to
 * decline a host you cannot work with; otherwise return a descriptor that lives forever.
 */
typedef const applinks_plugin_descriptor *(*applinks_plugin_entry_fn)(uint32_t host_abi_version);

#if defined(__GNUC__) || defined(__clang__)
#define APPLINKS_EXPORT __attribute__((visibility("default")))
#else
#define APPLINKS_EXPORT
#endif

#ifdef __cplusplus
}
#endif

#endif /* APPLINKS_PLUGIN_H */
