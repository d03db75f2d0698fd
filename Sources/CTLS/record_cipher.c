// AES-GCM TLS record protection for the relay's own record layer (issue 15).
//
// After the handshake OpenSSL's record layer costs the relay several copies
// of every byte (memory BIO -> its read buffer -> our plaintext buffer on the
// way in; our gather buffer -> its write buffer -> memory BIO -> our send
// block on the way out). With the traffic keys in hand (the same ones kernel
// TLS gets) the worker opens records in place in its receive buffer and seals
// frames straight from their packet blocks into the send block: the only
// passes over a byte are the two AES-GCM ones. The layout and nonces are what
// kernel TLS does (RFC 8446 §5.2-5.3, RFC 5288 §3): TLS 1.3 nonce = write IV
// XOR sequence, AAD = the record header, inner content type after the
// plaintext; TLS 1.2 nonce = 4-byte salt + 8-byte explicit nonce carried in
// the record (we send the sequence number, as OpenSSL does), AAD = sequence,
// type, version, plaintext length.
#include "ctls.h"
#include <pthread.h>
#include <string.h>

enum { header_bytes = 5, tag_bytes = 16, explicit_nonce_bytes = 8 };

static void store_be64(uint8_t *out, uint64_t value) {
  for (int i = 7; i >= 0; i--) {
    out[i] = (uint8_t)value;
    value >>= 8;
  }
}

/// The nonce of record `seq`; for TLS 1.2 `explicit_nonce` (8 bytes) is the record's.
static void record_nonce(const ctls_record_cipher *rc, const uint8_t *explicit_nonce, uint8_t nonce[12]) {
  if (rc->tls13) {
    uint8_t seq[8];
    store_be64(seq, rc->seq);
    memcpy(nonce, rc->iv, 12);
    for (int i = 0; i < 8; i++) nonce[4 + i] ^= seq[i];
  } else {
    memcpy(nonce, rc->iv, 4);
    memcpy(nonce + 4, explicit_nonce, 8);
  }
}

// Fetched once per process: EVP_aes_*_gcm() are legacy handles that make
// every init look the provider implementation up again (a KeyUpdate and each
// connection's switch re-key).
static EVP_CIPHER *aes128_gcm, *aes256_gcm;
static pthread_once_t ciphers_once = PTHREAD_ONCE_INIT;

static void fetch_ciphers(void) {
  aes128_gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
  aes256_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
  ERR_clear_error();
}

int ctls_record_cipher_init(ctls_record_cipher *rc, int encrypt, int tls13, const uint8_t *key, size_t key_bytes,
                            const uint8_t *iv, size_t iv_bytes, uint64_t seq) {
  pthread_once(&ciphers_once, fetch_ciphers);
  const EVP_CIPHER *cipher = key_bytes == 16 ? aes128_gcm : key_bytes == 32 ? aes256_gcm : NULL;
  if (!cipher || iv_bytes != (tls13 ? 12u : 4u)) return 0;
  if (!rc->ctx && !(rc->ctx = EVP_CIPHER_CTX_new())) return 0;
  memset(rc->iv, 0, sizeof rc->iv);
  memcpy(rc->iv, iv, iv_bytes);
  rc->seq = seq;
  rc->tls13 = tls13;
  rc->encrypt = encrypt;
  if (EVP_CipherInit_ex(rc->ctx, cipher, NULL, key, NULL, encrypt) != 1) {
    ERR_clear_error();
    return 0;
  }
  return 1;
}

void ctls_record_cipher_free(ctls_record_cipher *rc) {
  EVP_CIPHER_CTX_free(rc->ctx);  // also wipes the expanded key
  memset(rc, 0, sizeof *rc);
}

long ctls_record_open(ctls_record_cipher *rc, uint8_t *record, size_t length, size_t *plaintext_offset,
                      uint8_t *content_type) {
  if (length < header_bytes) return -1;
  uint8_t outer_type = record[0];
  size_t body = length - header_bytes;
  if (((size_t)record[3] << 8 | record[4]) != body) return -1;
  uint8_t nonce[12];
  uint8_t *ciphertext;
  size_t ciphertext_bytes;
  uint8_t aad[13];
  size_t aad_bytes;
  if (rc->tls13) {
    // Everything after the handshake is application_data outside; the type is inside.
    if (outer_type != 23 || body < tag_bytes + 1) return -1;
    record_nonce(rc, NULL, nonce);
    ciphertext = record + header_bytes;
    ciphertext_bytes = body - tag_bytes;
    memcpy(aad, record, header_bytes);
    aad_bytes = header_bytes;
  } else {
    if (body < explicit_nonce_bytes + tag_bytes) return -1;
    record_nonce(rc, record + header_bytes, nonce);
    ciphertext = record + header_bytes + explicit_nonce_bytes;
    ciphertext_bytes = body - explicit_nonce_bytes - tag_bytes;
    store_be64(aad, rc->seq);
    aad[8] = outer_type;
    aad[9] = record[1];
    aad[10] = record[2];
    aad[11] = (uint8_t)(ciphertext_bytes >> 8);
    aad[12] = (uint8_t)ciphertext_bytes;
    aad_bytes = 13;
  }
  int n = 0;
  if (EVP_CipherInit_ex(rc->ctx, NULL, NULL, NULL, nonce, 0) != 1 ||
      EVP_CipherUpdate(rc->ctx, NULL, &n, aad, (int)aad_bytes) != 1 ||
      EVP_CipherUpdate(rc->ctx, ciphertext, &n, ciphertext, (int)ciphertext_bytes) != 1 ||
      EVP_CIPHER_CTX_ctrl(rc->ctx, EVP_CTRL_GCM_SET_TAG, tag_bytes, ciphertext + ciphertext_bytes) != 1 ||
      EVP_CipherFinal_ex(rc->ctx, ciphertext + ciphertext_bytes, &n) != 1) {
    ERR_clear_error();
    return -1;  // bad_record_mac: forged, corrupted or out of sequence
  }
  rc->seq++;
  size_t plaintext_bytes = ciphertext_bytes;
  if (rc->tls13) {
    // TLSInnerPlaintext: content, the real type, then zero padding.
    while (plaintext_bytes > 0 && ciphertext[plaintext_bytes - 1] == 0) plaintext_bytes--;
    if (plaintext_bytes == 0) return -1;  // no non-zero type byte: unexpected_message
    plaintext_bytes--;
    *content_type = ciphertext[plaintext_bytes];
  } else {
    *content_type = outer_type;
  }
  *plaintext_offset = (size_t)(ciphertext - record);
  return (long)plaintext_bytes;
}

size_t ctls_record_seal_begin(ctls_record_cipher *rc, uint8_t *out, size_t plaintext_bytes, uint8_t content_type) {
  size_t body = plaintext_bytes + tag_bytes + (rc->tls13 ? 1 : explicit_nonce_bytes);
  out[0] = rc->tls13 ? 23 : content_type;
  out[1] = 3;
  out[2] = 3;
  out[3] = (uint8_t)(body >> 8);
  out[4] = (uint8_t)body;
  uint8_t nonce[12];
  uint8_t aad[13];
  size_t aad_bytes;
  size_t written = header_bytes;
  if (rc->tls13) {
    record_nonce(rc, NULL, nonce);
    memcpy(aad, out, header_bytes);
    aad_bytes = header_bytes;
  } else {
    store_be64(out + header_bytes, rc->seq);  // the explicit nonce
    record_nonce(rc, out + header_bytes, nonce);
    written += explicit_nonce_bytes;
    store_be64(aad, rc->seq);
    aad[8] = content_type;
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = (uint8_t)(plaintext_bytes >> 8);
    aad[12] = (uint8_t)plaintext_bytes;
    aad_bytes = 13;
  }
  int n = 0;
  // Neither call can fail for a context ctls_record_cipher_init accepted.
  EVP_CipherInit_ex(rc->ctx, NULL, NULL, NULL, nonce, 1);
  EVP_CipherUpdate(rc->ctx, NULL, &n, aad, (int)aad_bytes);
  return written;
}

void ctls_record_seal_update(ctls_record_cipher *rc, uint8_t *out, const uint8_t *in, size_t count) {
  int n = 0;
  EVP_CipherUpdate(rc->ctx, out, &n, in, (int)count);
}

size_t ctls_record_seal_finish(ctls_record_cipher *rc, uint8_t *out, uint8_t content_type) {
  size_t written = 0;
  int n = 0;
  if (rc->tls13) {
    EVP_CipherUpdate(rc->ctx, out, &n, &content_type, 1);
    written = 1;
  }
  EVP_CipherFinal_ex(rc->ctx, out + written, &n);
  EVP_CIPHER_CTX_ctrl(rc->ctx, EVP_CTRL_GCM_GET_TAG, tag_bytes, out + written);
  rc->seq++;
  return written + tag_bytes;
}
