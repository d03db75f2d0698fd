// Counting malloc for tests. Every process-wide heap call passes through here;
// with no watch active the cost is one relaxed atomic load. A watched thread is
// found by its kernel tid once per watch generation and then counted with
// relaxed atomic adds into its slot (the reader is another thread).
#define _GNU_SOURCE
#include "alloc_counter.h"
#include <errno.h>
#include <execinfo.h>
#include <link.h>
#include <string.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <unistd.h>

// Under AddressSanitizer or ThreadSanitizer (scripts/sanitize.sh) the
// sanitizer owns malloc: interposing it too hands sanitizer memory to glibc's
// free and crashes the test binary at startup. Counting is then off, and
// hd_alloc_watch says so (-1), so an allocation test run there fails loudly
// instead of counting nothing.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HD_ALLOC_COUNTER_OFF 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HD_ALLOC_COUNTER_OFF 1
#endif

// glibc's real allocator (exported by libc.so.6 since 2.2.5).
extern void *__libc_malloc(size_t bytes);
extern void __libc_free(void *pointer);
extern void *__libc_calloc(size_t count, size_t bytes);
extern void *__libc_realloc(void *pointer, size_t bytes);
extern void *__libc_memalign(size_t alignment, size_t bytes);
extern void *__libc_valloc(size_t bytes);
extern void *__libc_pvalloc(size_t bytes);

static _Atomic int watchActive;
/// Bumped on every watch change, so threads re-resolve their slot.
static _Atomic unsigned watchGeneration;
static _Atomic int watchCount;
static _Atomic int32_t watchedTIDs[HD_ALLOC_WATCH_MAX];
static _Atomic uint64_t allocationCounts[HD_ALLOC_WATCH_MAX];
static _Atomic uint64_t freeCounts[HD_ALLOC_WATCH_MAX];
static _Atomic uint64_t allocatedByteCounts[HD_ALLOC_WATCH_MAX];
static _Atomic uint64_t libraryAllocationCounts[HD_ALLOC_WATCH_MAX];
static _Atomic uint64_t libraryFreeCounts[HD_ALLOC_WATCH_MAX];
/// Executable ranges of the libraries whose calls are also counted apart (the
/// caller of malloc/free lies inside one), e.g. libcrypto and libssl for
/// OpenSSL (CRYPTO_free tail-calls free, so its caller is in libssl).
#define LIBRARIES_MAX 4
static _Atomic uintptr_t libraryStarts[LIBRARIES_MAX], libraryEnds[LIBRARIES_MAX];
static _Atomic int libraryCount;

// initial-exec: reading these never calls __tls_get_addr (which may malloc).
static __thread __attribute__((tls_model("initial-exec"))) unsigned threadGeneration;
static __thread __attribute__((tls_model("initial-exec"))) int threadSlot = -1;
static __thread __attribute__((tls_model("initial-exec"))) int32_t threadTID;

/// The calling thread's slot, or -1 when it is not watched.
static inline int watchedSlot(void) {
  if (!atomic_load_explicit(&watchActive, memory_order_relaxed)) return -1;
  unsigned generation = atomic_load_explicit(&watchGeneration, memory_order_acquire);
  if (threadGeneration != generation) {
    if (threadTID == 0) threadTID = (int32_t)syscall(SYS_gettid);
    threadSlot = -1;
    int count = atomic_load_explicit(&watchCount, memory_order_relaxed);
    for (int i = 0; i < count; i++) {
      if (atomic_load_explicit(&watchedTIDs[i], memory_order_relaxed) == threadTID) { threadSlot = i; break; }
    }
    threadGeneration = generation;
  }
  return threadSlot;
}

// Call stacks of the first allocations in a watch, to say where they come from.
#define STACKS_MAX 256
#define STACK_FRAMES_MAX 40
static void *stackFrames[STACKS_MAX][STACK_FRAMES_MAX];
static _Atomic int stackDepths[STACKS_MAX];
static _Atomic int stacksTaken;
/// Set while this thread records a stack (backtrace may allocate on first use).
static __thread __attribute__((tls_model("initial-exec"))) int recordingStack;

static void recordStack(void) {
  if (recordingStack) return;
  int index = atomic_fetch_add_explicit(&stacksTaken, 1, memory_order_relaxed);
  if (index >= STACKS_MAX) return;
  recordingStack = 1;
  int depth = backtrace(stackFrames[index], STACK_FRAMES_MAX);
  recordingStack = 0;
  atomic_store_explicit(&stackDepths[index], depth, memory_order_release);
}

static inline int isLibraryCaller(void *caller) {
  uintptr_t address = (uintptr_t)caller;
  int count = atomic_load_explicit(&libraryCount, memory_order_acquire);
  for (int i = 0; i < count; i++) {
    if (address >= atomic_load_explicit(&libraryStarts[i], memory_order_relaxed)
        && address < atomic_load_explicit(&libraryEnds[i], memory_order_relaxed)) return 1;
  }
  return 0;
}

static inline void countAllocation(size_t bytes, void *caller) {
  int slot = watchedSlot();
  if (slot < 0) return;
  atomic_fetch_add_explicit(&allocationCounts[slot], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&allocatedByteCounts[slot], bytes, memory_order_relaxed);
  if (isLibraryCaller(caller)) {
    atomic_fetch_add_explicit(&libraryAllocationCounts[slot], 1, memory_order_relaxed);
  } else {
    recordStack();
  }
}

static inline void countFree(void *pointer, void *caller) {
  if (pointer == NULL) return;
  int slot = watchedSlot();
  if (slot < 0) return;
  atomic_fetch_add_explicit(&freeCounts[slot], 1, memory_order_relaxed);
  if (isLibraryCaller(caller)) atomic_fetch_add_explicit(&libraryFreeCounts[slot], 1, memory_order_relaxed);
}

// MARK: The interposed allocator

#ifndef HD_ALLOC_COUNTER_OFF
void *malloc(size_t bytes) {
  countAllocation(bytes, __builtin_return_address(0));
  return __libc_malloc(bytes);
}

void free(void *pointer) {
  countFree(pointer, __builtin_return_address(0));
  __libc_free(pointer);
}

void *calloc(size_t count, size_t bytes) {
  countAllocation(count * bytes, __builtin_return_address(0));
  return __libc_calloc(count, bytes);
}

void *realloc(void *pointer, size_t bytes) {
  countAllocation(bytes, __builtin_return_address(0));
  return __libc_realloc(pointer, bytes);
}

void *memalign(size_t alignment, size_t bytes) {
  countAllocation(bytes, __builtin_return_address(0));
  return __libc_memalign(alignment, bytes);
}

void *aligned_alloc(size_t alignment, size_t bytes) {
  countAllocation(bytes, __builtin_return_address(0));
  return __libc_memalign(alignment, bytes);
}

int posix_memalign(void **result, size_t alignment, size_t bytes) {
  if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
  countAllocation(bytes, __builtin_return_address(0));
  void *pointer = __libc_memalign(alignment, bytes);
  if (pointer == NULL) return ENOMEM;
  *result = pointer;
  return 0;
}

void *valloc(size_t bytes) {
  countAllocation(bytes, __builtin_return_address(0));
  return __libc_valloc(bytes);
}

void *pvalloc(size_t bytes) {
  countAllocation(bytes, __builtin_return_address(0));
  return __libc_pvalloc(bytes);
}
#endif  // HD_ALLOC_COUNTER_OFF

// MARK: Control

int hd_alloc_watch(const int32_t *tids, int count) {
#ifdef HD_ALLOC_COUNTER_OFF
  (void)tids;
  (void)count;
  return -1;
#endif
  if (count > HD_ALLOC_WATCH_MAX) count = HD_ALLOC_WATCH_MAX;
  if (count < 0) count = 0;
  atomic_store_explicit(&watchActive, 0, memory_order_seq_cst);
  for (int i = 0; i < HD_ALLOC_WATCH_MAX; i++) {
    atomic_store_explicit(&watchedTIDs[i], i < count ? tids[i] : 0, memory_order_relaxed);
    atomic_store_explicit(&allocationCounts[i], 0, memory_order_relaxed);
    atomic_store_explicit(&freeCounts[i], 0, memory_order_relaxed);
    atomic_store_explicit(&allocatedByteCounts[i], 0, memory_order_relaxed);
    atomic_store_explicit(&libraryAllocationCounts[i], 0, memory_order_relaxed);
    atomic_store_explicit(&libraryFreeCounts[i], 0, memory_order_relaxed);
  }
  for (int i = 0; i < STACKS_MAX; i++) atomic_store_explicit(&stackDepths[i], 0, memory_order_relaxed);
  atomic_store_explicit(&stacksTaken, 0, memory_order_relaxed);
  atomic_store_explicit(&watchCount, count, memory_order_relaxed);
  atomic_fetch_add_explicit(&watchGeneration, 1, memory_order_release);
  atomic_store_explicit(&watchActive, 1, memory_order_seq_cst);
  return count;
}

void hd_alloc_unwatch(void) {
  atomic_store_explicit(&watchActive, 0, memory_order_seq_cst);
}

hd_alloc_counts hd_alloc_counts_of(int index) {
  hd_alloc_counts counts = {0, 0, 0, 0, 0};
  if (index < 0 || index >= HD_ALLOC_WATCH_MAX) return counts;
  counts.allocations = atomic_load_explicit(&allocationCounts[index], memory_order_relaxed);
  counts.frees = atomic_load_explicit(&freeCounts[index], memory_order_relaxed);
  counts.allocatedBytes = atomic_load_explicit(&allocatedByteCounts[index], memory_order_relaxed);
  counts.libraryAllocations = atomic_load_explicit(&libraryAllocationCounts[index], memory_order_relaxed);
  counts.libraryFrees = atomic_load_explicit(&libraryFreeCounts[index], memory_order_relaxed);
  return counts;
}

int32_t hd_alloc_gettid(void) { return (int32_t)syscall(SYS_gettid); }

/// True when stack `a` equals an earlier stack `b`.
static int sameStack(int a, int b) {
  int depth = atomic_load_explicit(&stackDepths[a], memory_order_acquire);
  if (depth != atomic_load_explicit(&stackDepths[b], memory_order_acquire)) return 0;
  for (int f = 0; f < depth; f++) {
    if (stackFrames[a][f] != stackFrames[b][f]) return 0;
  }
  return 1;
}

void hd_alloc_print_stacks(int fd) {
  for (int i = 0; i < STACKS_MAX; i++) {
    int depth = atomic_load_explicit(&stackDepths[i], memory_order_acquire);
    if (depth == 0) continue;
    int repeats = 0;
    for (int j = 0; j < i; j++) repeats |= sameStack(i, j);
    if (repeats) continue;
    dprintf(fd, "--- watched allocation %d (first with this stack) ---\n", i + 1);
    backtrace_symbols_fd(stackFrames[i], depth, fd);
  }
}

/// Finds the loaded object and records the span of its executable segments.
static int findLibrary(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  const char *fragment = data;
  if (info->dlpi_name == NULL || strstr(info->dlpi_name, fragment) == NULL) return 0;
  uintptr_t start = UINTPTR_MAX, end = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
    if (segment->p_type != PT_LOAD || !(segment->p_flags & PF_X)) continue;
    uintptr_t low = info->dlpi_addr + segment->p_vaddr;
    if (low < start) start = low;
    if (low + segment->p_memsz > end) end = low + segment->p_memsz;
  }
  if (end == 0) return 0;
  int count = atomic_load_explicit(&libraryCount, memory_order_relaxed);
  for (int i = 0; i < count; i++) {
    if (atomic_load_explicit(&libraryStarts[i], memory_order_relaxed) == start) return 1;  // already known
  }
  if (count == LIBRARIES_MAX) return 0;
  atomic_store_explicit(&libraryStarts[count], start, memory_order_relaxed);
  atomic_store_explicit(&libraryEnds[count], end, memory_order_relaxed);
  atomic_store_explicit(&libraryCount, count + 1, memory_order_release);
  return 1;
}

int hd_alloc_attribute_library(const char *nameFragment) {
  return dl_iterate_phdr(findLibrary, (void *)nameFragment);
}
