// OpenSSL 3.0 for Swift: the library headers plus one-line wrappers for the
// macros Swift cannot import, and the kernel TLS (kTLS) socket options.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/rand.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>

// ---- OpenSSL macros (SSL_ctrl / BIO_ctrl behind the scenes) ----
int ctls_ctx_set_min_proto_version(SSL_CTX *ctx, int version);
int ctls_ctx_set_max_proto_version(SSL_CTX *ctx, int version);
void ctls_ctx_set_read_ahead(SSL_CTX *ctx, int on);
long ctls_ctx_set_session_cache_off(SSL_CTX *ctx);
/// Appends `cert` (reference taken) to the chain of the context's current certificate.
int ctls_ctx_add1_chain_cert(SSL_CTX *ctx, X509 *cert);
/// No session tickets, no renegotiation, server cipher order.
uint64_t ctls_ctx_set_server_options(SSL_CTX *ctx);
uint64_t ctls_ctx_set_client_options(SSL_CTX *ctx);
int ctls_set_tlsext_host_name(SSL *ssl, const char *name);
void ctls_set_msg_callback_arg(SSL *ssl, void *arg);
/// `BIO_set_mem_eof_return(bio, -1)`: an empty memory BIO means "retry", not EOF.
void ctls_bio_set_mem_retry_on_empty(BIO *bio);
size_t ctls_bio_pending(BIO *bio);
/// A byte-FIFO BIO (fifo_bio.c): BIO_s_mem semantics with retry on empty, no
/// zero-filling, and lendable input. NULL when out of memory.
BIO *ctls_fifo_bio_new(void);
/// Makes `count` bytes at `bytes` readable after the buffered ones, without copying.
void ctls_fifo_bio_lend(BIO *bio, const void *bytes, size_t count);
/// Copies the unread rest of lent bytes into the BIO (call before reusing them). 0 when out of memory.
int ctls_fifo_bio_take_back(BIO *bio);
/// Frees an empty FIFO's storage (it grows again on the next write). 0 when bytes are buffered.
int ctls_fifo_bio_release_storage(BIO *bio);
/// The certificate chain the peer sent (leaf first on the client side); not owned.
STACK_OF(X509) *ctls_get_peer_cert_chain(const SSL *ssl);
int ctls_x509_stack_count(STACK_OF(X509) *stack);
X509 *ctls_x509_stack_value(STACK_OF(X509) *stack, int index);
/// X509 subject common name into `out` (NUL-terminated); returns its length or -1.
int ctls_x509_common_name(X509 *cert, char *out, int capacity);
/// Serial number as upper-case hex into `out` (NUL-terminated). Length or -1.
int ctls_x509_serial_hex(X509 *cert, char *out, int capacity);
/// Serial number as a small integer; -1 when it is negative or does not fit 63 bits.
int64_t ctls_x509_serial(X509 *cert);
/// 1 when the private key matches the certificate (SSL_CTX_check_private_key).
int ctls_ctx_cert_key_match(SSL_CTX *ctx);

// ---- kernel TLS (linux/tls.h): setsockopt helpers ----
/// SOL_TCP TCP_ULP "tls". 0 or -errno.
int ctls_ktls_attach_ulp(int fd);
/// SOL_TLS TLS_TX (tx != 0) or TLS_RX with an AES-GCM key of 16 or 32 bytes.
/// `tlsVersion` is 0x0303 or 0x0304; `iv` 8 bytes, `salt` 4, `recSeq` 8 big-endian.
/// 0 or -errno (-EINVAL for a bad key length).
int ctls_ktls_install_aes_gcm(int fd, int tx, uint16_t tlsVersion, const uint8_t *key, size_t keyBytes,
                              const uint8_t *iv, const uint8_t *salt, const uint8_t *recSeq);
/// recvmsg with a TLS_GET_RECORD_TYPE control message: reads one record's
/// plaintext into buf and stores its content type (23 data, 21 alert, 22
/// handshake) in *recordType. Non-blocking. Returns bytes read, 0 at EOF, or -errno.
ssize_t ctls_ktls_recv_record(int fd, void *buf, size_t len, uint8_t *recordType);
/// sendmsg with TLS_SET_RECORD_TYPE: sends one record of `recordType`, non-blocking. Bytes sent or -errno.
ssize_t ctls_ktls_send_record(int fd, const void *buf, size_t len, uint8_t recordType);
/// The kernel's number for TLS 1.2 / 1.3 in crypto_info.version.
uint16_t ctls_ktls_version_tls12(void);
uint16_t ctls_ktls_version_tls13(void);

// ---- HKDF-Expand-Label of RFC 8446 §7.1 with an empty context (hkdf_expand_label.c) ----
/// Writes `out_bytes` of HKDF-Expand-Label(secret, label, "", out_bytes) with
/// SHA-384 (`sha384` != 0) or SHA-256; `label` is without the "tls13 "
/// prefix. 1 on success.
int ctls_hkdf_expand_label(int sha384, const uint8_t *secret, size_t secret_bytes, const char *label,
                           uint8_t *out, size_t out_bytes);

// ---- the relay's own AES-GCM record layer (record_cipher.c) ----
/// One direction's record protection: an AES-GCM context keyed once, the
/// fixed IV (TLS 1.3: 12-byte write IV; TLS 1.2: 4-byte salt) and the next
/// sequence number. Zero it before the first init.
typedef struct ctls_record_cipher {
  EVP_CIPHER_CTX *ctx;
  uint8_t iv[12];
  uint64_t seq;
  int tls13;
  int encrypt;
} ctls_record_cipher;
/// Keys `rc` (16- or 32-byte key; iv 12 bytes for TLS 1.3, 4 for 1.2). 1 on success.
int ctls_record_cipher_init(ctls_record_cipher *rc, int encrypt, int tls13, const uint8_t *key, size_t key_bytes,
                            const uint8_t *iv, size_t iv_bytes, uint64_t seq);
void ctls_record_cipher_free(ctls_record_cipher *rc);
/// Decrypts one whole record (`length` = 5-byte header + body) in place.
/// Returns the plaintext length (the plaintext starts at `*plaintext_offset`
/// and `*content_type` is its real type), or -1 when the record is malformed
/// or fails authentication.
long ctls_record_open(ctls_record_cipher *rc, uint8_t *record, size_t length, size_t *plaintext_offset,
                      uint8_t *content_type);
/// Starts a record of `plaintext_bytes` at `out`: writes the header (and
/// TLS 1.2's explicit nonce) and returns their length; then feed exactly
/// that much plaintext with seal_update and end with seal_finish.
size_t ctls_record_seal_begin(ctls_record_cipher *rc, uint8_t *out, size_t plaintext_bytes, uint8_t content_type);
/// Encrypts `count` bytes from `in` to `out` (may be the same place).
void ctls_record_seal_update(ctls_record_cipher *rc, uint8_t *out, const uint8_t *in, size_t count);
/// Writes the TLS 1.3 inner type byte and the tag at `out`; returns how many bytes.
size_t ctls_record_seal_finish(ctls_record_cipher *rc, uint8_t *out, uint8_t content_type);
