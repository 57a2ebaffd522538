#ifndef HOMETOWN_COPENSSL_SHIM_H
#define HOMETOWN_COPENSSL_SHIM_H
#include <openssl/sha.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#ifndef HOMETOWN_COPENSSL_TLS_HELPERS
#define HOMETOWN_COPENSSL_TLS_HELPERS
// Macros Swift cannot import, as functions.
static inline int hometown_ssl_ctx_set_min_tls12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}
static inline long hometown_ssl_ctx_release_buffers(SSL_CTX *ctx) {
    // Idle TLS connections give back their 16 KiB-class record buffers.
    return SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}
#endif
#endif
