#include "ctls_acme.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <openssl/core_names.h>

EVP_PKEY *ctls_acme_ec_p256_generate(void) { return EVP_EC_gen("P-256"); }

static int bn_param_32(EVP_PKEY *key, const char *name, uint8_t out[32]) {
  BIGNUM *bn = NULL;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return 0;
  int ok = BN_bn2binpad(bn, out, 32) == 32;
  BN_free(bn);
  return ok;
}

int ctls_acme_ec_public_xy(EVP_PKEY *key, uint8_t x[32], uint8_t y[32]) {
  return bn_param_32(key, OSSL_PKEY_PARAM_EC_PUB_X, x) && bn_param_32(key, OSSL_PKEY_PARAM_EC_PUB_Y, y);
}

int ctls_acme_es256_sign(EVP_PKEY *key, const uint8_t *data, size_t length, uint8_t signature[64]) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md) return 0;
  unsigned char der[128];
  size_t derLength = sizeof der;
  int ok = EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
           EVP_DigestSign(md, der, &derLength, data, length) == 1;
  EVP_MD_CTX_free(md);
  if (!ok) return 0;
  // JWS wants the two integers side by side, not OpenSSL's DER SEQUENCE.
  const unsigned char *cursor = der;
  ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &cursor, (long)derLength);
  if (!sig) return 0;
  const BIGNUM *r = NULL, *s = NULL;
  ECDSA_SIG_get0(sig, &r, &s);
  ok = BN_bn2binpad(r, signature, 32) == 32 && BN_bn2binpad(s, signature + 32, 32) == 32;
  ECDSA_SIG_free(sig);
  return ok;
}

int ctls_acme_hmac_sha256(const uint8_t *key, size_t keyLength, const uint8_t *data, size_t length, uint8_t out[32]) {
  unsigned int outLength = 0;
  return HMAC(EVP_sha256(), key, (int)keyLength, data, length, out, &outLength) != NULL && outLength == 32;
}

int ctls_acme_sha256(const uint8_t *data, size_t length, uint8_t out[32]) {
  return EVP_Digest(data, length, out, NULL, EVP_sha256(), NULL) == 1;
}

static char *copy_bio(BIO *bio, size_t *length) {
  char *data = NULL;
  long n = BIO_get_mem_data(bio, &data);
  if (n <= 0) return NULL;
  char *out = malloc((size_t)n);
  if (!out) return NULL;
  memcpy(out, data, (size_t)n);
  *length = (size_t)n;
  return out;
}

char *ctls_acme_private_key_pem(EVP_PKEY *key, size_t *length) {
  BIO *bio = BIO_new(BIO_s_mem());
  if (!bio) return NULL;
  char *out = NULL;
  if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1) out = copy_bio(bio, length);
  BIO_free(bio);
  return out;
}


uint8_t *ctls_acme_csr_der(EVP_PKEY *key, const char *commonName, const char *altNames, size_t *length) {
  X509_REQ *req = X509_REQ_new();
  if (!req) return NULL;
  uint8_t *out = NULL;
  STACK_OF(X509_EXTENSION) *extensions = sk_X509_EXTENSION_new_null();
  X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, altNames);
  int ok = extensions && san && X509_REQ_set_version(req, 0) == 1 && X509_REQ_set_pubkey(req, key) == 1;
  if (ok && commonName) {
    X509_NAME *name = X509_REQ_get_subject_name(req);
    ok = X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8, (const unsigned char *)commonName, -1, -1, 0) == 1;
  }
  ok = ok && sk_X509_EXTENSION_push(extensions, san) > 0;
  if (ok) san = NULL;  // the stack owns it now
  ok = ok && X509_REQ_add_extensions(req, extensions) == 1 && X509_REQ_sign(req, key, EVP_sha256()) > 0;
  if (ok) {
    unsigned char *der = NULL;
    int n = i2d_X509_REQ(req, &der);
    if (n > 0 && (out = malloc((size_t)n)) != NULL) {
      memcpy(out, der, (size_t)n);
      *length = (size_t)n;
    }
    OPENSSL_free(der);
  }
  X509_EXTENSION_free(san);
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  X509_REQ_free(req);
  return out;
}

static int add_acme_identifier(X509 *cert, const uint8_t digest[32]) {
  // extnValue = OCTET STRING (DER of OCTET STRING (digest)), RFC 8737 §3.
  int ok = 0;
  ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  ASN1_OCTET_STRING *inner = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING *outer = ASN1_OCTET_STRING_new();
  unsigned char *der = NULL;
  X509_EXTENSION *extension = NULL;
  if (oid && inner && outer && ASN1_OCTET_STRING_set(inner, digest, 32) == 1) {
    int n = i2d_ASN1_OCTET_STRING(inner, &der);
    if (n > 0 && ASN1_OCTET_STRING_set(outer, der, n) == 1) {
      extension = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, outer);
      ok = extension && X509_add_ext(cert, extension, -1) == 1;
    }
  }
  X509_EXTENSION_free(extension);
  OPENSSL_free(der);
  ASN1_OCTET_STRING_free(outer);
  ASN1_OCTET_STRING_free(inner);
  ASN1_OBJECT_free(oid);
  return ok;
}

X509 *ctls_acme_alpn_challenge_certificate(EVP_PKEY *key, const char *altName, const uint8_t digest[32]) {
  X509 *cert = X509_new();
  if (!cert) return NULL;
  uint8_t serial[8];
  X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, altName);
  int ok = san && RAND_bytes(serial, sizeof serial) == 1;
  if (ok) {
    serial[0] &= 0x7f;  // positive
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
  }
  const long week = 7L * 24 * 3600;
  X509_NAME *name = X509_get_subject_name(cert);
  ok = ok && X509_set_version(cert, 2) == 1 && X509_gmtime_adj(X509_getm_notBefore(cert), -week) != NULL &&
       X509_gmtime_adj(X509_getm_notAfter(cert), week) != NULL && X509_set_pubkey(cert, key) == 1 &&
       X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8, (const unsigned char *)"ACME challenge", -1,
                                  -1, 0) == 1 &&
       X509_set_issuer_name(cert, name) == 1 && X509_add_ext(cert, san, -1) == 1 &&
       add_acme_identifier(cert, digest) && X509_sign(cert, key, EVP_sha256()) > 0;
  X509_EXTENSION_free(san);
  if (!ok) {
    X509_free(cert);
    return NULL;
  }
  return cert;
}

int ctls_acme_certificate_names_host(X509 *cert, const char *host) {
  return X509_check_host(cert, host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
}

int ctls_acme_certificate_names_ip(X509 *cert, const char *ip) { return X509_check_ip_asc(cert, ip, 0) == 1; }


// ---- challenge table ----

typedef struct challenge_entry {
  struct challenge_entry *next;
  char *name;
  X509 *cert;
  EVP_PKEY *key;
} challenge_entry;

struct ctls_acme_challenges {
  pthread_mutex_t lock;
  challenge_entry *entries;
  uint64_t answered;
  uint64_t refused;
};

ctls_acme_challenges *ctls_acme_challenges_new(void) {
  ctls_acme_challenges *table = calloc(1, sizeof *table);
  if (table) pthread_mutex_init(&table->lock, NULL);
  return table;
}

static void free_entry(challenge_entry *entry) {
  X509_free(entry->cert);
  EVP_PKEY_free(entry->key);
  free(entry->name);
  free(entry);
}

void ctls_acme_challenges_free(ctls_acme_challenges *table) {
  if (!table) return;
  for (challenge_entry *e = table->entries; e;) {
    challenge_entry *next = e->next;
    free_entry(e);
    e = next;
  }
  pthread_mutex_destroy(&table->lock);
  free(table);
}

int ctls_acme_challenges_put(ctls_acme_challenges *table, const char *name, X509 *cert, EVP_PKEY *key) {
  challenge_entry *entry = calloc(1, sizeof *entry);
  if (!entry) return 0;
  entry->name = strdup(name);
  if (!entry->name || X509_up_ref(cert) != 1) {
    free(entry->name);
    free(entry);
    return 0;
  }
  entry->cert = cert;
  if (EVP_PKEY_up_ref(key) != 1) {
    X509_free(cert);
    free(entry->name);
    free(entry);
    return 0;
  }
  entry->key = key;
  ctls_acme_challenges_remove(table, name);
  pthread_mutex_lock(&table->lock);
  entry->next = table->entries;
  table->entries = entry;
  pthread_mutex_unlock(&table->lock);
  return 1;
}

void ctls_acme_challenges_remove(ctls_acme_challenges *table, const char *name) {
  pthread_mutex_lock(&table->lock);
  for (challenge_entry **link = &table->entries; *link; link = &(*link)->next) {
    if (strcmp((*link)->name, name) == 0) {
      challenge_entry *gone = *link;
      *link = gone->next;
      free_entry(gone);
      break;
    }
  }
  pthread_mutex_unlock(&table->lock);
}

uint64_t ctls_acme_challenges_answered(ctls_acme_challenges *table) {
  pthread_mutex_lock(&table->lock);
  uint64_t n = table->answered;
  pthread_mutex_unlock(&table->lock);
  return n;
}

uint64_t ctls_acme_challenges_refused(ctls_acme_challenges *table) {
  pthread_mutex_lock(&table->lock);
  uint64_t n = table->refused;
  pthread_mutex_unlock(&table->lock);
  return n;
}

static const unsigned char acme_tls_1[] = "acme-tls/1";
#define ACME_TLS_1_LENGTH 10

/// Finds acme-tls/1 in a ProtocolNameList (ALPN wire form, without its length prefix).
static const unsigned char *find_acme_protocol(const unsigned char *list, size_t length) {
  size_t i = 0;
  while (i < length) {
    size_t n = list[i];
    if (i + 1 + n > length) return NULL;
    if (n == ACME_TLS_1_LENGTH && memcmp(list + i + 1, acme_tls_1, n) == 0) return list + i + 1;
    i += 1 + n;
  }
  return NULL;
}

/// The host_name from a server_name extension body, lower-cased into `out`.
static int sni_host_name(const unsigned char *ext, size_t length, char *out, size_t capacity) {
  if (length < 2) return 0;
  size_t listLength = ((size_t)ext[0] << 8) | ext[1];
  if (listLength + 2 > length) return 0;
  size_t i = 2;
  while (i + 3 <= 2 + listLength) {
    unsigned type = ext[i];
    size_t n = ((size_t)ext[i + 1] << 8) | ext[i + 2];
    if (i + 3 + n > 2 + listLength) return 0;
    if (type == 0) {
      if (n == 0 || n >= capacity) return 0;
      for (size_t k = 0; k < n; k++) {
        unsigned char c = ext[i + 3 + k];
        out[k] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
      }
      out[n] = 0;
      return 1;
    }
    i += 3 + n;
  }
  return 0;
}

static int client_hello_callback(SSL *ssl, int *alert, void *arg) {
  ctls_acme_challenges *table = arg;
  const unsigned char *alpn = NULL;
  size_t alpnLength = 0;
  // Ordinary clients (no ALPN, or no acme-tls/1 in it) leave here untouched.
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &alpn, &alpnLength) != 1 ||
      alpnLength < 2 || !find_acme_protocol(alpn + 2, alpnLength - 2))
    return SSL_CLIENT_HELLO_SUCCESS;
  const unsigned char *sni = NULL;
  size_t sniLength = 0;
  char name[256];
  int named = SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &sni, &sniLength) == 1 &&
              sni_host_name(sni, sniLength, name, sizeof name);
  pthread_mutex_lock(&table->lock);
  challenge_entry *found = NULL;
  for (challenge_entry *e = table->entries; named && e; e = e->next) {
    if (strcmp(e->name, name) == 0) {
      found = e;
      break;
    }
  }
  int ok = 0;
  if (found) {
    // Only the challenge certificate: no relay certificate, no chain, no meta certificate.
    SSL_certs_clear(ssl);
    ok = SSL_use_certificate(ssl, found->cert) == 1 && SSL_use_PrivateKey(ssl, found->key) == 1;
  }
  if (ok) table->answered++; else table->refused++;
  pthread_mutex_unlock(&table->lock);
  if (ok) return SSL_CLIENT_HELLO_SUCCESS;
  *alert = SSL_AD_UNRECOGNIZED_NAME;
  return SSL_CLIENT_HELLO_ERROR;
}

static int alpn_select_callback(SSL *ssl, const unsigned char **out, unsigned char *outLength, const unsigned char *in,
                                unsigned int inLength, void *arg) {
  (void)ssl; (void)arg;
  const unsigned char *acme = find_acme_protocol(in, inLength);
  if (!acme) return SSL_TLSEXT_ERR_NOACK;  // DERP needs no ALPN: carry on without one
  *out = acme;
  *outLength = ACME_TLS_1_LENGTH;
  return SSL_TLSEXT_ERR_OK;
}

void ctls_acme_install(SSL_CTX *ctx, ctls_acme_challenges *table) {
  SSL_CTX_set_client_hello_cb(ctx, client_hello_callback, table);
  SSL_CTX_set_alpn_select_cb(ctx, alpn_select_callback, table);
}
