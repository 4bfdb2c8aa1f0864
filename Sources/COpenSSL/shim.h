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

/// HMAC through a pre-fetched EVP_MAC: OpenSSL 3's one-shot HMAC() fetches the implementation on every call.
static inline int applinks_hmac(EVP_MAC *mac, const char *digest, const unsigned char *key, size_t key_len,
                                const unsigned char *data, size_t data_len, unsigned char *out, size_t *out_len, size_t out_size) {
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    if (!ctx) return 0;
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    static const unsigned char empty = 0;
    int ok = EVP_MAC_init(ctx, key_len ? key : &empty, key_len, params) && EVP_MAC_update(ctx, data, data_len)
        && EVP_MAC_final(ctx, out, out_len, out_size);
    EVP_MAC_CTX_free(ctx);
    return ok;
}
#endif
