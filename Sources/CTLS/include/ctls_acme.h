// ACME (RFC 8555, 8737, 8738) crypto on OpenSSL for Swift: P-256 account and
// certificate keys, ES256 and HS256 for JWS, CSRs, the TLS-ALPN-01 challenge
// certificate, and the relay-side hooks that answer `acme-tls/1` handshakes.
// OpenSSL does every ASN.1 encoding; these functions only wire its calls.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/// A new P-256 key, or NULL.
EVP_PKEY *ctls_acme_ec_p256_generate(void);
/// The uncompressed public point's coordinates (32 bytes each). 1 or 0.
int ctls_acme_ec_public_xy(EVP_PKEY *key, uint8_t x[32], uint8_t y[32]);
/// ECDSA P-256 with SHA-256 over `data`, as JWS wants it (r || s, 64 bytes). 1 or 0.
int ctls_acme_es256_sign(EVP_PKEY *key, const uint8_t *data, size_t length, uint8_t signature[64]);
/// HMAC-SHA-256. 1 or 0.
int ctls_acme_hmac_sha256(const uint8_t *key, size_t keyLength, const uint8_t *data, size_t length, uint8_t out[32]);
/// SHA-256. 1 or 0.
int ctls_acme_sha256(const uint8_t *data, size_t length, uint8_t out[32]);
/// PEM (PKCS#8) of a private key into a new malloc'd buffer the caller frees (free()); NULL on failure.
char *ctls_acme_private_key_pem(EVP_PKEY *key, size_t *length);

/// A DER PKCS#10 request signed by `key` whose subjectAltName is `altNames`
/// (OpenSSL's "DNS:a.example,IP:192.0.2.1" form) and whose CN is `commonName`
/// (NULL for none). New malloc'd buffer the caller frees (free()); NULL on failure.
uint8_t *ctls_acme_csr_der(EVP_PKEY *key, const char *commonName, const char *altNames, size_t *length);

/// RFC 8737 §3: a self-signed certificate for `altName` ("DNS:name" or "IP:addr")
/// with the critical id-pe-acmeIdentifier extension holding `digest` (SHA-256 of
/// the key authorization). Valid for a week either side of now. NULL on failure.
X509 *ctls_acme_alpn_challenge_certificate(EVP_PKEY *key, const char *altName, const uint8_t digest[32]);

/// Whether a certificate names `host` (DNS) or `ip` (literal). 1 or 0.
int ctls_acme_certificate_names_host(X509 *cert, const char *host);
int ctls_acme_certificate_names_ip(X509 *cert, const char *ip);

// ---- the challenge table the relay's TLS port answers from ----
typedef struct ctls_acme_challenges ctls_acme_challenges;
ctls_acme_challenges *ctls_acme_challenges_new(void);
void ctls_acme_challenges_free(ctls_acme_challenges *table);
/// Adds or replaces the certificate answered for SNI `name` (lower case; an IP
/// identifier's reverse-DNS name per RFC 8738 §6). Takes references. 1 or 0.
int ctls_acme_challenges_put(ctls_acme_challenges *table, const char *name, X509 *cert, EVP_PKEY *key);
void ctls_acme_challenges_remove(ctls_acme_challenges *table, const char *name);
/// Number of handshakes answered with a challenge certificate, and refused
/// (acme-tls/1 offered for a name with no pending challenge).
uint64_t ctls_acme_challenges_answered(ctls_acme_challenges *table);
uint64_t ctls_acme_challenges_refused(ctls_acme_challenges *table);
/// Installs the client-hello and ALPN callbacks on `ctx`: a handshake offering
/// `acme-tls/1` gets the table's certificate for its SNI (or fails); every
/// other handshake is untouched. `table` must outlive `ctx`'s sessions.
void ctls_acme_install(SSL_CTX *ctx, ctls_acme_challenges *table);
