// The only module that loads the native addon. Everything else talks to the private interface below.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One event pushed from the run's native monitor thread through a thread-safe function. */
export type NativeEvent =
  | { type: 'started'; pid: number }
  | { type: 'fault'; entry: NativeLogEntry }
  | { type: 'error'; message: string; execErrno: number }
  | { type: 'warning' | 'fastPath'; message: string }
  | { type: 'exit'; waitStatus: number };

export interface NativeLogEntry {
  seq: number;
  tNs: number;
  pid: number;
  tid: number;
  fd: number;
  rule: number;
  sys: number;
  /** The action's wire code (ACTION_CODES in plan/compile.ts). */
  action: number;
  value: number;
  target: string;
}

export interface NativeCounts {
  calls: number[];    // indexed by syscall index (see syscallNames)
  faulted: number[];
  delayed: number[];
  matched: number[];  // indexed by rule
  fired: number[];
  /** Whole-tree crashes that found no tree (native/core/tree.h): only the crashing process died. */
  treeUnreached: number;
}

export interface NativeSession {
  /** Value for SYSFAULT_SHM in the target's environment (preload engine): /proc/<pid>/fd/<n>. */
  readonly shmPath: string;
  /** The shim's end of the control socket: pass it as stdio[3] of the shim, then call releaseChildEnd(). */
  readonly childFd: number;
  /** CLOCK_MONOTONIC (the clock of process.hrtime) in ns when the shared region was made: the faults' time origin. */
  readonly startNs: bigint;
  releaseChildEnd(): void;
  /** Starts the monitor thread; events arrive through onEvent until 'exit'. */
  start(): void;
  counts(): NativeCounts;
  faults(fromSeq: number): { entries: NativeLogEntry[]; next: number; dropped: number };
  kill(signal: number): void;
  disarm(): void;
  setEnabled(rule: number, on: boolean): void;
  /** Frees the shared memory once the run is over. Idempotent. */
  close(): void;
}

export interface NativeKernelFeatures {
  userNotif: boolean;
  notifContinue: boolean;
  waitKillable: boolean;
  syncWakeup: boolean;
  pidfdGetfd: boolean;
  kernel: string;
  /** FSGSBASE (HWCAP2): the Go agent patches the runtime's own write and read too. */
  fsgsbase: boolean;
}

/** What the Go agent's loader finds in an executable (native/goagent/goelf.c). */
export interface NativeGoExecutable {
  isGo: boolean;
  /** Syscall6 found, with the instructions the agent replaces. */
  patchable: boolean;
  /** Where it was found: "symbol table" or "pclntab". */
  found: string;
  /** Why not, when not patchable. */
  why: string;
}

export interface NativeBinding {
  /** Syscall names in bitmask order (native/core/syscalls.h). */
  syscallNames(): string[];
  /** Linux syscall number of each entry of syscallNames(). */
  syscallNumbers(): number[];
  kernelFeatures(): NativeKernelFeatures;
  goExecutable(path: string): NativeGoExecutable;
  /** The process's blackhole listeners on 127.0.0.1 and [::1] (network action "blackhole"), made on first use; 0: none. */
  netSinks(): { port4: number; port6: number };
  /** Decodes a compiled plan with the C decoder: the plan as C sees it, or an error string. */
  decodePlan(plan: Uint8Array): { seed: bigint; rules: Record<string, unknown>[] } | string;
  createSession(options: {
    plan: Uint8Array;
    logCapacity: number;
    runId: string;
    seccomp: boolean;
    onEvent: (event: NativeEvent) => void;
    /** Power cut: the shadow directory the seccomp monitor records synced state in (native/core/shadow.h). */
    shadowDir?: string;
    powercutGlob?: string;
    /** 1: fsyncFailureDropsDirty. */
    powercutFlags?: number;
    /** Under the net: the preload library's path; the dynamic loader's opens and reads of it are neither counted nor faulted. */
    ownLibrary?: string;
  }): NativeSession;
  /** Power cut: records root's matching files and directories as durable (before the run). Throws on failure. */
  shadowBaseline(shadowDir: string, glob: string, root: string): void;
  /** Power cut: restores root to the last synced state (after the run). Throws on failure. */
  shadowRestore(shadowDir: string, glob: string, root: string): { restored: string[]; removed: string[] };
  /** The engines' glob matching on an absolute path. */
  globMatch(glob: string, path: string): boolean;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The package root (dist/native/../.. or src/native/../..). */
export const packageRoot = join(here, '..', '..');

const require = createRequire(import.meta.url);
let cached: NativeBinding | undefined;

export function binding(): NativeBinding {
  if (!cached) {
    const load = require('node-gyp-build') as (dir: string) => NativeBinding;
    cached = load(packageRoot);
  }
  return cached;
}

/** Directory holding the addon, the preload library and the shim (prebuilds/<platform> or build/Release). */
export function nativeDir(): string {
  const candidates = [
    join(packageRoot, 'build', 'Release'),
    join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`),
  ];
  for (const dir of candidates) {
    if (existsSync(join(dir, 'libsysfault-preload.so')) && existsSync(join(dir, 'sysfault-shim'))) return dir;
  }
  throw new Error(`sysfault: native files not found (looked in ${candidates.join(', ')}); run npm install`);
}
