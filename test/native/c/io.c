/* io: each transfer syscall the seccomp engine can shorten, checked for data integrity. Every transfer
 * loops until done, so the result is the same whatever the shortening; prints how many calls each took.
 * Exit 0 when every byte arrived intact. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static const char msg[] = "the quick brown fox jumps over the lazy dog";
#define LEN (sizeof msg - 1)
static int bad;

static void check(const char *what, const char *got, int calls) {
  int ok = memcmp(got, msg, LEN) == 0;
  printf("io: %-16s %s in %d calls\n", what, ok ? "ok" : "CORRUPT", calls);
  if (!ok) bad = 1;
}

int main(void) {
  char path[] = "/tmp/sysfault-io-XXXXXX", buf[LEN + 1];
  int fd = mkstemp(path), calls;
  unlink(path);
  size_t done;

  for (done = 0, calls = 0; done < LEN; calls++) { /* writev: two iovecs */
    size_t half = LEN / 2, off = done;
    struct iovec iov[2] = { { (char *)msg + off, off < half ? half - off : 0 },
                            { (char *)msg + (off > half ? off : half), LEN - (off > half ? off : half) } };
    ssize_t n = writev(fd, iov[0].iov_len ? iov : iov + 1, iov[0].iov_len ? 2 : 1);
    if (n <= 0) return 2;
    done += (size_t)n;
  }
  printf("io: %-16s %zu bytes in %d calls\n", "writev", done, calls);
  for (done = 0, calls = 0; done < LEN; calls++) { /* pread */
    ssize_t n = pread(fd, buf + done, LEN - done, (off_t)done);
    if (n <= 0) return 2;
    done += (size_t)n;
  }
  check("pread", buf, calls);
  lseek(fd, 0, SEEK_SET);
  memset(buf, 0, sizeof buf);
  for (done = 0, calls = 0; done < LEN; calls++) { /* readv: two iovecs */
    struct iovec iov[2] = { { buf + done, 5 }, { buf + done + 5, LEN - done > 5 ? LEN - done - 5 : 0 } };
    if (LEN - done < 5) iov[0].iov_len = LEN - done;
    ssize_t n = readv(fd, iov, 2);
    if (n <= 0) return 2;
    done += (size_t)n;
  }
  check("readv", buf, calls);
  for (done = 0, calls = 0; done < LEN; calls++) { /* pwrite at an offset, then read it back whole */
    ssize_t n = pwrite(fd, msg + done, LEN - done, (off_t)(LEN + done));
    if (n <= 0) return 2;
    done += (size_t)n;
  }
  memset(buf, 0, sizeof buf);
  for (done = 0; done < LEN;) {
    ssize_t n = pread(fd, buf + done, LEN - done, (off_t)(LEN + done));
    if (n <= 0) return 2;
    done += (size_t)n;
  }
  check("pwrite", buf, calls);

  for (done = 0, calls = 0; done < LEN; calls++) { /* pwritev2 at an offset, then preadv back */
    struct iovec iov = { (char *)msg + done, LEN - done };
    ssize_t n = pwritev2(fd, &iov, 1, (off_t)(2 * LEN + done), 0);
    if (n <= 0) return 2;
    done += (size_t)n;
  }
  memset(buf, 0, sizeof buf);
  for (done = 0; done < LEN;) {
    struct iovec iov = { buf + done, LEN - done };
    ssize_t n = preadv(fd, &iov, 1, (off_t)(2 * LEN + done));
    if (n <= 0) return 2;
    done += (size_t)n;
  }
  check("pwritev2+preadv", buf, calls);

  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  pid_t child = fork();
  if (child == 0) { /* the peer: sends late, so the reader's first recvfrom has to wait */
    usleep(200000);
    for (done = 0; done < LEN;) {
      ssize_t n = sendto(sv[1], msg + done, LEN - done, 0, NULL, 0);
      if (n <= 0) _exit(2);
      done += (size_t)n;
    }
    _exit(0);
  }
  memset(buf, 0, sizeof buf);
  for (done = 0, calls = 0; done < LEN; calls++) {
    ssize_t n = recvfrom(sv[0], buf + done, LEN - done, 0, NULL, NULL);
    if (n <= 0) return 2;
    done += (size_t)n;
  }
  check("sendto+recvfrom", buf, calls);
  int st;
  waitpid(child, &st, 0);
  return bad || st != 0;
}
