/**
 * The live handle of a run: owns the native session and the shim process, forwards the monitor's events,
 * and builds the result once both the monitor's 'exit' and the shim's exit have happened.
 */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';
import { ACTION_CODE_NOTE, compilePlan } from '../plan/compile.js';
import { CommandError, EngineError, SysfaultError, UsageError } from '../common/errors.js';
import type { NativeBinding, NativeCounts, NativeEvent, NativeLogEntry, NativeSession } from '../native/binding.js';
import { DEFAULT_LOG_CAPACITY, stdioEntries } from './options.js';
import { discardPowercut, finishPowercut, type PowercutSetup } from './powercut.js';
import { decodeWaitStatus, engineWarning, formatAction, noteWarning, runWarnings, seedForResult } from './result.js';
import { firstLine } from '../common/text.js';
import { signalNumber } from '../plan/signals.js';
import { killStragglers } from './terminate.js';
import { alternativesOf, BUSY_ALTERNATIVES, syscallTable } from '../plan/syscalls.js';
import type { Engine, FaultRecord, RuleStats, RunResult, RunWarning, SyscallCounts } from '../common/run-result.js';
import type { NormalizedPlan } from '../plan/types.js';
import type { RunOptions } from './types.js';

/** Events of a {@link RunHandle}. */
export interface RunEvents {
  /** The target was forked: its pid. */
  started: [pid: number];
  /** A fault was injected. */
  fault: [fault: FaultRecord];
  /** A warning as the engines report it during the run (each once; all of them are also in the result's). */
  warning: [warning: RunWarning];
  /** The run is over and its result is ready (not emitted when the run fails: see `result`). */
  exit: [result: RunResult];
}

/** A running target, as returned by {@link spawn}. */
export interface RunHandle extends EventEmitter<RunEvents> {
  /** The run's id (also SYSFAULT_RUN_ID in the target's environment). */
  readonly runId: string;
  /** The engine running the target. */
  readonly engine: Engine;
  /** Why this engine (auto detection, or "chosen"). */
  readonly engineReason: string;
  /** The seed used: a number, or a decimal string when it is 2^53 or more. */
  readonly seed: number | string;
  /** The plan in force (the plan's rules followed by the extra faults). */
  readonly plan: NormalizedPlan;
  /** The target's pid, once started. */
  readonly pid: number | undefined;
  /** Resolves when the run is over; rejects with a SysfaultError if it could not be carried out. */
  readonly result: Promise<RunResult>;
  /** performance.now() at the origin of the run's fault times: a fault's `tMs` is measured from here. */
  readonly clockOrigin: number;
  /** The target's stdin when stdio[0] is 'pipe', else null. */
  readonly stdin: Writable | null;
  /** The target's stdout when stdio[1] is 'pipe', else null. */
  readonly stdout: Readable | null;
  /** The target's stderr when stdio[2] is 'pipe', else null. */
  readonly stderr: Readable | null;
  /** Live counters, same shape as the result's `counts`. */
  counts(): Record<string, SyscallCounts>;
  /** Live per-rule counters, same shape as the result's `rules`. */
  ruleStats(): RuleStats[];
  /** The fault log so far. */
  faults(): FaultRecord[];
  /**
   * Sends a signal to the target's whole process tree (default SIGTERM).
   * @returns false when the run is already over.
   */
  kill(signal?: NodeJS.Signals | number): boolean;
  /** Turns every fault off for the rest of the run (counting goes on). */
  disarm(): void;
  /** Turns one rule on or off. @throws UsageError for an unknown rule id. */
  setEnabled(ruleId: string, on: boolean): void;
  /** Every fault of the run, from the first, as they happen; ends when the run is over. */
  events(): AsyncIterableIterator<FaultRecord>;
}

const EXIT_WAIT_AFTER_SHIM_MS = 10_000;
/** execve, execveat (x86-64): notified when the Go agent follows execs. */
const EXEC_NRS = [59, 322];

/** Everything spawn() checked and chose. */
export interface RunSetup {
  native: NativeBinding;
  command: string;
  args: readonly string[];
  executable: string;
  cwd: string;
  env: Record<string, string>;
  plan: NormalizedPlan;
  seed: bigint;
  engine: Engine;
  engineReason: string;
  shim: string;
  preloadLib: string | undefined;
  /** The Go agent library, when the fast path is to be loaded into a Go target (seccomp engine). */
  goAgent?: string | undefined;
  /** Preload engine with the supervisor as its net (a seccomp filter that lets the library's own calls through). */
  net?: boolean;
  options: RunOptions;
  /** The power cut, baseline recorded (docs/crash-consistency.md); undefined without the powercut option. */
  powercut?: PowercutSetup | undefined;
}

/** @internal The RunHandle implementation. */
export class Run extends EventEmitter<RunEvents> implements RunHandle {
  readonly runId = randomUUID();
  readonly engine: Engine;
  readonly engineReason: string;
  readonly seed: number | string;
  readonly plan: NormalizedPlan;
  readonly result: Promise<RunResult>;
  clockOrigin = 0;
  readonly stdin: Writable | null = null;
  readonly stdout: Readable | null = null;
  readonly stderr: Readable | null = null;
  pid: number | undefined;

  readonly #setup: RunSetup;
  readonly #names: readonly string[];
  readonly #named: number[]; // syscall indexes the plan names, in table order
  readonly #alternatives: string[]; // counted only, to say what the program called instead (alternativesOf)
  #session: NativeSession | undefined;
  #child: ChildProcess | undefined;
  #startedAt = 0;
  #endedAt = 0;
  #waitStatus: number | undefined;
  #shimDone = false;
  #shimError: Error | undefined;
  #nativeError: { message: string; execErrno: number } | undefined;
  #timedOut = false;
  #aborted = false;
  #over = false;
  #final: RunResult | undefined;
  #timers: NodeJS.Timeout[] = [];
  #onAbort: (() => void) | undefined;
  #seen: FaultRecord[] = [];
  #warnings: RunWarning[] = [];
  #fastPath: string[] = [];
  #seenSeqs = new Set<number>();
  #wake: (() => void)[] = [];
  #settle!: { resolve: (r: RunResult) => void; reject: (e: unknown) => void };

  constructor(setup: RunSetup) {
    super();
    this.#setup = setup;
    this.engine = setup.engine;
    this.engineReason = setup.engineReason;
    this.plan = setup.plan;
    this.seed = seedForResult(setup.seed);
    this.result = new Promise<RunResult>((resolve, reject) => (this.#settle = { resolve, reject }));
    this.result.catch(() => {}); // a spawn() caller may never look at result: no unhandled rejection
    this.#names = syscallTable().names;
    const used = new Set(setup.plan.rules.flatMap((r) => r.syscalls));
    this.#named = this.#names.flatMap((name, i) => (used.has(name) ? [i] : []));
    // count-only alternatives (to say what a program called instead): under seccomp, not the busy ones
    this.#alternatives = alternativesOf(used).filter((s) => setup.engine !== 'seccomp' || !BUSY_ALTERNATIVES.has(s));

    const { native, plan, seed, engine, options } = setup;
    // An empty plan names no syscall: there is nothing to notify, so no seccomp filter. A power cut needs
    // fsync and fdatasync (the monitor does them and records the synced state).
    const powercut = setup.powercut;
    const seccomp =
      (engine === 'seccomp' || setup.net === true) && (this.#named.length > 0 || powercut !== undefined);
    const bytes = compilePlan(plan, seed, undefined, this.#alternatives);
    try {
      this.#session = native.createSession({
        plan: bytes,
        logCapacity: options.logCapacity ?? DEFAULT_LOG_CAPACITY,
        runId: this.runId,
        seccomp,
        onEvent: (event) => this.#onNative(event),
        ...(powercut && { shadowDir: powercut.shadowDir, powercutGlob: powercut.glob, powercutFlags: powercut.flags }),
        ...(seccomp && setup.preloadLib !== undefined && { ownLibrary: setup.preloadLib }),
      });
    } catch (err) {
      throw new EngineError(`cannot set up the run: ${firstLine(err)}`, { cause: err });
    }
    const session = this.#session;
    // The faults' times count from the shared region's start (CLOCK_MONOTONIC, which process.hrtime reads too):
    // placed on performance.now()'s clock by two adjacent readings, not by the time creating the session took.
    this.clockOrigin = performance.now() - Number(process.hrtime.bigint() - session.startNs) / 1e6;

    const env: Record<string, string> = { ...setup.env, SYSFAULT_RUN_ID: this.runId };
    // The shim adds the preload library to the target's LD_PRELOAD itself, so that it is never preloaded.
    if (setup.preloadLib !== undefined) env.SYSFAULT_SHM = session.shmPath;
    if (setup.preloadLib !== undefined && seccomp) env.SYSFAULT_GATE = '1';
    // A blackhole connects the target's socket to a listener that drops SYNs; under seccomp the monitor (this
    // process) uses it directly, the preload library learns its ports here.
    if (setup.preloadLib !== undefined && plan.rules.some((r) => r.action.type === 'blackhole')) {
      const sinks = native.netSinks();
      env.SYSFAULT_BLACKHOLE = `${sinks.port4},${sinks.port6}`;
    }
    if (setup.preloadLib !== undefined && powercut) {
      env.SYSFAULT_SHADOW = powercut.shadowDir;
      env.SYSFAULT_POWERCUT = powercut.glob;
      env.SYSFAULT_POWERCUT_FLAGS = String(powercut.flags);
    }
    const numbers = native.syscallNumbers();
    const notified = new Set([...this.#named, ...this.#alternatives.map((name) => this.#names.indexOf(name))].map((i) => numbers[i]));
    if (powercut) for (const name of ['fsync', 'fdatasync']) notified.add(numbers[this.#names.indexOf(name)]);
    if (seccomp && setup.goAgent !== undefined) for (const nr of EXEC_NRS) notified.add(nr); // exec following
    const agent = seccomp ? setup.goAgent : undefined;
    const shimArgs = [
      ...(seccomp ? ['--seccomp', [...notified].join(',')] : []),
      ...(agent !== undefined ? ['--gate', '--go-agent', agent, '--shm', session.shmPath] : seccomp && setup.net ? ['--gate'] : []),
      // io_uring is reported: by the filter when there is one, else by the shim looking at the tree's descriptors
      ...(options.ioUring === 'deny' ? ['--io-uring', 'deny'] : ['--io-uring', seccomp ? 'watch' : 'scan']),
      ...(setup.preloadLib !== undefined ? ['--preload', setup.preloadLib] : []),
      '--',
      setup.executable,
      setup.command,
      ...setup.args,
    ];
    const [s0, s1, s2] = stdioEntries(options.stdio);
    this.#startedAt = performance.now();
    try {
      this.#child = spawnChild(setup.shim, shimArgs, { stdio: [s0, s1, s2, session.childFd], env, cwd: setup.cwd });
    } catch (err) {
      session.close();
      throw new EngineError(`cannot start ${setup.shim}: ${firstLine(err)}`, { cause: err });
    }
    const child = this.#child;
    this.stdin = child.stdin;
    this.stdout = child.stdout;
    this.stderr = child.stderr;
    child.once('error', (err) => {
      this.#shimError ??= err;
      this.#shimExited();
    });
    child.once('exit', () => this.#shimExited());
    try {
      session.releaseChildEnd();
      session.start();
    } catch (err) {
      child.kill('SIGKILL');
      session.close();
      throw new EngineError(`cannot start the run monitor: ${firstLine(err)}`, { cause: err });
    }

    if (options.timeout !== undefined) {
      this.#timers.push(
        setTimeout(() => {
          if (this.#waitStatus !== undefined) return;
          this.#timedOut = true;
          this.#signal(9);
        }, options.timeout),
      );
    }
    const abortSignal = options.signal;
    if (abortSignal) {
      this.#onAbort = () => {
        if (this.#waitStatus !== undefined) return;
        this.#aborted = true;
        this.#signal(9);
      };
      abortSignal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  counts(): Record<string, SyscallCounts> {
    if (this.#final) return this.#final.counts;
    return this.#countsFrom(this.#liveCounts());
  }

  ruleStats(): RuleStats[] {
    if (this.#final) return this.#final.rules;
    return this.#rulesFrom(this.#liveCounts());
  }

  faults(): FaultRecord[] {
    if (this.#final) return this.#final.faults;
    const session = this.#session;
    if (!session) return [];
    return session.faults(0).entries.filter((e) => e.action !== ACTION_CODE_NOTE).map((e) => this.#record(e));
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    const number = signalNumber(signal);
    if (number === undefined) throw new UsageError(`kill: unknown signal ${JSON.stringify(signal)}`);
    if (this.#over || this.#waitStatus !== undefined) return false;
    this.#signal(number);
    return true;
  }

  disarm(): void {
    if (!this.#over) this.#session?.disarm();
  }

  setEnabled(ruleId: string, on: boolean): void {
    const index = this.plan.rules.findIndex((r) => r.id === ruleId);
    if (index < 0) throw new UsageError(`setEnabled: unknown rule id ${JSON.stringify(ruleId)}`);
    if (!this.#over) this.#session?.setEnabled(index, on);
  }

  async *events(): AsyncIterableIterator<FaultRecord> {
    let next = 0;
    for (;;) {
      while (next < this.#seen.length) {
        const fault = this.#seen[next++];
        if (fault) yield fault;
      }
      if (this.#over) return;
      await new Promise<void>((resolve) => this.#wake.push(resolve));
    }
  }

  #signal(number: number): void {
    try {
      this.#session?.kill(number);
    } catch {
      // the monitor is gone: the run is ending anyway
    }
  }

  #liveCounts(): NativeCounts | undefined {
    try {
      return this.#session?.counts();
    } catch {
      return undefined;
    }
  }

  #onNative(event: NativeEvent): void {
    switch (event.type) {
      case 'started':
        this.pid = event.pid;
        this.emit('started', event.pid);
        break;
      case 'fault':
        if (event.entry.action === ACTION_CODE_NOTE) this.#noteBlind(event.entry);
        else this.#noteFault(this.#record(event.entry));
        break;
      case 'error':
        this.#nativeError ??= { message: event.message, execErrno: event.execErrno };
        break;
      case 'warning':
        this.#addWarning(engineWarning(event.message));
        break;
      case 'fastPath':
        this.#fastPath.push(event.message);
        break;
      case 'exit':
        this.#endedAt = performance.now();
        // -1: the shim vanished without reporting (killed from outside): end what is left of the tree.
        if (event.waitStatus === -1) killStragglers(this.runId);
        this.#waitStatus = event.waitStatus;
        this.#maybeFinish();
        break;
    }
  }

  /** A note of the preload library (native/preload/watch.c): a program it cannot see. Once per program and kind. */
  #noteBlind(e: NativeLogEntry): void {
    this.#addWarning(noteWarning(e.value, e.target));
  }

  #addWarning(warning: RunWarning): void {
    if (this.#warnings.some((w) => w.code === warning.code && w.message === warning.message)) return;
    this.#warnings.push(warning);
    this.emit('warning', warning);
  }

  #noteFault(fault: FaultRecord): void {
    if (this.#seenSeqs.has(fault.seq)) return;
    this.#seenSeqs.add(fault.seq);
    this.#seen.push(fault);
    this.emit('fault', fault);
    this.#wakeReaders();
  }

  #wakeReaders(): void {
    const waiting = this.#wake;
    this.#wake = [];
    for (const wake of waiting) wake();
  }

  #shimExited(): void {
    if (this.#shimDone) return;
    this.#shimDone = true;
    if (this.#waitStatus === undefined) {
      // The monitor reports the exit once the control socket closes; if it never does, give up.
      const timer = setTimeout(() => {
        if (this.#waitStatus !== undefined) return;
        this.#nativeError ??= { message: 'the run monitor did not report the target exit', execErrno: 0 };
        this.#endedAt = performance.now();
        this.#waitStatus = -1;
        this.#maybeFinish();
      }, EXIT_WAIT_AFTER_SHIM_MS);
      timer.unref();
      this.#timers.push(timer);
    }
    this.#maybeFinish();
  }

  #maybeFinish(): void {
    if (this.#over || this.#waitStatus === undefined || !this.#shimDone) return;
    this.#over = true;
    for (const timer of this.#timers) clearTimeout(timer);
    if (this.#onAbort) this.#setup.options.signal?.removeEventListener('abort', this.#onAbort);

    let result: RunResult | undefined;
    let failure: SysfaultError | undefined;
    try {
      result = this.#buildResult();
    } catch (err) {
      failure = new EngineError(`cannot read the run's counters: ${firstLine(err)}`, { cause: err });
    } finally {
      try {
        this.#session?.close();
      } catch {
        // already closed
      }
    }
    failure ??= this.#failure();
    const powercut = this.#setup.powercut;
    if (powercut) {
      try {
        if (result) result.powercut = finishPowercut(this.#setup.native, powercut, this.plan, result);
        else discardPowercut(powercut);
      } catch (err) {
        failure ??= err instanceof SysfaultError ? err : new EngineError(firstLine(err), { cause: err });
      }
    }
    if (result) {
      this.#final = result;
      for (const fault of result.faults) this.#noteFault(fault);
    }
    this.#wakeReaders();
    if (failure) {
      if (result) failure.result = result;
      this.#settle.reject(failure);
    } else if (result) {
      this.emit('exit', result);
      this.#settle.resolve(result);
    }
  }

  #failure(): SysfaultError | undefined {
    const { command, shim } = this.#setup;
    if (this.#shimError) return new EngineError(`cannot start ${shim}: ${firstLine(this.#shimError)}`);
    const error = this.#nativeError;
    if (error) {
      if (error.execErrno === constants.errno.ENOENT) return new CommandError('COMMAND_NOT_FOUND', command, `${command}: ${error.message}`);
      if (error.execErrno !== 0) return new CommandError('COMMAND_NOT_EXECUTABLE', command, `${command}: ${error.message}`);
      return new EngineError(error.message);
    }
    if (this.#waitStatus === -1) {
      const code = this.#child?.exitCode;
      const sig = this.#child?.signalCode;
      return new EngineError(
        `the shim exited without reporting the target's status (${sig ? `signal ${sig}` : `exit code ${String(code)}`})`,
      );
    }
    return undefined;
  }

  #buildResult(): RunResult {
    const session = this.#session;
    const counts = session?.counts();
    const log = session?.faults(0) ?? { entries: [], next: 0, dropped: 0 };
    const rules = this.#rulesFrom(counts);
    const calls = (name: string): number => counts?.calls[this.#names.indexOf(name)] ?? 0;
    return {
      version: 1,
      engine: this.engine,
      engineReason: this.engineReason,
      seed: this.seed,
      durationMs: Math.round((this.#endedAt - this.#startedAt) * 10) / 10,
      exit: decodeWaitStatus(this.#waitStatus ?? -1),
      counts: this.#countsFrom(counts),
      rules,
      faults: log.entries
        .filter((e) => e.action !== ACTION_CODE_NOTE || (this.#noteBlind(e), false))
        .map((e) => this.#record(e))
        .sort((a, b) => a.seq - b.seq),
      dropped: log.dropped,
      warnings: runWarnings({
        plan: this.plan,
        rules,
        calls,
        watched: new Set([...this.#named.map((i) => this.#names[i] ?? ''), ...this.#alternatives]),
        dropped: log.dropped,
        treeUnreached: counts?.treeUnreached ?? 0,
        noted: this.#warnings,
      }),
      runId: this.runId,
      timedOut: this.#timedOut,
      aborted: this.#aborted,
      fastPath: [...this.#fastPath],
    };
  }

  #countsFrom(counts: NativeCounts | undefined): Record<string, SyscallCounts> {
    const out: Record<string, SyscallCounts> = {};
    for (const i of this.#named) {
      const name = this.#names[i];
      if (name === undefined) continue;
      out[name] = { calls: counts?.calls[i] ?? 0, faulted: counts?.faulted[i] ?? 0, delayed: counts?.delayed[i] ?? 0 };
    }
    return out;
  }

  #rulesFrom(counts: NativeCounts | undefined): RuleStats[] {
    return this.plan.rules.map((rule, i) => ({
      id: rule.id,
      matched: counts?.matched[i] ?? 0,
      fired: counts?.fired[i] ?? 0,
    }));
  }

  #record(e: NativeLogEntry): FaultRecord {
    return {
      seq: e.seq,
      rule: this.plan.rules[e.rule]?.id ?? `#${e.rule}`,
      syscall: this.#names[e.sys] ?? `sys${e.sys}`,
      pid: e.pid,
      tid: e.tid,
      fd: e.fd,
      target: e.target,
      action: formatAction(e.action, e.value),
      tMs: Math.round(e.tNs / 1e3) / 1e3,
      runId: this.runId,
    };
  }
}
