// glibc GNU extensions Swift cannot see (affinity, CPU sets, sched_getcpu):
// small wrappers compiled with _GNU_SOURCE.
#pragma once
#include <stdint.h>
#include <sys/types.h>
