/*
 * The one table of fault actions, by wire code (a compiled rule's u32 `action`). Everything that needs an
 * action's code or name expands this X-macro: enum sf_action (sysfault.h), the names the binding hands to the
 * TypeScript side (actionNames(), decodePlan's `actionName`), which the compiler's codes are checked against
 * (test/native.test.ts).
 *
 * X(NAME, wire code, name in plans)
 * Codes are part of the compiled plan's wire format: never renumber; a new action takes a new code.
 *
 *   errno      the call fails with `value` (an errno), before it runs
 *   delay      the call is held `value` ms (+ a seeded jitter); on a TCP socket read or write, see net.h
 *   short      the call moves at most `value` bytes
 *   kill       signal `value` to the process, before the call (or after it: SF_FLAG_AFTER_CALL)
 *   refuse     connect: the kernel really refuses it (the socket connects to a loopback port that refuses)
 *   blackhole  connect: it never completes (the socket connects to a listener whose full queue drops SYNs)
 *   reset      I/O: the connection is reset (ECONNRESET, then EOF / EPIPE, the peer gets an RST) once `value`
 *              bytes (0: at once) have passed on the socket in the call's direction; value2 > 0: after
 *              value2 ms of silence from that call (no data reaches the program's reads meanwhile)
 *   close      I/O: the same, but the connection ends as if the peer had closed it (EOF, EPIPE)
 *   torn       write family: persist the first `value` bytes (value2 0), or value2 parts per million of the
 *              bytes asked (value2 1..1000000; -1: a seeded fraction, chosen per call), then SIGKILL before
 *              returning
 *   powercut   SIGKILL the whole tree at this call, and the run's power cut discards what was never synced
 *   note       never in a plan (plan.c rejects it): a fault-log entry noting what an engine could not see (its
 *              value: enum sf_note in sysfault.h; its target: the program), reported as a warning
 * The socket work behind the network actions is in net.h, the power cut's in shadow.h.
 */
#ifndef SYSFAULT_ACTIONS_H
#define SYSFAULT_ACTIONS_H

#define SF_ACTION_LIST(X)       \
  X(NONE, 0, "none")            \
  X(ERRNO, 1, "errno")          \
  X(DELAY, 2, "delay")          \
  X(SHORT, 3, "short")          \
  X(KILL, 4, "kill")            \
  X(REFUSE, 5, "refuse")        \
  X(BLACKHOLE, 6, "blackhole")  \
  X(RESET, 7, "reset")          \
  X(CLOSE, 8, "close")          \
  X(TORN, 10, "torn")           \
  X(POWERCUT, 11, "powercut")   \
  X(NOTE, 255, "note")

#endif
