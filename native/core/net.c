/* Socket work behind the network actions: see net.h for what each function does and the kernel facts. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "net.h"

/* include/net/tcp_states.h */
enum { ST_ESTABLISHED = 1, ST_SYN_SENT, ST_SYN_RECV, ST_FIN_WAIT1, ST_FIN_WAIT2, ST_TIME_WAIT, ST_CLOSE,
       ST_CLOSE_WAIT, ST_LAST_ACK, ST_LISTEN, ST_CLOSING };

static long rsys(long nr, long a, long b, long c, long d, long e) {
  long r = syscall(nr, a, b, c, d, e);
  return r < 0 ? -errno : r;
}
#define GETOPT(fd, lvl, opt, p, lenp) rsys(SYS_getsockopt, (fd), (lvl), (opt), (long)(p), (long)(lenp))
#define SETOPT(fd, lvl, opt, p, len) rsys(SYS_setsockopt, (fd), (lvl), (opt), (long)(p), (long)(len))

int sf_net_tcp_family(int fd) {
  int v = 0;
  socklen_t len = sizeof v;
  if (GETOPT(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) != 0 || v != IPPROTO_TCP) return 0;
  len = sizeof v;
  if (GETOPT(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) != 0) return 0;
  return v == AF_INET || v == AF_INET6 ? v : 0;
}

socklen_t sf_net_loopback(int family, const struct sockaddr *dest, socklen_t destlen, uint16_t port4, uint16_t port6,
                          struct sockaddr_storage *out) {
  memset(out, 0, sizeof *out);
  if (family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    in->sin_family = AF_INET;
    in->sin_port = htons(port4);
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof *in;
  }
  if (family != AF_INET6) return 0;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
  in6->sin6_family = AF_INET6;
  const struct sockaddr_in6 *d = (const struct sockaddr_in6 *)dest;
  int mapped = dest && destlen >= (socklen_t)sizeof *d && d->sin6_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&d->sin6_addr);
  if (mapped || (port6 == 0 && port4 != 0)) {
    /* ::ffff:127.0.0.1 (also the blackhole for a dual-stack socket when there is no ::1 listener) */
    in6->sin6_addr.s6_addr[10] = 0xff, in6->sin6_addr.s6_addr[11] = 0xff;
    in6->sin6_addr.s6_addr[12] = 127, in6->sin6_addr.s6_addr[15] = 1;
    in6->sin6_port = htons(port4);
  } else {
    in6->sin6_addr = in6addr_loopback;
    in6->sin6_port = htons(port6);
  }
  return sizeof *in6;
}

int sf_net_nonblocking(int fd) {
  long fl = rsys(SYS_fcntl, fd, F_GETFL, 0, 0, 0);
  return fl >= 0 && (fl & O_NONBLOCK);
}

int sf_net_connect_nowait(int fd, const struct sockaddr *a, socklen_t len, int *was_blocking) {
  long fl = rsys(SYS_fcntl, fd, F_GETFL, 0, 0, 0);
  if (fl < 0) return (int)fl;
  *was_blocking = !(fl & O_NONBLOCK);
  if (*was_blocking && rsys(SYS_fcntl, fd, F_SETFL, fl | O_NONBLOCK, 0, 0) < 0) return -EBADF;
  long rc = rsys(SYS_connect, fd, (long)a, len, 0, 0);
  if (*was_blocking) rsys(SYS_fcntl, fd, F_SETFL, fl, 0, 0);
  return (int)rc;
}

int sf_net_connect_result(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (GETOPT(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return -EBADF;
  return -err;
}

static int tcp_info(int fd, struct tcp_info *ti) {
  socklen_t len = sizeof *ti;
  memset(ti, 0, sizeof *ti);
  return GETOPT(fd, IPPROTO_TCP, TCP_INFO, ti, &len) == 0 ? 0 : -1;
}

int sf_net_end(int fd, int reset) {
  struct tcp_info ti;
  if (!sf_net_tcp_family(fd) || tcp_info(fd, &ti) != 0) { /* not TCP: shut down, there is no RST to send */
    rsys(SYS_shutdown, fd, SHUT_RDWR, 0, 0, 0);
    return -EOPNOTSUPP;
  }
  switch (ti.tcpi_state) {
  case ST_ESTABLISHED: case ST_SYN_SENT: case ST_SYN_RECV: case ST_FIN_WAIT1: case ST_FIN_WAIT2:
  case ST_CLOSE_WAIT: case ST_LAST_ACK: case ST_CLOSING: break;
  default: return -ENOTCONN;
  }
  int busy = 0;
  if (!reset) { /* the peer's data past this point never was: what is queued goes, then our FIN */
    char sink[4096];
    for (int i = 0; i < 256 && rsys(SYS_recvfrom, fd, (long)sink, sizeof sink, MSG_DONTWAIT, 0) > 0; i++) {
    }
  }
  if (reset) {
    struct sockaddr unspec = { .sa_family = AF_UNSPEC };
    busy = rsys(SYS_connect, fd, (long)&unspec, sizeof unspec, 0, 0) == -EBUSY;
  }
  /* After a reset the socket is closed: shutdown answers ENOTCONN but still marks both directions shut, as
   * tcp_done() does on a real RST. Without a reset it sends our FIN. */
  rsys(SYS_shutdown, fd, SHUT_RDWR, 0, 0, 0);
  return busy ? -EBUSY : 0;
}

int sf_net_bytes(int fd, int write, uint64_t *out) {
  struct tcp_info ti;
  int q = 0;
  if (tcp_info(fd, &ti) != 0) return -1;
  if (write) {
    /* bytes_acked counts the SYN on the connecting side only; bytes_sent counts data alone */
    *out = ti.tcpi_bytes_sent - ti.tcpi_bytes_retrans + ti.tcpi_notsent_bytes;
    return 0;
  }
  /* bytes_received and SIOCINQ are two readings: data arriving between them would skew the difference, so
   * take them again until bytes_received has not moved across the SIOCINQ reading. */
  for (int tries = 0;; tries++) {
    uint64_t before = ti.tcpi_bytes_received;
    if (rsys(SYS_ioctl, fd, SIOCINQ, (long)&q, 0, 0) != 0) return -1;
    if (tcp_info(fd, &ti) != 0) return -1;
    if (ti.tcpi_bytes_received == before || tries == 8) break;
  }
  uint64_t got = ti.tcpi_bytes_received;
  /* a received FIN counts one in bytes_received and none in SIOCINQ */
  if (got && (ti.tcpi_state == ST_CLOSE_WAIT || ti.tcpi_state == ST_LAST_ACK || ti.tcpi_state == ST_CLOSING ||
              ti.tcpi_state == ST_TIME_WAIT))
    got--;
  *out = got >= (uint64_t)q ? got - (uint64_t)q : 0;
  return 0;
}

int sf_net_stall(int fd, int *orig) {
  socklen_t len = sizeof *orig;
  int big = INT_MAX; /* the kernel caps it at half the largest receive buffer */
  long rc = GETOPT(fd, SOL_SOCKET, SO_RCVLOWAT, orig, &len);
  if (rc == 0) rc = SETOPT(fd, SOL_SOCKET, SO_RCVLOWAT, &big, sizeof big);
  return (int)rc;
}

int sf_net_unstall(int fd, int orig) {
  if (orig < 1) orig = 1;
  return (int)SETOPT(fd, SOL_SOCKET, SO_RCVLOWAT, &orig, sizeof orig);
}

uint64_t sf_net_timeout_ns(int fd, int write) {
  struct timeval tv = { 0, 0 };
  socklen_t len = sizeof tv;
  if (GETOPT(fd, SOL_SOCKET, write ? SO_SNDTIMEO : SO_RCVTIMEO, &tv, &len) != 0 || tv.tv_sec < 0) return 0;
  return (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull;
}

int sf_net_readable(int fd) {
  struct pollfd p = { fd, POLLIN, 0 };
  if (rsys(SYS_poll, (long)&p, 1, 0, 0, 0) != 1) return 0;
  return (p.revents & (POLLIN | POLLERR | POLLHUP)) != 0;
}

int sf_net_sinks_parse(const char *text, struct sf_net_sinks *out) {
  char *end;
  out->port4 = out->port6 = 0;
  if (!text || !*text) return -1;
  long p4 = strtol(text, &end, 10);
  if (end == text || p4 < 0 || p4 > 65535) return -1;
  long p6 = 0;
  if (*end == ',') {
    const char *s = end + 1;
    p6 = strtol(s, &end, 10);
    if (end == s || p6 < 0 || p6 > 65535) return -1;
  }
  if (*end) return -1;
  out->port4 = (uint16_t)p4, out->port6 = (uint16_t)p6;
  return 0;
}

/* A listener on loopback whose accept queue is full (backlog 0, one connection never accepted): every later
 * SYN is dropped. The listener and the queued connection's client end stay open for the process's life. */
static uint16_t make_sink(int family) {
  struct sockaddr_storage ss;
  socklen_t len = sf_net_loopback(family, NULL, 0, 0, 0, &ss);
  int l = (int)rsys(SYS_socket, family, SOCK_STREAM | SOCK_CLOEXEC, 0, 0, 0);
  if (l < 0) return 0;
  if (rsys(SYS_bind, l, (long)&ss, len, 0, 0) != 0 || rsys(SYS_listen, l, 0, 0, 0, 0) != 0) {
    close(l);
    return 0;
  }
  socklen_t got = sizeof ss;
  if (rsys(SYS_getsockname, l, (long)&ss, (long)&got, 0, 0) != 0) {
    close(l);
    return 0;
  }
  uint16_t port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
  int c = (int)rsys(SYS_socket, family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, 0, 0);
  if (c < 0) {
    close(l);
    return 0;
  }
  long rc = rsys(SYS_connect, c, (long)&ss, got, 0, 0);
  struct pollfd p = { c, POLLOUT, 0 };
  struct tcp_info ti;
  if ((rc != 0 && rc != -EINPROGRESS) || poll(&p, 1, 1000) != 1 || sf_net_connect_result(c) != 0 ||
      tcp_info(l, &ti) != 0 || ti.tcpi_unacked < 1 /* a listener's unacked is its accept queue length */) {
    close(c), close(l);
    return 0;
  }
  return port; /* both fds stay open on purpose */
}

static struct sf_net_sinks sinks;
static int sinks_state; /* 0 not made, 1 making, 2 made */

int sf_net_sinks_get(struct sf_net_sinks *out) {
  int expected = 0;
  if (__atomic_compare_exchange_n(&sinks_state, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    sinks.port4 = make_sink(AF_INET);
    sinks.port6 = make_sink(AF_INET6);
    __atomic_store_n(&sinks_state, 2, __ATOMIC_RELEASE);
  }
  while (__atomic_load_n(&sinks_state, __ATOMIC_ACQUIRE) != 2) sched_yield();
  *out = sinks;
  return sinks.port4 ? 0 : -EADDRNOTAVAIL;
}
