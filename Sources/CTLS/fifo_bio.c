// A byte-FIFO BIO for the relay's memory-driven TLS sessions (issue 15).
//
// It behaves like BIO_s_mem with BIO_set_mem_eof_return(-1) (writes append,
// reads consume, an empty read asks to retry, BIO_ctrl_pending counts what is
// buffered) without BIO_s_mem's two costs on every byte: BUF_MEM_grow_clean
// zero-fills each newly written byte (a full memset pass over all TLS
// traffic, ~10 % of the relay's user-space instructions with TLS), and
// consuming memmoves what is left. Here consuming moves an offset, and the
// storage is compacted only when a write needs the room.
//
// Input can also be lent instead of copied: `ctls_fifo_bio_lend` makes a
// caller's bytes (a receive buffer) readable after the owned ones, and
// `ctls_fifo_bio_take_back` copies whatever OpenSSL did not read into owned
// storage before the caller reuses its buffer. Decrypting straight out of the
// receive buffer saves a copy of every received byte.
#include "ctls.h"
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

typedef struct {
  unsigned char *data;
  size_t start, end, capacity;
  const unsigned char *lent;
  size_t lentLeft;
} ctls_fifo;

static size_t fifo_owned(const ctls_fifo *f) { return f->end - f->start; }

/// Makes room for `need` more owned bytes. 0 on success, -1 when out of memory.
static int fifo_reserve(ctls_fifo *f, size_t need) {
  if (f->capacity - f->end >= need) return 0;
  size_t live = fifo_owned(f);
  if (f->capacity - live >= need) {
    memmove(f->data, f->data + f->start, live);
  } else {
    size_t capacity = f->capacity ? f->capacity : 16384;
    while (capacity - live < need) capacity *= 2;
    unsigned char *grown = malloc(capacity);
    if (!grown) return -1;
    if (live) memcpy(grown, f->data + f->start, live);
    free(f->data);
    f->data = grown;
    f->capacity = capacity;
  }
  f->start = 0;
  f->end = live;
  return 0;
}

static int fifo_append(ctls_fifo *f, const void *bytes, size_t count) {
  if (fifo_reserve(f, count) != 0) return -1;
  memcpy(f->data + f->end, bytes, count);
  f->end += count;
  return 0;
}

int ctls_fifo_bio_take_back(BIO *bio) {
  ctls_fifo *f = BIO_get_data(bio);
  if (!f->lent) return 1;
  int rc = f->lentLeft ? fifo_append(f, f->lent, f->lentLeft) : 0;
  f->lent = NULL;
  f->lentLeft = 0;
  return rc == 0;
}

int ctls_fifo_bio_release_storage(BIO *bio) {
  ctls_fifo *f = BIO_get_data(bio);
  if (fifo_owned(f) || f->lentLeft) return 0;
  free(f->data);
  f->data = NULL;
  f->start = f->end = f->capacity = 0;
  return 1;
}

void ctls_fifo_bio_lend(BIO *bio, const void *bytes, size_t count) {
  ctls_fifo *f = BIO_get_data(bio);
  f->lent = bytes;
  f->lentLeft = count;
}

static int fifo_write(BIO *bio, const char *in, int length) {
  BIO_clear_retry_flags(bio);
  if (length <= 0) return 0;
  ctls_fifo *f = BIO_get_data(bio);
  // Written bytes go after lent ones: take those back first to keep the order.
  if (f->lent && !ctls_fifo_bio_take_back(bio)) return -1;
  return fifo_append(f, in, (size_t)length) == 0 ? length : -1;
}

static int fifo_read(BIO *bio, char *out, int length) {
  BIO_clear_retry_flags(bio);
  if (length <= 0) return 0;
  ctls_fifo *f = BIO_get_data(bio);
  size_t want = (size_t)length;
  size_t done = 0;
  size_t owned = fifo_owned(f);
  if (owned) {
    size_t n = owned < want ? owned : want;
    memcpy(out, f->data + f->start, n);
    f->start += n;
    if (f->start == f->end) f->start = f->end = 0;
    done = n;
  }
  if (done < want && f->lentLeft) {
    size_t n = f->lentLeft < want - done ? f->lentLeft : want - done;
    memcpy(out + done, f->lent, n);
    f->lent += n;
    f->lentLeft -= n;
    done += n;
  }
  if (done == 0) {
    BIO_set_retry_read(bio);
    return -1;
  }
  return (int)done;
}

static long fifo_ctrl(BIO *bio, int cmd, long num, void *ptr) {
  (void)num;
  (void)ptr;
  ctls_fifo *f = BIO_get_data(bio);
  switch (cmd) {
  case BIO_CTRL_PENDING: return (long)(fifo_owned(f) + f->lentLeft);
  case BIO_CTRL_EOF: return fifo_owned(f) + f->lentLeft == 0;
  case BIO_CTRL_WPENDING: return 0;
  case BIO_CTRL_FLUSH: return 1;
  case BIO_CTRL_RESET:
    f->start = f->end = 0;
    f->lent = NULL;
    f->lentLeft = 0;
    return 1;
  default: return 0;
  }
}

static int fifo_create(BIO *bio) {
  ctls_fifo *f = calloc(1, sizeof(ctls_fifo));
  if (!f) return 0;
  BIO_set_data(bio, f);
  BIO_set_init(bio, 1);
  return 1;
}

static int fifo_destroy(BIO *bio) {
  ctls_fifo *f = BIO_get_data(bio);
  if (f) {
    free(f->data);
    free(f);
  }
  BIO_set_data(bio, NULL);
  return 1;
}

static BIO_METHOD *fifo_method;
static pthread_once_t fifo_method_once = PTHREAD_ONCE_INIT;

static void fifo_method_init(void) {
  BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "hyper-derp fifo");
  if (!m) return;
  if (!BIO_meth_set_write(m, fifo_write) || !BIO_meth_set_read(m, fifo_read) || !BIO_meth_set_ctrl(m, fifo_ctrl) ||
      !BIO_meth_set_create(m, fifo_create) || !BIO_meth_set_destroy(m, fifo_destroy)) {
    BIO_meth_free(m);
    return;
  }
  fifo_method = m;
}

BIO *ctls_fifo_bio_new(void) {
  pthread_once(&fifo_method_once, fifo_method_init);
  return fifo_method ? BIO_new(fifo_method) : NULL;
}
