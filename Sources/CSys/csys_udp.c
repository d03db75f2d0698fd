#define _GNU_SOURCE
#include "csys_udp.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

_Static_assert(sizeof(struct sockaddr_storage) == 128, "csys_datagram.peer must hold a sockaddr_storage");

int csys_recv_datagrams(int fd, csys_datagram *slots, int count) {
  if (count > CSYS_DATAGRAM_BATCH_MAX) count = CSYS_DATAGRAM_BATCH_MAX;
  if (count <= 0) return 0;
  struct mmsghdr messages[CSYS_DATAGRAM_BATCH_MAX];
  struct iovec vectors[CSYS_DATAGRAM_BATCH_MAX];
  memset(messages, 0, sizeof(struct mmsghdr) * (size_t)count);
  for (int i = 0; i < count; i++) {
    vectors[i].iov_base = slots[i].data;
    vectors[i].iov_len = slots[i].capacity;
    messages[i].msg_hdr.msg_name = slots[i].peer;
    messages[i].msg_hdr.msg_namelen = sizeof(slots[i].peer);
    messages[i].msg_hdr.msg_iov = &vectors[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }
  int n;
  do {
    n = recvmmsg(fd, messages, (unsigned)count, MSG_DONTWAIT | MSG_TRUNC, NULL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
  for (int i = 0; i < n; i++) {
    // With MSG_TRUNC msg_len is the real datagram size even when it did not fit.
    slots[i].length = messages[i].msg_len;
    slots[i].truncated = (messages[i].msg_hdr.msg_flags & MSG_TRUNC) ? 1 : 0;
    slots[i].peer_length = messages[i].msg_hdr.msg_namelen;
  }
  return n;
}

int csys_send_datagrams(int fd, const csys_datagram *slots, int count) {
  if (count > CSYS_DATAGRAM_BATCH_MAX) count = CSYS_DATAGRAM_BATCH_MAX;
  if (count <= 0) return 0;
  struct mmsghdr messages[CSYS_DATAGRAM_BATCH_MAX];
  struct iovec vectors[CSYS_DATAGRAM_BATCH_MAX];
  memset(messages, 0, sizeof(struct mmsghdr) * (size_t)count);
  for (int i = 0; i < count; i++) {
    vectors[i].iov_base = slots[i].data;
    vectors[i].iov_len = slots[i].length;
    messages[i].msg_hdr.msg_name = (void *)slots[i].peer;
    messages[i].msg_hdr.msg_namelen = slots[i].peer_length;
    messages[i].msg_hdr.msg_iov = &vectors[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }
  int n;
  do {
    n = sendmmsg(fd, messages, (unsigned)count, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

int csys_udp_socket(int family) {
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return fd < 0 ? -errno : fd;
}
