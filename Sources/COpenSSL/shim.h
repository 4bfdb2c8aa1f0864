#ifndef APPLINKS_COPENSSL_SHIM_H
#define APPLINKS_COPENSSL_SHIM_H
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

// Macros and constants that Swift cannot import directly.
static inline long applinks_bio_get_mem_data(BIO *bio, char **out) { return BIO_get_mem_data(bio, out); }
static inline int applinks_evp_ctrl_gcm_set_ivlen(void) { return EVP_CTRL_GCM_SET_IVLEN; }
static inline int applinks_evp_ctrl_gcm_get_tag(void) { return EVP_CTRL_GCM_GET_TAG; }
static inline int applinks_evp_ctrl_gcm_set_tag(void) { return EVP_CTRL_GCM_SET_TAG; }
static inline int applinks_rsa_pkcs1_padding(void) { return RSA_PKCS1_PADDING; }

/// A keyed HMAC context for `digest` ("SHA1", "SHA256"). OpenSSL 3's one-shot HMAC() fetches the MAC and
/// the digest on every call, and setting the digest by name fetches it again; a context made once and re-keyed
/// per message avoids both. It carries an empty key, because OpenSSL duplicates only keyed HMAC contexts.
static inline EVP_MAC_CTX *applinks_hmac_context(const char *digest) {
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!mac) return NULL;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);  // the context holds its own reference
    if (!ctx) return NULL;
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    static const unsigned char empty = 0;
    if (!EVP_MAC_init(ctx, &empty, 0, params)) { EVP_MAC_CTX_free(ctx); return NULL; }
    return ctx;
}

/// One HMAC on a context from applinks_hmac_context that no other thread is using: re-keying keeps its digest.
static inline int applinks_hmac(EVP_MAC_CTX *ctx, const unsigned char *key, size_t key_len,
                                const unsigned char *data, size_t data_len, unsigned char *out, size_t *out_len, size_t out_size) {
    static const unsigned char empty = 0;
    return EVP_MAC_init(ctx, key_len ? key : &empty, key_len, NULL) && EVP_MAC_update(ctx, data, data_len)
        && EVP_MAC_final(ctx, out, out_len, out_size);
}
#endif
