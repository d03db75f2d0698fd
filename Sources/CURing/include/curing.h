// liburing 2.3 for Swift. liburing.h defines _GNU_SOURCE before its own
// includes, which breaks fd_set on clean builds unless the system headers come
// first (see shared notes/platform.md), so they are included here up front.
#pragma once
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <signal.h>
#include <sched.h>
#include <time.h>
#include <fcntl.h>
#include <stdint.h>

#include <liburing.h>

// Constants newer than liburing 2.3's headers (the running kernel has them).
#define HD_IORING_RECVSEND_BUNDLE (1U << 4)
#define HD_IOU_PBUF_RING_INC 2
#define HD_IOSQE_BUFFER_SELECT (1U << IOSQE_BUFFER_SELECT_BIT)
#define HD_IOSQE_FIXED_FILE (1U << IOSQE_FIXED_FILE_BIT)
#define HD_IOSQE_IO_LINK (1U << IOSQE_IO_LINK_BIT)
#define HD_IOSQE_CQE_SKIP_SUCCESS (1U << IOSQE_CQE_SKIP_SUCCESS_BIT)

// --- Counters shared between one writer thread and scrapers --------------
// Single-writer counters: the owner adds with a relaxed load+store (no lock
// prefix, ~free), readers on other threads load relaxed. No data race in the
// C11 memory model, no torn 64-bit values on x86-64/arm64.
static inline void hd_counter_add(uint64_t *slot, uint64_t delta) {
  __atomic_store_n(slot, __atomic_load_n(slot, __ATOMIC_RELAXED) + delta, __ATOMIC_RELAXED);
}
static inline void hd_counter_sub(uint64_t *slot, uint64_t delta) {
  __atomic_store_n(slot, __atomic_load_n(slot, __ATOMIC_RELAXED) - delta, __ATOMIC_RELAXED);
}
static inline uint64_t hd_load_relaxed(const uint64_t *slot) { return __atomic_load_n(slot, __ATOMIC_RELAXED); }
static inline void hd_store_relaxed(uint64_t *slot, uint64_t value) { __atomic_store_n(slot, value, __ATOMIC_RELAXED); }

// --- Acquire/release for the single-producer/single-consumer rings -------
static inline uint64_t hd_load_acquire(const uint64_t *slot) { return __atomic_load_n(slot, __ATOMIC_ACQUIRE); }
static inline void hd_store_release(uint64_t *slot, uint64_t value) { __atomic_store_n(slot, value, __ATOMIC_RELEASE); }
static inline uint64_t hd_load_seqcst(const uint64_t *slot) { return __atomic_load_n(slot, __ATOMIC_SEQ_CST); }
static inline void hd_store_seqcst(uint64_t *slot, uint64_t value) { __atomic_store_n(slot, value, __ATOMIC_SEQ_CST); }
static inline uint64_t hd_exchange_seqcst(uint64_t *slot, uint64_t value) {
  return __atomic_exchange_n(slot, value, __ATOMIC_SEQ_CST);
}
static inline uint64_t hd_fetch_add(uint64_t *slot, uint64_t delta) {
  return __atomic_fetch_add(slot, delta, __ATOMIC_RELAXED);
}
static inline int hd_compare_exchange(uint64_t *slot, uint64_t *expected, uint64_t desired) {
  return __atomic_compare_exchange_n(slot, expected, desired, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}
static inline void hd_fence_seqcst(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// --- Ring helpers ---------------------------------------------------------
/// io_uring_queue_init_params with the flags given; returns 0 or -errno.
int hd_ring_init(struct io_uring *ring, unsigned entries, unsigned flags, unsigned sq_thread_idle_ms);
/// The flags the kernel actually accepted after setup.
unsigned hd_ring_flags(const struct io_uring *ring);
/// Waits for at least one completion or `timeout_ns`, submitting first.
/// Returns >= 0 or -errno (-ETIME on timeout is normal).
int hd_submit_and_wait_ns(struct io_uring *ring, long long timeout_ns);

/// Maps and registers a provided-buffer ring with `entries` slots (power of 2)
/// for group `bgid`: what liburing 2.4's io_uring_setup_buf_ring does.
/// Returns the ring or NULL with *err = -errno.
struct io_uring_buf_ring *hd_buf_ring_setup(struct io_uring *ring, unsigned entries, int bgid, int *err);
void hd_buf_ring_free(struct io_uring *ring, struct io_uring_buf_ring *br, unsigned entries, int bgid);

/// Multishot recv with buffer selection from group `bgid`.
void hd_prep_recv_multishot(struct io_uring_sqe *sqe, int fd, int bgid, uint64_t user_data);
/// One recv into a buffer picked from group `bgid` (the buffer's full size).
void hd_prep_recv_select(struct io_uring_sqe *sqe, int fd, int bgid, uint64_t user_data);
/// The same, taking at most `max_bytes` (less than the buffer: the kernel
/// reads only that much of what the socket holds; 0 means the whole buffer).
void hd_prep_recv_select_max(struct io_uring_sqe *sqe, int fd, int bgid, unsigned max_bytes, uint64_t user_data);
/// sendmsg with MSG_NOSIGNAL.
void hd_prep_sendmsg(struct io_uring_sqe *sqe, int fd, const struct msghdr *msg, uint64_t user_data);
/// Multishot accept (no peer address: read with getpeername when needed).
void hd_prep_multishot_accept(struct io_uring_sqe *sqe, int fd, uint64_t user_data);
/// Cancels every request with `target` user_data.
void hd_prep_cancel(struct io_uring_sqe *sqe, uint64_t target, uint64_t user_data);
/// Reads 8 bytes (an eventfd counter) into `buf`.
void hd_prep_read8(struct io_uring_sqe *sqe, int fd, void *buf, uint64_t user_data);

/// A non-blocking close-on-exec eventfd, or -errno.
int hd_eventfd(void);

/// Socket helpers: all return 0 or -errno.
int hd_set_int_sockopt(int fd, int level, int name, int value);
int hd_get_int_sockopt(int fd, int level, int name, int *value);
