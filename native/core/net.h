/*
 * Socket work behind the network actions (refuse, blackhole, reset, close, and latency on socket reads), shared
 * by both engines: the preload engine calls these on the program's own fd, the seccomp supervisor on its
 * pidfd_getfd() copy, which shares the program's open file description and so the very same socket.
 * Everything here is a raw syscall (never a libc wrapper the preload engine interposes), allocation-free.
 *
 * Facts these rely on, each verified on Linux 6.18 (test/native/c/netfacts.c checks them on the running kernel):
 * - A TCP connect to loopback port 0 is refused (RST): ECONNREFUSED for a blocking socket; EINPROGRESS, then
 *   POLLOUT|POLLERR|POLLHUP and SO_ERROR ECONNREFUSED for a non-blocking one. No port needs reserving.
 * - A listener with backlog 0 and one connection left unaccepted drops every further SYN: a connect to it stays
 *   in SYN_SENT (non-blocking: EINPROGRESS and never writable; blocking: held until SO_SNDTIMEO, then
 *   EINPROGRESS, or until TCP gives up with ETIMEDOUT after net.ipv4.tcp_syn_retries).
 * - connect(AF_UNSPEC) on an established TCP socket is tcp_disconnect(): an RST to the peer and sk_err =
 *   ECONNRESET; a shutdown(SHUT_RDWR) after it marks both directions shut. The program then sees exactly what a
 *   peer's RST gives: the next read ECONNRESET, later reads 0 (EOF); a first write ECONNRESET, later writes EPIPE;
 *   epoll reports EPOLLIN|EPOLLOUT|EPOLLERR|EPOLLHUP|EPOLLRDHUP.
 * - SO_RCVLOWAT above what is queued makes poll/epoll report a TCP socket unreadable; lowering it again runs
 *   tcp_data_ready(), which wakes epoll (an edge-triggered waiter too) when data is queued or the peer's FIN
 *   came. A read() itself is NOT held back by SO_RCVLOWAT on a non-blocking socket: the engines answer those
 *   reads themselves. SO_RCVLOWAT cannot hide the peer's FIN (tcp_poll reports EPOLLIN|EPOLLRDHUP once the
 *   receive side is shut down), an error, or a receive buffer fuller than the value the kernel caps it to.
 */
#ifndef SYSFAULT_NET_H
#define SYSFAULT_NET_H

#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Ports of the blackhole listeners on 127.0.0.1 and [::1] (0: none). */
struct sf_net_sinks {
  uint16_t port4, port6;
};

/* AF_INET or AF_INET6 if fd is a TCP socket, else 0. */
int sf_net_tcp_family(int fd);

/* The loopback address a connect of TCP socket fd to dest is sent to instead, on `port` (0: one that refuses):
 * 127.0.0.1 for an AF_INET socket; for AF_INET6, ::ffff:127.0.0.1 when dest is v4-mapped, else ::1. port6 is
 * used for ::1 (a v4-mapped destination uses port4). Returns the length, or 0 when there is none. */
socklen_t sf_net_loopback(int family, const struct sockaddr *dest, socklen_t destlen, uint16_t port4, uint16_t port6,
                          struct sockaddr_storage *out);

/* connect(fd, a) without blocking: a blocking socket is made non-blocking for the call only (O_NONBLOCK lives
 * on the open file, shared with the program, so it is put back at once). 0 or -errno (-EINPROGRESS: under way).
 * *was_blocking tells the caller whether the program expects the call to wait. */
int sf_net_connect_nowait(int fd, const struct sockaddr *a, socklen_t len, int *was_blocking);

/* The pending error of a socket whose connect was under way (SO_ERROR, which clears it): 0 or -errno. */
int sf_net_connect_result(int fd);

/* Ends a connected TCP socket's connection: reset (RST to the peer; the program sees ECONNRESET, then EOF or
 * EPIPE) or close (what is queued is dropped, FIN to the peer; the program sees EOF, EPIPE; data the peer
 * still sends makes the kernel reset the connection, as it does after a shutdown). 0; -ENOTCONN when there is no connection to
 * end (listening, never connected, or ended already: the call reports what the kernel says); -EBUSY when a
 * reset was refused because a thread waits in the kernel on the socket, and -EOPNOTSUPP for a socket that is
 * not TCP (both shut down instead: the caller answers ECONNRESET itself for a reset). */
int sf_net_end(int fd, int reset);

/* Bytes the program has moved on a TCP socket: read from it (write 0) or written to it (write 1). 0 or -1. */
int sf_net_bytes(int fd, int write, uint64_t *out);

/* Stall: makes a TCP socket look unreadable to poll/epoll (SO_RCVLOWAT raised); *orig gets the old value.
 * Unstall puts it back, which wakes epoll if data is queued. 0 or -errno. */
int sf_net_stall(int fd, int *orig);
int sf_net_unstall(int fd, int orig);

/* SO_RCVTIMEO (write 0) or SO_SNDTIMEO (write 1) in ns; 0 when none. */
uint64_t sf_net_timeout_ns(int fd, int write);

/* 1 if the open file has O_NONBLOCK. */
int sf_net_nonblocking(int fd);

/* 1 if poll reports the socket readable now: data past SO_RCVLOWAT, or what SO_RCVLOWAT cannot hide (the
 * peer's FIN, an error, a hang-up). */
int sf_net_readable(int fd);

/* "P4,P6" (the preload engine's SYSFAULT_BLACKHOLE) into sinks; 0 or -1. */
int sf_net_sinks_parse(const char *text, struct sf_net_sinks *out);
/* The process's blackhole listeners, created on first use (the addon; they live as long as the process).
 * 0, or -errno when not even the IPv4 one could be made. */
int sf_net_sinks_get(struct sf_net_sinks *out);

#ifdef __cplusplus
}
#endif
#endif
