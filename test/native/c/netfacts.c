/*
 * netfacts: the kernel behaviour the network actions rely on (native/core/net.h), checked on the running
 * kernel without sysfault. One line per fact: "fact <name> ok" or "fact <name> FAIL <what was seen>".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fails;
static void fact(const char *name, int ok, const char *seen) {
  printf("fact %s %s%s%s\n", name, ok ? "ok" : "FAIL", ok ? "" : " ", ok ? "" : seen);
  fails += !ok;
}
static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static struct sockaddr_in lo4(int port) {
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}
static int port_of(int s) {
  struct sockaddr_in a;
  socklen_t l = sizeof a;
  getsockname(s, (struct sockaddr *)&a, &l);
  return ntohs(a.sin_port);
}
/* a connected pair: *c the client, *s the accepted end */
static void pair(int *c, int *s) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = lo4(0);
  bind(l, (struct sockaddr *)&a, sizeof a);
  listen(l, 4);
  a = lo4(port_of(l));
  *c = socket(AF_INET, SOCK_STREAM, 0);
  connect(*c, (struct sockaddr *)&a, sizeof a);
  *s = accept(l, NULL, NULL);
  close(l);
}

int main(void) {
  char seen[160];
  signal(SIGPIPE, SIG_IGN);

  /* 1. loopback port 0 refuses, blocking and not */
  {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(0);
    int rc = connect(s, (struct sockaddr *)&a, sizeof a), e = errno;
    snprintf(seen, sizeof seen, "rc=%d %s", rc, strerror(e));
    fact("port0-refuses-blocking", rc < 0 && e == ECONNREFUSED, seen);
    close(s);
    s = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    rc = connect(s, (struct sockaddr *)&a6, sizeof a6), e = errno;
    struct pollfd p = { s, POLLOUT, 0 };
    int n = poll(&p, 1, 1000), err = 0;
    socklen_t l = sizeof err;
    getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &l);
    snprintf(seen, sizeof seen, "rc=%d %s poll=%d revents=%#x SO_ERROR=%s", rc, strerror(e), n, p.revents, strerror(err));
    fact("port0-refuses-nonblocking-v6", rc < 0 && e == EINPROGRESS && n == 1 && (p.revents & POLLERR) && err == ECONNREFUSED, seen);
    close(s);
  }

  /* 2. a backlog-0 listener with one connection queued drops further SYNs */
  {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(0);
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 0);
    a = lo4(port_of(l));
    int filler = socket(AF_INET, SOCK_STREAM, 0);
    int rc0 = connect(filler, (struct sockaddr *)&a, sizeof a);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int rc = connect(s, (struct sockaddr *)&a, sizeof a), e = errno;
    struct pollfd p = { s, POLLOUT, 0 };
    int n = poll(&p, 1, 1200);
    snprintf(seen, sizeof seen, "filler=%d rc=%d %s poll=%d", rc0, rc, strerror(e), n);
    fact("full-queue-drops-syn", rc0 == 0 && rc < 0 && e == EINPROGRESS && n == 0, seen);
    int b = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = { 0, 200000 };
    setsockopt(b, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    double t0 = now_ms();
    rc = connect(b, (struct sockaddr *)&a, sizeof a), e = errno;
    double took = now_ms() - t0;
    snprintf(seen, sizeof seen, "rc=%d %s after %.0f ms", rc, strerror(e), took);
    fact("blocking-connect-sndtimeo-einprogress", rc < 0 && e == EINPROGRESS && took >= 190 && took < 400, seen);
    close(b), close(s), close(filler), close(l);
  }

  /* 3. connect(AF_UNSPEC) + shutdown(SHUT_RDWR) on a duplicate is a reset as the program and the peer see it */
  {
    int c, s;
    pair(&c, &s);
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = c }, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
    epoll_wait(ep, &out, 1, 0); /* the initial EPOLLOUT edge */
    int d = dup(c);
    struct sockaddr unspec = { .sa_family = AF_UNSPEC };
    int rc = connect(d, &unspec, sizeof unspec);
    shutdown(d, SHUT_RDWR);
    close(d);
    int n = epoll_wait(ep, &out, 1, 200);
    char buf[8];
    ssize_t r1 = read(c, buf, sizeof buf);
    int e1 = errno;
    ssize_t r2 = read(c, buf, sizeof buf);
    ssize_t w1 = write(c, "x", 1);
    int e3 = errno;
    ssize_t p1 = read(s, buf, sizeof buf);
    int e4 = errno;
    snprintf(seen, sizeof seen, "rc=%d epoll=%d ev=%#x read=%zd %s, %zd; write=%zd %s; peer read=%zd %s", rc, n,
             n ? out.events : 0, r1, strerror(e1), r2, w1, strerror(e3), p1, strerror(e4));
    fact("disconnect-is-reset", rc == 0 && n == 1 && (out.events & EPOLLERR) && r1 < 0 && e1 == ECONNRESET && r2 == 0 &&
                                    w1 < 0 && e3 == EPIPE && p1 < 0 && e4 == ECONNRESET, seen);
    close(ep), close(c), close(s);
  }

  /* 4. SO_RCVLOWAT raised: poll and epoll say empty; lowered: an edge-triggered epoll wakes */
  {
    int c, s;
    pair(&c, &s);
    fcntl(c, F_SETFL, O_NONBLOCK);
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = c }, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
    epoll_wait(ep, &out, 1, 0);
    int d = dup(c), orig = 0, big = INT_MAX;
    socklen_t l = sizeof orig;
    getsockopt(d, SOL_SOCKET, SO_RCVLOWAT, &orig, &l);
    setsockopt(d, SOL_SOCKET, SO_RCVLOWAT, &big, sizeof big);
    write(s, "data", 4);
    int during = epoll_wait(ep, &out, 1, 150);
    struct pollfd p = { c, POLLIN, 0 };
    int polled = poll(&p, 1, 0);
    double t0 = now_ms();
    setsockopt(d, SOL_SOCKET, SO_RCVLOWAT, &orig, sizeof orig);
    int after = epoll_wait(ep, &out, 1, 200);
    double took = now_ms() - t0;
    char buf[8];
    ssize_t r = read(c, buf, sizeof buf);
    snprintf(seen, sizeof seen, "epoll during=%d poll during=%d epoll after=%d (%#x) in %.1f ms, read=%zd", during,
             polled, after, after ? out.events : 0, took, r);
    fact("rcvlowat-stall-and-wake", during == 0 && polled == 0 && after == 1 && (out.events & EPOLLIN) && took < 50 && r == 4,
         seen);
    close(d), close(ep), close(c), close(s);
  }
  printf("netfacts: %d failed\n", fails);
  return fails != 0;
}
