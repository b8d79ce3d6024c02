# The native source lists, in one place: binding.gyp includes this file and test/native/Makefile reads it
# (adding a file to the C core is one edit here). Paths are from the repository root, binding.gyp's folder:
# gyp does not rebase paths held in variables.
{
  "variables": {
    # the C core, built into both engines (and the core's unit tests)
    "core_sources": [
      "native/core/tables.c",
      "native/core/plan.c",
      "native/core/glob.c",
      "native/core/addr.c",
      "native/core/decide.c",
      "native/core/shm.c",
      "native/core/paths.c",
      "native/core/shadow.c",
      "native/core/tree.c",
      "native/core/net.c",
    ],
    # the run monitor (both engines) and the seccomp supervisor, in the addon
    "monitor_sources": [
      "native/seccomp/monitor.c",
      "native/seccomp/monitor-target.c",
      "native/seccomp/monitor-preload.c",
      "native/seccomp/monitor-io.c",
      "native/seccomp/monitor-net.c",
      "native/seccomp/monitor-held.c",
      "native/seccomp/features.c",
      "native/seccomp/monitor-exec.c",
      "native/goagent/goelf.c",
    ],
    # the LD_PRELOAD engine's library (with the core)
    "preload_sources": [
      "native/preload/preload.c",
      "native/preload/preload-wrap.c",
      "native/preload/preload-calls.c",
      "native/preload/preload-open.c",
      "native/preload/preload-net.c",
      "native/preload/gate.c",
      "native/preload/watch.c",
    ],
    # the shim (the target's parent: the filter, the tree, the Go agent's loader below)
    "shim_sources": [
      "native/shim/shim.c",
      "native/shim/shim-tree.c",
    ],
    # the shim's part of the Go agent: finding the stubs, loading the agent at exec (ptrace), following exec
    "goagent_loader_sources": [
      "native/goagent/load.c",
      "native/goagent/follow.c",
      "native/goagent/goelf.c",
    ],
    # the Go agent library, built freestanding (no libc: native/goagent/agent.h), with the parts of the core
    # its decision needs
    "goagent_sources": [
      "native/goagent/entry.S",
      "native/goagent/agent.c",
      "native/goagent/freestanding.c",
      "native/core/tables.c",
      "native/core/glob.c",
      "native/core/addr.c",
      "native/core/decide.c",
      "native/core/shm.c",
    ],
  },
}
