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
#include <liburing.h>

// Constants newer than liburing 2.3's headers (the running kernel has them).
#define HD_IORING_RECVSEND_BUNDLE (1U << 4)
#define HD_IOU_PBUF_RING_INC 2
#define HD_IOSQE_BUFFER_SELECT (1U << IOSQE_BUFFER_SELECT_BIT)
#define HD_IOSQE_FIXED_FILE (1U << IOSQE_FIXED_FILE_BIT)
#define HD_IOSQE_IO_LINK (1U << IOSQE_IO_LINK_BIT)
