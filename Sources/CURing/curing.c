#include "curing.h"
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/eventfd.h>

int hd_ring_init(struct io_uring *ring, unsigned entries, unsigned flags, unsigned sq_thread_idle_ms) {
  struct io_uring_params p;
  memset(&p, 0, sizeof(p));
  p.flags = flags;
  p.sq_thread_idle = sq_thread_idle_ms;
  return io_uring_queue_init_params(entries, ring, &p);
}

unsigned hd_ring_flags(const struct io_uring *ring) { return ring->flags; }

int hd_submit_and_wait_ns(struct io_uring *ring, long long timeout_ns) {
  struct __kernel_timespec ts;
  ts.tv_sec = timeout_ns / 1000000000LL;
  ts.tv_nsec = timeout_ns % 1000000000LL;
  struct io_uring_cqe *cqe = NULL;
  return io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, NULL);
}

struct io_uring_buf_ring *hd_buf_ring_setup(struct io_uring *ring, unsigned entries, int bgid, int *err) {
  size_t bytes = (size_t)entries * sizeof(struct io_uring_buf);
  void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    *err = -errno;
    return NULL;
  }
  struct io_uring_buf_ring *br = (struct io_uring_buf_ring *)mem;
  io_uring_buf_ring_init(br);
  struct io_uring_buf_reg reg;
  memset(&reg, 0, sizeof(reg));
  reg.ring_addr = (unsigned long)mem;
  reg.ring_entries = entries;
  reg.bgid = (unsigned short)bgid;
  int rc = io_uring_register_buf_ring(ring, &reg, 0);
  if (rc != 0) {
    munmap(mem, bytes);
    *err = rc;
    return NULL;
  }
  *err = 0;
  return br;
}

void hd_buf_ring_free(struct io_uring *ring, struct io_uring_buf_ring *br, unsigned entries, int bgid) {
  io_uring_unregister_buf_ring(ring, bgid);
  munmap(br, (size_t)entries * sizeof(struct io_uring_buf));
}

void hd_prep_recv_multishot(struct io_uring_sqe *sqe, int fd, int bgid, uint64_t user_data) {
  io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
  sqe->flags |= HD_IOSQE_BUFFER_SELECT;
  sqe->buf_group = (unsigned short)bgid;
  io_uring_sqe_set_data64(sqe, user_data);
}

void hd_prep_recv_select(struct io_uring_sqe *sqe, int fd, int bgid, uint64_t user_data) {
  io_uring_prep_recv(sqe, fd, NULL, 0, 0);
  sqe->flags |= HD_IOSQE_BUFFER_SELECT;
  sqe->buf_group = (unsigned short)bgid;
  io_uring_sqe_set_data64(sqe, user_data);
}

void hd_prep_recv_select_max(struct io_uring_sqe *sqe, int fd, int bgid, unsigned max_bytes, uint64_t user_data) {
  io_uring_prep_recv(sqe, fd, NULL, max_bytes, 0);
  sqe->flags |= HD_IOSQE_BUFFER_SELECT;
  sqe->buf_group = (unsigned short)bgid;
  io_uring_sqe_set_data64(sqe, user_data);
}

void hd_prep_sendmsg(struct io_uring_sqe *sqe, int fd, const struct msghdr *msg, uint64_t user_data) {
  io_uring_prep_sendmsg(sqe, fd, msg, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, user_data);
}

void hd_prep_multishot_accept(struct io_uring_sqe *sqe, int fd, uint64_t user_data) {
  io_uring_prep_multishot_accept(sqe, fd, NULL, NULL, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, user_data);
}

void hd_prep_cancel(struct io_uring_sqe *sqe, uint64_t target, uint64_t user_data) {
  io_uring_prep_cancel64(sqe, target, 0);
  io_uring_sqe_set_data64(sqe, user_data);
}

void hd_prep_read8(struct io_uring_sqe *sqe, int fd, void *buf, uint64_t user_data) {
  io_uring_prep_read(sqe, fd, buf, 8, 0);
  io_uring_sqe_set_data64(sqe, user_data);
}

int hd_set_int_sockopt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof(value)) == 0 ? 0 : -errno;
}

int hd_get_int_sockopt(int fd, int level, int name, int *value) {
  socklen_t len = sizeof(*value);
  return getsockopt(fd, level, name, value, &len) == 0 ? 0 : -errno;
}

int hd_eventfd(void) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  return fd >= 0 ? fd : -errno;
}
