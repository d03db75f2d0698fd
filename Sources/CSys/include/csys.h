// glibc GNU extensions Swift cannot see (affinity, CPU sets, sched_getcpu):
// small wrappers compiled with _GNU_SOURCE.
#pragma once
#include <stdint.h>
#include <sys/types.h>

// --- CPU affinity (lifecycle/CPU owner) ---------------------------------
// CPU lists cross the boundary as int arrays so Swift never touches cpu_set_t.
// Every function returns a count >= 0 or -errno.

/// CPUs the thread `tid` may run on (0 = calling thread), written to `cpus`
/// (up to `max`, ascending). Returns how many were written.
int csys_sched_getaffinity(pid_t tid, int *cpus, int max);
/// Pins the POSIX thread `thread` to the `count` CPUs in `cpus`.
int csys_pthread_setaffinity(unsigned long thread, const int *cpus, int count);
/// CPUs the POSIX thread `thread` may run on.
int csys_pthread_getaffinity(unsigned long thread, int *cpus, int max);
/// Kernel thread id of the calling thread (for /proc/self/task/<tid>).
pid_t csys_gettid(void);

/// pthread_join with a deadline `seconds` from now (glibc's
/// pthread_timedjoin_np needs _GNU_SOURCE): 0 joined, ETIMEDOUT, or an errno.
int csys_pthread_join_within(unsigned long thread, double seconds);
/// CPU the calling thread is running on right now.
int csys_sched_getcpu(void);

// --- sd_notify (lifecycle owner) -----------------------------------------
/// A close-on-exec AF_UNIX datagram socket, or -errno. (The SOCK_* enum names
/// are ambiguous in Swift once several C modules include <sys/socket.h>.)
int csys_unix_datagram_socket(void);
/// MSG_NOSIGNAL for files that import no other socket-using C module: in
/// whole-module (release) builds Swift attributes Glibc's MSG_NOSIGNAL macro to
/// whichever C module included <sys/socket.h> first, and a file that does not
/// import that module cannot see it. Linux ABI value, fixed.
#define CSYS_MSG_NOSIGNAL 0x4000

// Named explicitly (the module is an umbrella directory): clang's module cache
// does not notice a header newly added to the directory, so incremental builds
// made before csys_udp.h existed kept failing with "cannot find csys_datagram".
#include "csys_udp.h"
