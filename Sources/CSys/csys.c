#define _GNU_SOURCE
#include "csys.h"

// --- CPU affinity ---------------------------------------------------------
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <sys/syscall.h>

// Large enough for any machine we run on (CPU_SETSIZE is 1024).
static int csys_set_to_list(const cpu_set_t *set, int *cpus, int max) {
  int n = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE && n < max; cpu++) {
    if (CPU_ISSET(cpu, set)) cpus[n++] = cpu;
  }
  return n;
}

int csys_sched_getaffinity(pid_t tid, int *cpus, int max) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(tid, sizeof(set), &set) != 0) return -errno;
  return csys_set_to_list(&set, cpus, max);
}

int csys_pthread_setaffinity(unsigned long thread, const int *cpus, int count) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int i = 0; i < count; i++) {
    if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) return -EINVAL;
    CPU_SET(cpus[i], &set);
  }
  int rc = pthread_setaffinity_np((pthread_t)thread, sizeof(set), &set);
  return rc == 0 ? 0 : -rc;
}

int csys_pthread_getaffinity(unsigned long thread, int *cpus, int max) {
  cpu_set_t set;
  CPU_ZERO(&set);
  int rc = pthread_getaffinity_np((pthread_t)thread, sizeof(set), &set);
  if (rc != 0) return -rc;
  return csys_set_to_list(&set, cpus, max);
}

pid_t csys_gettid(void) { return (pid_t)syscall(SYS_gettid); }

int csys_sched_getcpu(void) {
  int cpu = sched_getcpu();
  return cpu < 0 ? -errno : cpu;
}

// --- sd_notify --------------------------------------------------------------
#include <sys/socket.h>

int csys_unix_datagram_socket(void) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  return fd < 0 ? -errno : fd;
}

// --- Bounded join ------------------------------------------------------------
#include <time.h>

int csys_pthread_join_within(unsigned long thread, double seconds) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  long long ns = (long long)deadline.tv_nsec + (long long)(seconds * 1e9);
  deadline.tv_sec += (time_t)(ns / 1000000000LL);
  deadline.tv_nsec = (long)(ns % 1000000000LL);
  return pthread_timedjoin_np((pthread_t)thread, NULL, &deadline);
}
