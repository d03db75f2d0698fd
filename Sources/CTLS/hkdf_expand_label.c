// HKDF-Expand-Label (RFC 8446 §7.1) for traffic keys and KeyUpdate.
//
// Building an EVP_PKEY_CTX (or fetching a KDF or MAC by name) per call makes
// OpenSSL search its provider tables every time: OPENSSL_LH_doall_arg was
// the top libcrypto symbol of the tls-record-layer fuzz target. OpenSSL 3.0's
// HKDF cannot be duplicated, its HMAC can: the two digests TLS 1.3 uses get
// one HMAC context each, fetched and set once per process, and HKDF-Expand
// (RFC 5869 §2.3) runs on a duplicate keyed with the secret.
#include "ctls.h"
#include <pthread.h>
#include <string.h>

static EVP_MAC_CTX *sha256_template, *sha384_template;
static pthread_once_t templates_once = PTHREAD_ONCE_INIT;

static EVP_MAC_CTX *make_template(const char *digest) {
  EVP_MAC *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
  if (!mac) return NULL;
  EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context holds its own reference
  if (!ctx) return NULL;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_CTX_set_params(ctx, params) != 1) {
    EVP_MAC_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

static void make_templates(void) {
  sha256_template = make_template("SHA256");
  sha384_template = make_template("SHA384");
  ERR_clear_error();
}

/// T(1) ‖ T(2) ‖ … with T(i) = HMAC(prk, T(i-1) ‖ info ‖ i), cut to out_bytes.
/// (OpenSSL 3.0's HMAC reports its size only once keyed, so the caller says it.)
static int hkdf_expand(EVP_MAC_CTX *mac, size_t hash_bytes, const uint8_t *prk, size_t prk_bytes,
                       const uint8_t *info, size_t info_bytes, uint8_t *out, size_t out_bytes) {
  uint8_t block[EVP_MAX_MD_SIZE];
  size_t block_bytes = 0;
  if (hash_bytes == 0 || hash_bytes > sizeof block || out_bytes > 255 * hash_bytes) return 0;
  for (uint8_t counter = 1; out_bytes > 0; counter++) {
    size_t written = 0;
    if (EVP_MAC_init(mac, prk, prk_bytes, NULL) != 1 || EVP_MAC_update(mac, block, block_bytes) != 1 ||
        EVP_MAC_update(mac, info, info_bytes) != 1 || EVP_MAC_update(mac, &counter, 1) != 1 ||
        EVP_MAC_final(mac, block, &written, sizeof block) != 1 || written != hash_bytes) {
      OPENSSL_cleanse(block, sizeof block);
      return 0;
    }
    block_bytes = written;
    size_t take = out_bytes < written ? out_bytes : written;
    memcpy(out, block, take);
    out += take;
    out_bytes -= take;
  }
  OPENSSL_cleanse(block, sizeof block);
  return 1;
}

int ctls_hkdf_expand_label(int sha384, const uint8_t *secret, size_t secret_bytes, const char *label,
                           uint8_t *out, size_t out_bytes) {
  static const char prefix[] = "tls13 ";
  size_t label_bytes = strlen(label);
  size_t full_label_bytes = sizeof prefix - 1 + label_bytes;
  if (full_label_bytes > 255 || out_bytes > 0xffff || secret_bytes == 0) return 0;
  // HkdfLabel: uint16 length, opaque label<7..255>, opaque context<0..255> (empty).
  uint8_t info[2 + 1 + 255 + 1];
  size_t info_bytes = 0;
  info[info_bytes++] = (uint8_t)(out_bytes >> 8);
  info[info_bytes++] = (uint8_t)out_bytes;
  info[info_bytes++] = (uint8_t)full_label_bytes;
  memcpy(info + info_bytes, prefix, sizeof prefix - 1);
  info_bytes += sizeof prefix - 1;
  memcpy(info + info_bytes, label, label_bytes);
  info_bytes += label_bytes;
  info[info_bytes++] = 0;

  pthread_once(&templates_once, make_templates);
  EVP_MAC_CTX *template = sha384 ? sha384_template : sha256_template;
  EVP_MAC_CTX *mac = template ? EVP_MAC_CTX_dup(template) : NULL;
  if (!mac) {
    ERR_clear_error();
    return 0;
  }
  int ok = hkdf_expand(mac, sha384 ? 48 : 32, secret, secret_bytes, info, info_bytes, out, out_bytes);
  EVP_MAC_CTX_free(mac);  // also wipes the keyed state
  if (!ok) ERR_clear_error();
  return ok;
}
