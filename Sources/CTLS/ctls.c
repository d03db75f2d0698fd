#include "ctls.h"
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/tls.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

int ctls_ctx_set_min_proto_version(SSL_CTX *ctx, int version) { return (int)SSL_CTX_set_min_proto_version(ctx, version); }
int ctls_ctx_set_max_proto_version(SSL_CTX *ctx, int version) { return (int)SSL_CTX_set_max_proto_version(ctx, version); }
void ctls_ctx_set_read_ahead(SSL_CTX *ctx, int on) { SSL_CTX_set_read_ahead(ctx, on); }
long ctls_ctx_set_session_cache_off(SSL_CTX *ctx) { return SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); }
int ctls_ctx_add1_chain_cert(SSL_CTX *ctx, X509 *cert) { return (int)SSL_CTX_add1_chain_cert(ctx, cert); }

uint64_t ctls_ctx_set_server_options(SSL_CTX *ctx) {
  return SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                      SSL_OP_NO_COMPRESSION);
}
uint64_t ctls_ctx_set_client_options(SSL_CTX *ctx) {
  return SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
}
int ctls_set_tlsext_host_name(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
void ctls_set_msg_callback_arg(SSL *ssl, void *arg) { SSL_set_msg_callback_arg(ssl, arg); }
void ctls_bio_set_mem_retry_on_empty(BIO *bio) { BIO_set_mem_eof_return(bio, -1); }
size_t ctls_bio_pending(BIO *bio) { return BIO_ctrl_pending(bio); }
STACK_OF(X509) *ctls_get_peer_cert_chain(const SSL *ssl) { return SSL_get_peer_cert_chain(ssl); }
int ctls_x509_stack_count(STACK_OF(X509) *stack) { return stack ? sk_X509_num(stack) : 0; }
X509 *ctls_x509_stack_value(STACK_OF(X509) *stack, int index) { return sk_X509_value(stack, index); }

int ctls_x509_common_name(X509 *cert, char *out, int capacity) {
  X509_NAME *name = X509_get_subject_name(cert);
  if (!name) return -1;
  return X509_NAME_get_text_by_NID(name, NID_commonName, out, capacity);
}

int ctls_x509_serial_hex(X509 *cert, char *out, int capacity) {
  BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
  if (!bn) return -1;
  char *hex = BN_bn2hex(bn);
  BN_free(bn);
  if (!hex) return -1;
  int n = (int)strlen(hex);
  int result = -1;
  if (n < capacity) {
    memcpy(out, hex, (size_t)n + 1);
    result = n;
  }
  OPENSSL_free(hex);
  return result;
}

int64_t ctls_x509_serial(X509 *cert) {
  const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
  int64_t value = 0;
  if (!serial || ASN1_INTEGER_get_int64(&value, serial) != 1 || value < 0) return -1;
  return value;
}

int ctls_ctx_cert_key_match(SSL_CTX *ctx) { return SSL_CTX_check_private_key(ctx); }

int ctls_ktls_attach_ulp(int fd) {
  return setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof "tls") == 0 ? 0 : -errno;
}

int ctls_ktls_install_aes_gcm(int fd, int tx, uint16_t tlsVersion, const uint8_t *key, size_t keyBytes,
                              const uint8_t *iv, const uint8_t *salt, const uint8_t *recSeq) {
  int rc;
  if (keyBytes == 16) {
    struct tls12_crypto_info_aes_gcm_128 info;
    memset(&info, 0, sizeof info);
    info.info.version = tlsVersion;
    info.info.cipher_type = TLS_CIPHER_AES_GCM_128;
    memcpy(info.key, key, 16);
    memcpy(info.iv, iv, 8);
    memcpy(info.salt, salt, 4);
    memcpy(info.rec_seq, recSeq, 8);
    rc = setsockopt(fd, SOL_TLS, tx ? TLS_TX : TLS_RX, &info, sizeof info);
    OPENSSL_cleanse(&info, sizeof info);
  } else if (keyBytes == 32) {
    struct tls12_crypto_info_aes_gcm_256 info;
    memset(&info, 0, sizeof info);
    info.info.version = tlsVersion;
    info.info.cipher_type = TLS_CIPHER_AES_GCM_256;
    memcpy(info.key, key, 32);
    memcpy(info.iv, iv, 8);
    memcpy(info.salt, salt, 4);
    memcpy(info.rec_seq, recSeq, 8);
    rc = setsockopt(fd, SOL_TLS, tx ? TLS_TX : TLS_RX, &info, sizeof info);
    OPENSSL_cleanse(&info, sizeof info);
  } else {
    return -EINVAL;
  }
  return rc == 0 ? 0 : -errno;
}

ssize_t ctls_ktls_recv_record(int fd, void *buf, size_t len, uint8_t *recordType) {
  char control[CMSG_SPACE(sizeof(uint8_t))];
  struct iovec iov = {.iov_base = buf, .iov_len = len};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);  // called from an event loop: never wait
  if (n < 0) return -errno;
  *recordType = 23;  // no control message: application data
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_TLS && c->cmsg_type == TLS_GET_RECORD_TYPE) *recordType = *(uint8_t *)CMSG_DATA(c);
  }
  return n;
}

ssize_t ctls_ktls_send_record(int fd, const void *buf, size_t len, uint8_t recordType) {
  char control[CMSG_SPACE(sizeof(uint8_t))];
  memset(control, 0, sizeof control);
  struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_TLS;
  c->cmsg_type = TLS_SET_RECORD_TYPE;
  c->cmsg_len = CMSG_LEN(sizeof(uint8_t));
  *(uint8_t *)CMSG_DATA(c) = recordType;
  ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  return n < 0 ? -errno : n;
}

uint16_t ctls_ktls_version_tls12(void) { return TLS_1_2_VERSION; }
uint16_t ctls_ktls_version_tls13(void) { return TLS_1_3_VERSION; }
