// Test-only heap accounting for chosen threads: this target defines malloc,
// free and friends (forwarding to glibc's __libc_* allocator), so linking it
// into a test executable counts every heap call the watched threads make.
// Used by HDRelayAllocationTests to prove the relay's workers do not allocate
// per packet. Never link it into the daemon.
#pragma once
#include <stdint.h>

/// Most threads watched at once.
#define HD_ALLOC_WATCH_MAX 64

/// Heap calls made by the watched threads since `hd_alloc_watch`.
typedef struct {
  /// malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign, valloc, pvalloc.
  uint64_t allocations;
  /// free of a non-NULL pointer.
  uint64_t frees;
  /// Bytes requested by those allocations.
  uint64_t allocatedBytes;
  /// Of `allocations` and `frees`: the calls made directly by the library
  /// named to `hd_alloc_attribute_library` (e.g. OpenSSL's CRYPTO_malloc).
  uint64_t libraryAllocations;
  uint64_t libraryFrees;
} hd_alloc_counts;

/// Starts counting (from zero) the heap calls of the threads whose kernel
/// thread ids (gettid) are `tids[0..<count]`; replaces any earlier watch.
/// Returns the number watched (count clamped to HD_ALLOC_WATCH_MAX).
int hd_alloc_watch(const int32_t *tids, int count);
/// Also counts apart the heap calls whose caller lies in the loaded object
/// whose path contains `nameFragment` (e.g. "libcrypto.so"); up to 4 such
/// libraries, kept for the process. Returns 1 when found. Those calls are
/// left out of the recorded stacks.
int hd_alloc_attribute_library(const char *nameFragment);
/// Stops counting; the counts read afterwards are frozen.
void hd_alloc_unwatch(void);
/// Counts so far of the watched thread at `index` (the order given to `hd_alloc_watch`).
hd_alloc_counts hd_alloc_counts_of(int index);
/// Writes the distinct call stacks among the first 256 allocations counted in
/// the last watch to `fd` (raw addresses; `llvm-symbolizer --obj=<test binary>`
/// turns the +0x offsets into Swift names and lines).
void hd_alloc_print_stacks(int fd);
/// Kernel thread id of the calling thread (what `hd_alloc_watch` takes).
int32_t hd_alloc_gettid(void);
