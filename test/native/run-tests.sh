#!/usr/bin/env bash
# End-to-end tests of the shim and the monitor, without Node (make -C test/native check).
# Each test runs a real target under build/drive and checks its output, exit status and counters.
set -u
cd "$(dirname "$0")"
# Start from stdin/stdout/stderr only: descriptors leaked by whatever runs us (a test runner's IPC pipe)
# would otherwise show up in the targets and fail the "no fd leaked" checks.
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"
done
B=$PWD/build
T=$(mktemp -d /tmp/sysfault-native.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0

pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; sed 's/^/     /' "$T/out" | tail -25; fails=$((fails + 1)); }
# expect NAME PATTERN...: every extended regexp must match a line of $T/out
expect() {
  local name=$1; shift
  for pat in "$@"; do grep -qE -- "$pat" "$T/out" || { echo "     missing: $pat"; fail "$name"; return; }; done
  pass "$name"
}
drive() {
  timeout 120 "$B/drive" "$@" >"$T/out" 2>&1
  if grep -qE "Sanitizer|runtime error:" "$T/out"; then fail "sanitizer report in: drive $*"; fi
}

"$B/features" >"$T/out"
expect "kernel features probed" "user_notif=1 continue=1" "pidfd_getfd=1"

drive --rule 'sys=fsync;errno=EIO;after=2' --rule 'sys=write;delay=20;limit=1' \
  --rule 'sys=write;short=3;path=**/out.txt' -- "$B/gofsync" "$T/out.txt" 5
expect "go: fsync EIO after 2, write delayed 20 ms, short writes of 3" \
  "^iter 1: write 6 <nil>, fsync <nil>" "^iter 2: write 6 <nil>, fsync sync .*input/output error" \
  "done: 3 fsync failures" "count fsync calls=5 faulted=3 delayed=0" "rule rule-2 matched=8 fired=8" \
  "count write calls=15 faulted=8 delayed=1" "action=delay:20 target=$T/out.txt" "exit code 0"
[ "$(cat "$T/out.txt")" = "$(printf 'hello\n%.0s' 1 2 3 4 5)" ] && pass "go: file content intact" || fail "go: file content intact"

for wk in "" --no-wait-killable; do
  drive $wk --quiet --rule 'sys=fsync;delay=2' -- "$B/goprof" "$T/prof" 200
  expect "go: 200 fsyncs held 2 ms under a CPU profile finish ${wk:-(wait killable)}" \
    "prof: 200 fsyncs" "count fsync calls=200 faulted=0 delayed=200" "exit code 0"
  drive $wk --quiet --rule 'sys=fsync;delay=20' -- "$B/goprof" "$T/prof" 30 storm
  expect "go: SIGURG storm on the held thread, counts exact ${wk:-(wait killable)}" \
    "prof: 30 fsyncs" "count fsync calls=30 faulted=0 delayed=30" "exit code 0"
done

# restarts: SA_RESTART and EINTR retries, restarts while held (taken over) and after the deadline (tombstones)
for args in "20 1000 0" "20 1000 0 eintr" "10 50000 30000" "10 50000 30000 eintr" "30 7000 3000 eintr"; do
  n=${args%% *}
  drive --no-wait-killable --quiet --rule 'sys=fsync;delay=20' -- "$B/restart" $args
  case $args in
    *" 0"*) path="restarts taken over [1-9]" ;; # the handler returns at once: restarts arrive while held
    *) path="replayed [1-9]" ;;                # the handler outlives the deadline: tombstones replayed
  esac
  expect "restarts counted once: restart $args" "restart: $n fsyncs" "count fsync calls=$n faulted=0 delayed=$n" \
    "$path" "exit code 0"
done

drive --quiet --rule 'sys=writev,readv,pread64,pwrite64,preadv,pwritev2;short=4;path=/tmp/sysfault-io-*' \
  --rule 'sys=sendto,recvfrom;short=4;fd=socket' -- "$B/io"
expect "short transfers keep data intact (writev readv pread pwrite preadv pwritev2 sendto recvfrom)" \
  "io: writev +43 bytes in 11 calls" "io: pwritev2\+preadv +ok in 11 calls" "io: sendto\+recvfrom +ok in 11 calls" \
  "count preadv calls=11 faulted=11" "exit code 0"
if grep -q CORRUPT "$T/out"; then fail "no corruption"; fi

drive --quiet --rule 'sys=read;fd=socket;short=7' --rule 'sys=write;fd=socket;short=100;prob=0.5' -- "$B/gonet" 100000
expect "go: short socket reads and writes with the netpoller" "net: 100000 bytes echoed intact" "exit code 0"

drive --quiet --rule 'sys=recvfrom;short=1' -- "$B/parked"
expect "a parked transfer of a killed task does not keep its socket open" "parked: read after the child died returned 0" "exit code 0"

drive --rule 'sys=read;short=2;fd=pipe' -- /bin/sh -c '(sleep 0.2; echo hello world) | cat >'"$T/cat.txt"
expect "blocking pipe read parked until data, 2 bytes at a time" "count read calls=.* faulted=7" "exit code 0"
[ "$(cat "$T/cat.txt")" = "hello world" ] && pass "pipe data intact" || fail "pipe data intact"

drive --rule 'sys=openat;path=/etc/hostname;errno=EACCES' -- /bin/cat /etc/hostname
expect "openat path filter" "cat: /etc/hostname: Permission denied" "target=/etc/hostname" "exit code 1"

drive --rule 'sys=fsync;kill=9;after=2' -- "$B/gofsync" "$T/k.txt" 5
expect "kill action" "iter 1:" "action=kill:9" "exit signal 9" "count fsync calls=3 faulted=1"

drive --quiet --rule 'sys=fsync;errno=EIO' -- /nonexistent/x
expect "exec ENOENT -> 127" "exec_errno 2" "exit code 127"
drive --quiet --rule 'sys=fsync;errno=EIO' -- /etc/passwd
expect "exec not executable -> 126" "cannot execute the target" "exit code 126"
drive --quiet --rule 'sys=fsync;errno=EIO' -- "$B/drive" --quiet --rule 'sys=fsync;errno=EIO' -- /bin/true
expect "filter cannot be installed -> F message, 125" "seccomp: seccomp\(SECCOMP_SET_MODE_FILTER\): Device or resource busy" "exit code 125"

drive --quiet --rule 'sys=fsync;errno=EIO' -- /bin/sh -c 'ls -l /proc/$$/fd'
if grep -qE "socket:|anon_inode" "$T/out"; then fail "target holds no control socket or listener"; else pass "target holds no control socket or listener"; fi

drive --quiet --kill-after 300:15 --rule 'sys=fsync;errno=EIO' -- "$B/tree" exit
sleep 0.2
expect "K kills daemons left behind, X after the whole tree" "exit code 0"
if pgrep -f "^$B/tree" >/dev/null; then fail "tree gone after K"; pkill -9 -f "^$B/tree"; else pass "tree gone after K"; fi

"$B/drive" --quiet --rule 'sys=fsync;errno=EIO' -- "$B/tree" >"$T/out" 2>&1 &
d=$!
sleep 0.4
{ kill -9 $d; wait $d; } 2>/dev/null
sleep 0.3
if pgrep -f "^$B/tree" >/dev/null; then fail "controller SIGKILLed: tree killed"; pkill -9 -f "^$B/tree"; else pass "controller SIGKILLed: tree killed"; fi

drive --engine preload --preload "$B/libsysfault-preload.so" --rule 'sys=fsync;errno=EIO;after=2' -- "$B/fsyncs" 12 5000
expect "preload engine: the fault log is delivered live" "fsyncs: 10 of 12 failed" "count fsync calls=12 faulted=10" \
  "log entries=10 dropped=0" "exit code 0"
[ "$(grep -c "drive: fault seq=" "$T/out")" = 10 ] && pass "preload engine: each entry delivered exactly once" ||
  fail "preload engine: each entry delivered exactly once"

drive --quiet --rule 'sys=fsync;errno=EIO' -- /bin/sleep 0.2
if grep -q "fd left open" "$T/out" && grep "fd left open" "$T/out" | grep -qvE -- "-> (/dev/null|pipe:.*)$"; then
  fail "no fd leaked by a run"
else
  pass "no fd leaked by a run"
fi

for d in drive drive-nosync; do
  echo "info $d: write(1 byte) to /dev/null notified, rule never fires: $(for i in 1 2 3 4 5; do
    "$B/$d" --quiet --rule 'sys=write;errno=EIO;prob=0' -- "$B/bench" 50000 2>&1 | grep -oE '[0-9.]+ us/call' | cut -d' ' -f1
  done | sort -n | tr '\n' ' ')us; bare: $("$B/bench" 200000 | grep -oE '[0-9.]+ us/call')"
done

# network actions (issue 4): the kernel facts they rely on, then blocking connects (parked in the monitor)
"$B/netfacts" >"$T/out" 2>&1
expect "network: kernel facts (port 0 refuses, full queue drops SYNs, disconnect resets, SO_RCVLOWAT stalls)" \
  "fact port0-refuses-blocking ok" "fact port0-refuses-nonblocking-v6 ok" "fact full-queue-drops-syn ok" \
  "fact blocking-connect-sndtimeo-einprogress ok" "fact disconnect-is-reset ok" "fact rcvlowat-stall-and-wake ok"
drive --rule 'sys=connect;refuse=1' -- "$B/netblock" 9
expect "network: a blocking connect refused (seccomp, parked)" "connect rc=-1 errno=ECONNREFUSED" \
  "action=refuse:0 target=127.0.0.1:9" "count connect calls=1 faulted=1" "exit code 0"
drive --rule 'sys=connect;blackhole=1' -- "$B/netblock" 9 200
expect "network: a blocking blackholed connect ends at its SO_SNDTIMEO (seccomp, parked)" \
  "connect rc=-1 errno=EINPROGRESS ms=(19[0-9]|2[0-4][0-9])$" "action=blackhole:0" "exit code 0"

[ $fails -eq 0 ] && echo "all native tests passed" || echo "$fails native test(s) failed"
exit $((fails > 0))
