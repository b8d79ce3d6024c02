/*
 * The one list of syscalls sysfault can intercept (x86_64). Everything that needs a per-syscall table
 * (names, numbers, argument shapes, the preload wrappers' attribution) expands this X-macro.
 *
 * X(name, x86_64 number, shape)
 *   shape says where the arguments are, for the seccomp supervisor and for path/fd/addr matching:
 *   SF_SHAPE_RW       fd=a0 buf=a1 count=a2                (read, write)
 *   SF_SHAPE_PRW      fd=a0 buf=a1 count=a2 offset=a3      (pread64, pwrite64)
 *   SF_SHAPE_VEC      fd=a0 iov=a1 iovcnt=a2               (readv, writev)
 *   SF_SHAPE_PVEC     fd=a0 iov=a1 iovcnt=a2 pos=a3,a4     (preadv, pwritev, ...2)
 *   SF_SHAPE_SOCKBUF  fd=a0 buf=a1 len=a2 flags=a3 addr=a4 (recvfrom, sendto)
 *   SF_SHAPE_MSG      fd=a0 msghdr=a1 flags=a2             (recvmsg, sendmsg)
 *   SF_SHAPE_CONNECT  fd=a0 sockaddr=a1 len=a2
 *   SF_SHAPE_FD       fd=a0                                (fsync, fdatasync, sync_file_range)
 *   SF_SHAPE_OPENAT   dirfd=a0 path=a1 flags=a2            (openat)
 *   SF_SHAPE_OPEN     path=a0 flags=a1                     (open, creat)
 *   SF_SHAPE_MOVE     the output fd is the call's fd: sendfile a0, copy_file_range a2, splice a2
 *   SF_SHAPE_MAP      addr=a0 len=a1 flags=a2, no descriptor   (msync)
 * Order is part of the compiled plan's wire format (a rule's syscall bitmask): append only.
 */
#ifndef SF_SYSCALL_LIST
#define SF_SYSCALL_LIST(X)                      \
  X(read,            0,   SF_SHAPE_RW)          \
  X(write,           1,   SF_SHAPE_RW)          \
  X(pread64,        17,   SF_SHAPE_PRW)         \
  X(pwrite64,       18,   SF_SHAPE_PRW)         \
  X(readv,          19,   SF_SHAPE_VEC)         \
  X(writev,         20,   SF_SHAPE_VEC)         \
  X(preadv,        295,   SF_SHAPE_PVEC)        \
  X(pwritev,       296,   SF_SHAPE_PVEC)        \
  X(preadv2,       327,   SF_SHAPE_PVEC)        \
  X(pwritev2,      328,   SF_SHAPE_PVEC)        \
  X(recvfrom,       45,   SF_SHAPE_SOCKBUF)     \
  X(sendto,         44,   SF_SHAPE_SOCKBUF)     \
  X(recvmsg,        47,   SF_SHAPE_MSG)         \
  X(sendmsg,        46,   SF_SHAPE_MSG)         \
  X(connect,        42,   SF_SHAPE_CONNECT)     \
  X(fsync,          74,   SF_SHAPE_FD)          \
  X(fdatasync,      75,   SF_SHAPE_FD)          \
  X(sync_file_range, 277, SF_SHAPE_FD)          \
  X(openat,        257,   SF_SHAPE_OPENAT)      \
  X(open,            2,   SF_SHAPE_OPEN)        \
  X(creat,          85,   SF_SHAPE_OPEN)        \
  X(sendfile,       40,   SF_SHAPE_MOVE)        \
  X(copy_file_range, 326, SF_SHAPE_MOVE)        \
  X(splice,        275,   SF_SHAPE_MOVE)        \
  X(msync,          26,   SF_SHAPE_MAP)
#endif
