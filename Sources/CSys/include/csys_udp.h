// Batched UDP receive/send (recvmmsg/sendmmsg) for the STUN responder.
// struct mmsghdr and both calls are GNU extensions Swift's Glibc module does
// not show; these wrappers build the mmsghdr/iovec arrays on the C stack so
// the Swift side passes plain slot arrays and allocates nothing per batch.
#pragma once
#include <stdint.h>

/// Most datagrams one call moves; larger counts are clamped.
#define CSYS_DATAGRAM_BATCH_MAX 64

/// One datagram slot. `peer` holds a sockaddr_in or sockaddr_in6 (128 bytes =
/// sizeof(struct sockaddr_storage)); kept as bytes so this header needs no
/// <sys/socket.h> (its enums clash in Swift when several modules import it).
typedef struct csys_datagram {
  void *data;             // buffer owned by the caller
  uint32_t capacity;      // receive: bytes available in `data`
  uint32_t length;        // receive: bytes that arrived (datagram size, even if truncated); send: bytes to send
  uint32_t peer_length;   // bytes of `peer` in use
  uint32_t truncated;     // receive: 1 when the datagram was larger than `capacity`
  uint8_t peer[128];
} csys_datagram;

/// Receives up to `count` datagrams without blocking (MSG_DONTWAIT).
/// Returns how many slots were filled (0 when none was waiting) or -errno.
int csys_recv_datagrams(int fd, csys_datagram *slots, int count);

/// Sends `count` datagrams without blocking, each to its slot's `peer`.
/// Returns how many were handed to the kernel (may be fewer) or -errno when
/// not even the first one was.
int csys_send_datagrams(int fd, const csys_datagram *slots, int count);

/// A close-on-exec, non-blocking UDP socket of `family` (AF_INET/AF_INET6), or -errno.
int csys_udp_socket(int family);
