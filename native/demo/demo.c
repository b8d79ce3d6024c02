/*
 * sysfault-demo: the target of `sysfault demo`. A tiny "journal": tells a peer it is starting (connect to
 * 127.0.0.1:PORT), then appends 5 records to DIR/journal.log with write + fsync each, finishing short writes
 * the way write_all does. One line per operation, errno names included; exit 1 if anything failed.
 *   usage: sysfault-demo [DIR [PORT]]   (DIR: a new mkdtemp dir under $TMPDIR; PORT: an unused one)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *errname(int e) {
  static char buf[16];
  switch (e) {
    case EIO: return "EIO";
    case ENOSPC: return "ENOSPC";
    case EINTR: return "EINTR";
    case EAGAIN: return "EAGAIN";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case EPIPE: return "EPIPE";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case ETIMEDOUT: return "ETIMEDOUT";
  }
  snprintf(buf, sizeof buf, "E%d", e);
  return buf;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int unused_port(void) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  int s = socket(AF_INET, SOCK_STREAM, 0), port = 9;
  if (s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof sa) == 0 && getsockname(s, (struct sockaddr *)&sa, &len) == 0)
    port = ntohs(sa.sin_port);
  if (s >= 0) close(s);
  return port;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  char tmpl[4096], path[4200];
  const char *dir = argc > 1 ? argv[1] : NULL, *tmp = getenv("TMPDIR");
  if (!dir) {
    snprintf(tmpl, sizeof tmpl, "%s/sysfault-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!(dir = mkdtemp(tmpl))) return perror("mkdtemp"), 2;
  }
  int port = argc > 2 ? atoi(argv[2]) : unused_port(), failed = 0;

  struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(s, (struct sockaddr *)&peer, sizeof peer) == 0)
    printf("connect 127.0.0.1:%d ok\n", port);
  else
    printf("connect 127.0.0.1:%d err %s %s (going on without the peer)\n", port, errname(errno), strerror(errno));
  close(s);

  snprintf(path, sizeof path, "%s/journal.log", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return printf("open %s err %s %s\n", path, errname(errno), strerror(errno)), 1;
  printf("open %s ok\n", path);
  for (int i = 1; i <= 5; i++) {
    char rec[64];
    int len = snprintf(rec, sizeof rec, "record %d: balance=%d\n", i, 100 * i), off = 0;
    double t0 = now_ms();
    while (off < len) {
      ssize_t n = write(fd, rec + off, len - off);
      if (n < 0) break;
      if (off + n < len) printf("write record %d short %zd of %d bytes, writing the rest\n", i, n, len - off);
      off += n;
    }
    if (off < len)
      printf("write record %d err %s %s\n", i, errname(errno), strerror(errno)), failed = 1;
    else
      printf("write record %d ok %d bytes in %.0f ms\n", i, len, now_ms() - t0);
    if (fsync(fd) == 0)
      printf("fsync record %d ok\n", i);
    else
      printf("fsync record %d err %s %s (it may not be on disk)\n", i, errname(errno), strerror(errno)), failed = 1;
  }
  close(fd);
  printf("done\n");
  return failed;
}
