/**
 * Running a topology: services started in order (replicas of one service together), each replica's every
 * incarnation its own sysfault run; events (kills, rolling restarts, rule switches); restart policies; the
 * workload (a command or a function); one timeline on one monotonic clock; everything ended together.
 *
 * The clock: tMs = performance.now() - (performance.now() at the topology start). A fault's own tMs counts from
 * its run's start (the shared-memory session created inside spawn(), on the same CLOCK_MONOTONIC); it is
 * mapped onto the topology clock by adding the topology time at which that session was created (the
 * handle's clockOrigin). Entries Node observes (ready, exit, log lines, samples) are stamped when observed, so
 * an effect is never stamped before its cause.
 */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync, realpathSync, writeFileSync, type WriteStream } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { detectEngine, resolveCommand } from '../run/engine.js';
import { SysfaultError, UsageError } from '../common/errors.js';
import { spawn } from '../run/run.js';
import { signalChild } from '../run/terminate.js';
import { freePorts } from '../common/ports.js';
import { expandTemplate, planExtension, resolvePlanFor, TopologyError, type Scope } from './file.js';
import { topologyMetrics } from './metrics.js';
import type {
  EventSpec,
  IncarnationReport,
  InstanceReport,
  ServiceSpec,
  TimelineEntry,
  TopologyEndReason,
  TopologyEvents,
  TopologyHandle,
  TopologyOptions,
  TopologyResult,
  TopologySpec,
  WorkloadContext,
  WorkloadSample,
} from './types.js';
import type { RunHandle } from '../run/handle.js';
import type { Engine, ExitInfo, RunResult } from '../common/run-result.js';
import type { RuleInput } from '../plan/schema.js';

const POLL_MS = 5;
const READY_POLL_MS = 20;
const CONNECT_TIMEOUT_MS = 250;
const KILL_ESCALATION_MS = 5_000;
const round = (n: number): number => Math.round(n * 1000) / 1000;

interface Incarnation {
  readonly n: number;
  readonly handle: RunHandle;
  readonly baseMs: number;
  readonly logFile: string;
  pid: number | null;
  readyMs: number | null;
  ready: boolean;
  endMs: number | null;
  exit: ExitInfo | null;
  result: RunResult | null;
  endedBy: 'event' | 'stop' | 'crash' | null;
  exited: boolean;
  readonly done: Promise<void>;
  markDone: () => void;
  readonly lineWaiters: Set<(line: string) => void>;
}

interface Instance {
  readonly spec: ServiceSpec;
  readonly replica: number;
  readonly serviceId: string;
  readonly incarnations: Incarnation[];
  current: Incarnation | undefined;
  policyRestarts: number;
  planPath: string | undefined;
  engine: Engine | undefined;
}

interface WorkloadState {
  kind: 'command' | 'function';
  startMs: number;
  endMs: number | null;
  exit: ExitInfo | null;
  error: string | null;
  logFile: string | null;
  child: ChildProcess | undefined;
  done: Promise<void>;
}

/** @internal The TopologyHandle implementation. */
export class TopologyRun extends EventEmitter<TopologyEvents> implements TopologyHandle {
  readonly topologyId = randomUUID();
  readonly spec: TopologySpec;
  readonly result: Promise<TopologyResult>;
  readonly ready: Promise<void>;
  ports: Record<string, number[]> = {};
  dir: string;

  readonly #options: TopologyOptions;
  readonly #t0 = performance.now();
  readonly #epochMs = performance.timeOrigin + this.#t0;
  readonly #startedAt = new Date(this.#epochMs).toISOString();
  readonly #entries: TimelineEntry[] = [];
  #seq = 0;
  readonly #samples: WorkloadSample[] = [];
  readonly #instances: Instance[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #stop = new AbortController();
  readonly #ruleState = new Map<string, Map<string, boolean>>();
  readonly #finishedCalls = new Map<string, number>(); // `${service}\0${syscall}` -> calls of ended incarnations
  readonly #pendingTriggers: Extract<EventSpec['at'], { kind: 'syscall' }>[] = [];
  readonly #triggerEvents = new Map<object, EventSpec>();
  #pollTimer: NodeJS.Timeout | undefined;
  #pendingTimeEvents = 0;
  #busy = 0; // event sequences and policy restarts in progress
  #readyMs: number | null = null;
  #ending: Promise<TopologyResult> | undefined;
  #reason: TopologyEndReason = 'stopped';
  #error: string | null = null;
  #workload: WorkloadState | null = null;
  #commands = new Map<string, string>();
  #settle!: { resolve: (r: TopologyResult) => void; reject: (e: unknown) => void };
  #readySettle!: { resolve: () => void; reject: (e: unknown) => void };
  #onAbort: (() => void) | undefined;

  constructor(spec: TopologySpec, options: TopologyOptions) {
    super();
    this.spec = spec;
    this.#options = options;
    this.result = new Promise<TopologyResult>((resolve, reject) => (this.#settle = { resolve, reject }));
    this.result.catch(() => {});
    this.ready = new Promise<void>((resolve, reject) => (this.#readySettle = { resolve, reject }));
    this.ready.catch(() => {});
    this.dir = options.dir !== undefined ? resolve(options.dir) : realpathSync(mkdtempSync(join(tmpdir(), 'sysfault-topology-')));
    void this.#main();
  }

  now(): number {
    return round(performance.now() - this.#t0);
  }

  timeline(): TimelineEntry[] {
    return sortEntries(this.#entries);
  }

  samples(): WorkloadSample[] {
    return [...this.#samples];
  }

  run(service: string, replica = 0): RunHandle | undefined {
    return this.#instances.find((i) => i.spec.name === service && i.replica === replica)?.current?.handle;
  }

  stop(): Promise<TopologyResult> {
    return this.#end('stopped');
  }

  // -------------------------------------------------------------------------------------------------------

  async #main(): Promise<void> {
    const spec = this.spec;
    try {
      mkdirSync(join(this.dir, 'logs'), { recursive: true });
      this.ports = await allocatePorts(spec.ports);
      if (this.#ending) {
        this.#readySettle.reject(new Error(`the topology ended (${this.#reason}) before it started`));
        return;
      }
      this.#entry({ kind: 'topology-start', tMs: 0 });
      this.#resolveCommands();
      this.#timer(this.#options.timeoutMs ?? spec.timeoutMs, () => void this.#end('timeout', `the topology timed out after ${this.#options.timeoutMs ?? spec.timeoutMs} ms`));
      const abort = this.#options.signal;
      if (abort) {
        if (abort.aborted) throw abort.reason;
        this.#onAbort = () => void this.#end('aborted');
        abort.addEventListener('abort', this.#onAbort, { once: true });
      }
      for (const s of spec.services) {
        for (let r = 0; r < s.replicas; r++) {
          this.#instances.push({ spec: s, replica: r, serviceId: `${s.name}.${r}`, incarnations: [], current: undefined, policyRestarts: 0, planPath: undefined, engine: undefined });
        }
      }
      for (const s of spec.services) {
        if (this.#ending) break;
        const group = this.#instances.filter((i) => i.spec === s);
        const started = group.map((inst) => this.#startIncarnation(inst));
        const problems = await Promise.all(group.map((inst, k) => this.#waitReady(inst, started[k] as Incarnation)));
        const problem = problems.find((p) => p !== null);
        if (problem && !this.#ending) {
          void this.#end('not-ready', problem);
          break;
        }
      }
      if (this.#ending) {
        this.#readySettle.reject(new Error(this.#error ?? `the topology ended (${this.#reason}) before every service was ready`));
        return;
      }
      this.#readyMs = this.now();
      this.#entry({ kind: 'topology-ready' });
      this.#readySettle.resolve();
      this.emit('ready');
      this.#scheduleEvents();
      if (spec.durationMs !== undefined) this.#timer(spec.durationMs, () => void this.#end('duration'));
      this.#startWorkload();
      this.#checkAllDown();
    } catch (err) {
      // Nothing could be started (a bad command, an engine problem): undo what was and reject.
      this.#readySettle.reject(err);
      if (!this.#ending) {
        this.#error = err instanceof Error ? err.message : String(err);
        this.#ending = this.#finish('not-ready');
      }
      await this.#ending.catch(() => undefined);
      this.#settle.reject(err);
    }
  }

  /** Every command is found before anything starts (127/126 errors then, not half-way). */
  #resolveCommands(): void {
    const check = (command: string, cwd: string, key: string, env: Record<string, string>): void => {
      this.#commands.set(key, resolveCommand(command, env.PATH ?? process.env.PATH, cwd));
    };
    for (const s of this.spec.services) {
      for (let r = 0; r < s.replicas; r++) {
        const scope = this.#scope(r);
        const env = { ...process.env, ...this.#expandEnv(s.env, scope) } as Record<string, string>;
        check(this.#expand(s.command, scope), this.#cwd(s.cwd, scope), `${s.name}.${r}`, env);
      }
    }
    const w = this.spec.workload;
    if (w && !this.#options.workload) {
      const scope = this.#scope(undefined);
      check(this.#expand(w.command, scope), this.#cwd(w.cwd, scope), 'workload', { ...process.env, ...this.#expandEnv(w.env, scope) } as Record<string, string>);
    }
  }

  #scope(replica: number | undefined): Scope {
    return { ports: this.ports, dir: this.dir, here: this.spec.baseDir, replica, vars: this.spec.vars, env: process.env };
  }

  #expand(value: string, scope: Scope): string {
    const r = expandTemplate(value, scope);
    if ('problem' in r) throw new TopologyError(`${JSON.stringify(value)}: ${r.problem}`);
    return r.value;
  }

  #expandEnv(env: Readonly<Record<string, string>>, scope: Scope): Record<string, string> {
    return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, this.#expand(v, scope)]));
  }

  #cwd(cwd: string | undefined, scope: Scope): string {
    return resolve(this.spec.baseDir, cwd === undefined ? '.' : this.#expand(cwd, scope));
  }

  // -------------------------------------------------------------------------------------------------------
  // Timeline

  #entry(fields: Omit<TimelineEntry, 'seq' | 'tMs' | 'topologyId'> & { tMs?: number }, inst?: Instance, inc?: Incarnation): TimelineEntry {
    const entry: TimelineEntry = {
      seq: this.#seq++,
      tMs: round(fields.tMs ?? this.now()),
      kind: fields.kind,
      topologyId: this.topologyId,
      ...(inst && { service: inst.spec.name, serviceId: inst.serviceId, replica: inst.replica }),
      ...(inc && { incarnation: inc.n, runId: inc.handle.runId, ...(inc.pid !== null && { pid: inc.pid }) }),
    };
    for (const [key, value] of Object.entries(fields)) {
      if (key !== 'kind' && key !== 'tMs' && value !== undefined) (entry as unknown as Record<string, unknown>)[key] = value;
    }
    this.#entries.push(entry);
    try {
      this.#options.onEntry?.(entry);
    } catch {
      // a listener's bug must not break the run
    }
    this.emit('entry', entry);
    return entry;
  }

  // -------------------------------------------------------------------------------------------------------
  // Services

  #startIncarnation(inst: Instance): Incarnation {
    const s = inst.spec;
    const scope = this.#scope(inst.replica);
    const n = inst.incarnations.length;
    const args = s.args.map((a) => this.#expand(a, scope));
    const cwd = this.#cwd(s.cwd, scope);
    const plan = resolvePlanFor(this.spec, s, scope);
    let planInput = plan.input;
    if (plan.text !== undefined && typeof plan.input === 'string') {
      inst.planPath ??= join(this.dir, 'plans', `${inst.serviceId}${planExtension(plan.input)}`);
      mkdirSync(join(this.dir, 'plans'), { recursive: true });
      writeFileSync(inst.planPath, plan.text);
      planInput = inst.planPath;
    }
    const named = new Set(plan.normalized?.rules.flatMap((r) => r.syscalls) ?? []);
    const counting: RuleInput[] = [];
    for (const t of this.#allTriggers()) {
      if (t.service === s.name && !named.has(t.syscall)) {
        named.add(t.syscall);
        counting.push({ id: `topology-count-${t.syscall}`, syscalls: [t.syscall], limit: 0, action: { errno: 'EIO' } });
      }
    }
    const env: Record<string, string> = {
      ...this.#expandEnv(s.env, scope),
      SYSFAULT_TOPOLOGY_ID: this.topologyId,
      SYSFAULT_SERVICE: s.name,
      SYSFAULT_SERVICE_ID: inst.serviceId,
      SYSFAULT_SERVICE_REPLICA: String(inst.replica),
      SYSFAULT_SERVICE_INCARNATION: String(n),
    };
    const logFile = join(this.dir, 'logs', `${inst.serviceId}.${n}.log`);
    const command = this.#commands.get(inst.serviceId) ?? this.#expand(s.command, scope);
    // The engine is chosen once per replica, before the clock is read: spawn() then has little to do before
    // it creates the run's session (the origin of the run's fault times).
    inst.engine ??= s.engine === 'auto' ? detectEngine(command, env.PATH ?? process.env.PATH).engine : s.engine;
    const handle = spawn(command, args, {
      plan: planInput,
      seed: s.seed,
      engine: inst.engine,
      env,
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      faults: counting,
    });
    const baseMs = round(handle.clockOrigin - this.#t0);
    let markDone!: () => void;
    const done = new Promise<void>((r) => (markDone = r));
    const inc: Incarnation = {
      n,
      handle,
      baseMs,
      logFile,
      pid: null,
      readyMs: null,
      ready: false,
      endMs: null,
      exit: null,
      result: null,
      endedBy: null,
      exited: false,
      done,
      markDone,
      lineWaiters: new Set(),
    };
    inst.incarnations.push(inc);
    inst.current = inc;
    for (const [rule, on] of this.#ruleState.get(s.name) ?? []) {
      try {
        handle.setEnabled(rule, on);
      } catch {
        // not in this plan: checked at load
      }
    }
    handle.once('started', (pid) => {
      inc.pid = pid;
      this.#entry({ kind: 'start', tMs: baseMs }, inst, inc);
    });
    handle.on('fault', (fault) => {
      this.#entry({ kind: 'fault', tMs: baseMs + fault.tMs, pid: fault.pid, fault }, inst, inc);
    });
    const log = createWriteStream(logFile);
    log.on('error', () => {});
    let open = 2;
    const closeOne = (): void => {
      if (--open === 0) log.end();
    };
    this.#lines(handle.stdout, inst, inc, log, true, closeOne);
    this.#lines(handle.stderr, inst, inc, log, false, closeOne);
    handle.result.then(
      (result) => this.#onExit(inst, inc, result),
      (err: unknown) => this.#onExit(inst, inc, err instanceof SysfaultError ? (err.result ?? null) : null, err),
    );
    return inc;
  }

  #lines(stream: Readable | null, inst: Instance, inc: Incarnation, log: WriteStream, stdout: boolean, closed: () => void): void {
    if (!stream) {
      closed();
      return;
    }
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    rl.on('line', (line) => {
      log.write(`${line}\n`);
      this.#options.echo?.write(`[${inst.serviceId}${inc.n > 0 ? `#${inc.n}` : ''}] ${line}\n`);
      if (inst.spec.logLines?.test(line)) this.#entry({ kind: 'log', line, reason: stdout ? 'stdout' : 'stderr' }, inst, inc);
      if (stdout) for (const waiter of inc.lineWaiters) waiter(line);
    });
    rl.once('close', closed);
  }

  /** Waits until a replica's incarnation is ready; returns null, or why it never was. */
  async #waitReady(inst: Instance, inc: Incarnation): Promise<string | null> {
    const ready = inst.spec.ready;
    const deadline = performance.now() + ready.timeoutMs;
    let problem: string | null = null;
    if (ready.kind === 'port') {
      const port = Number(this.#expand(ready.port, this.#scope(inst.replica)));
      let last = '';
      for (;;) {
        if (this.#ending) return 'the topology ended';
        if (inc.exited) {
          problem = `${inst.serviceId} exited (${describeExit(inc.exit)}) before port ${port} accepted connections`;
          break;
        }
        const outcome = await tryConnect(ready.host, port);
        if (outcome === null) break;
        last = outcome;
        if (performance.now() >= deadline) {
          problem = `${inst.serviceId} not ready after ${ready.timeoutMs} ms: ${ready.host}:${port} did not accept connections (${last})`;
          break;
        }
        await this.#sleep(READY_POLL_MS);
      }
    } else if (ready.kind === 'stdoutLine') {
      const pattern = ready.pattern as RegExp;
      problem = await new Promise<string | null>((resolveReady) => {
        const finish = (value: string | null): void => {
          clearTimeout(timer);
          inc.lineWaiters.delete(waiter);
          this.#stop.signal.removeEventListener('abort', onStop);
          resolveReady(value);
        };
        const waiter = (line: string): void => {
          if (pattern.test(line)) finish(null);
        };
        const onStop = (): void => finish('the topology ended');
        const timer = setTimeout(() => finish(`${inst.serviceId} not ready after ${ready.timeoutMs} ms: no stdout line matched /${pattern.source}/`), ready.timeoutMs);
        inc.lineWaiters.add(waiter);
        this.#stop.signal.addEventListener('abort', onStop, { once: true });
        void inc.done.then(() => finish(`${inst.serviceId} exited (${describeExit(inc.exit)}) before a stdout line matched /${pattern.source}/`));
      });
    }
    if (problem === null && inc.exited) problem = `${inst.serviceId} exited (${describeExit(inc.exit)}) before it was ready`;
    if (problem !== null) {
      if (problem !== 'the topology ended') this.#entry({ kind: 'not-ready', reason: problem }, inst, inc);
      return problem;
    }
    inc.ready = true;
    inc.readyMs = this.now();
    this.#entry({ kind: 'ready' }, inst, inc);
    return null;
  }

  #onExit(inst: Instance, inc: Incarnation, result: RunResult | null, err?: unknown): void {
    inc.exited = true;
    inc.endMs = this.now();
    inc.result = result;
    inc.exit = result?.exit ?? null;
    inc.endedBy ??= this.#ending ? 'stop' : 'crash';
    for (const [syscall, counts] of Object.entries(result?.counts ?? {})) {
      const key = `${inst.spec.name}\0${syscall}`;
      this.#finishedCalls.set(key, (this.#finishedCalls.get(key) ?? 0) + counts.calls);
    }
    if (inc.ready) {
      inc.ready = false;
      this.#entry({ kind: 'unready' }, inst, inc);
    }
    this.#entry(
      {
        kind: 'exit',
        reason: inc.endedBy,
        ...(inc.exit && { exit: inc.exit }),
        ...(err !== undefined && { line: err instanceof Error ? err.message : String(err) }),
      },
      inst,
      inc,
    );
    if (inst.current === inc) inst.current = undefined;
    inc.markDone();
    if (this.#ending || inc.endedBy !== 'crash' || this.#readyMs === null) return;

    const policy = inst.spec.restart;
    const clean = inc.exit?.code === 0;
    if ((policy.policy === 'always' || (policy.policy === 'on-failure' && !clean)) && inst.policyRestarts < policy.maxRestarts) {
      inst.policyRestarts++;
      void this.#busyWith(async () => {
        await this.#sleep(policy.delayMs);
        if (this.#ending) return;
        this.#entry({ kind: 'restart', reason: 'policy' }, inst);
        await this.#restart(inst);
      });
      return;
    }
    if (this.spec.stopOnServiceExit) {
      void this.#end('service-exit', `${inst.serviceId} exited (${describeExit(inc.exit)})`);
      return;
    }
    this.#checkAllDown();
  }

  async #restart(inst: Instance): Promise<void> {
    let inc: Incarnation;
    try {
      inc = this.#startIncarnation(inst);
    } catch (err) {
      this.#entry({ kind: 'not-ready', reason: `cannot restart: ${err instanceof Error ? err.message : String(err)}` }, inst);
      return;
    }
    await this.#waitReady(inst, inc);
  }

  /** Without a workload, the topology ends once every service is down and nothing can bring one back. */
  #checkAllDown(): void {
    if (this.#ending || this.#workload || this.#readyMs === null) return;
    if (this.#busy > 0 || this.#pendingTimeEvents > 0 || this.#pendingTriggers.length > 0) return;
    if (this.#instances.every((i) => i.current === undefined)) void this.#end('services-exited');
  }

  async #busyWith(work: () => Promise<void>): Promise<void> {
    this.#busy++;
    try {
      await work();
    } finally {
      this.#busy--;
      this.#checkAllDown();
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Events

  #allTriggers(): Extract<EventSpec['at'], { kind: 'syscall' }>[] {
    return this.spec.events.flatMap((e) => (e.at.kind === 'syscall' ? [e.at] : []));
  }

  #scheduleEvents(): void {
    for (const event of this.spec.events) {
      if (event.at.kind === 'time') {
        this.#pendingTimeEvents++;
        this.#timer(event.at.ms, () => {
          this.#pendingTimeEvents--;
          this.#fire(event);
        });
      } else {
        this.#pendingTriggers.push(event.at);
        this.#triggerEvents.set(event.at, event);
      }
    }
    if (this.#pendingTriggers.length > 0) {
      this.#pollTimer = setInterval(() => this.#pollTriggers(), POLL_MS);
      this.#pollTriggers();
    }
  }

  #calls(service: string, syscall: string): number {
    let calls = this.#finishedCalls.get(`${service}\0${syscall}`) ?? 0;
    for (const inst of this.#instances) {
      if (inst.spec.name !== service || !inst.current || inst.current.exited) continue;
      try {
        calls += inst.current.handle.counts()[syscall]?.calls ?? 0;
      } catch {
        // ending
      }
    }
    return calls;
  }

  #pollTriggers(): void {
    for (const trigger of [...this.#pendingTriggers]) {
      if (this.#calls(trigger.service, trigger.syscall) < trigger.count) continue;
      this.#pendingTriggers.splice(this.#pendingTriggers.indexOf(trigger), 1);
      const event = this.#triggerEvents.get(trigger);
      if (event) this.#fire(event);
    }
    if (this.#pendingTriggers.length === 0 && this.#pollTimer) {
      clearInterval(this.#pollTimer);
      this.#pollTimer = undefined;
    }
  }

  #fire(event: EventSpec): void {
    if (this.#ending) return;
    const targets = this.#instances.filter((i) => i.spec.name === event.service);
    if (event.action !== 'kill') {
      const on = event.action === 'enable';
      const state = this.#ruleState.get(event.service) ?? new Map<string, boolean>();
      state.set(event.rule, on);
      this.#ruleState.set(event.service, state);
      const kind = on ? 'rule-enabled' : 'rule-disabled';
      for (const inst of targets) {
        const inc = inst.current;
        try {
          inc?.handle.setEnabled(event.rule, on);
        } catch {
          // checked at load
        }
        this.#entry({ kind, rule: event.rule, event: event.index }, inst, inc);
      }
      return;
    }
    const chosen = event.replica === undefined ? targets : targets.filter((i) => i.replica === event.replica);
    void this.#busyWith(async () => {
      for (const [k, inst] of chosen.entries()) {
        if (this.#ending) return;
        if (k > 0 && event.pauseMs > 0) await this.#sleep(event.pauseMs);
        if (this.#ending) return;
        await this.#killAndRestart(inst, event);
      }
    });
  }

  async #killAndRestart(inst: Instance, event: Extract<EventSpec, { action: 'kill' }>): Promise<void> {
    const inc = inst.current;
    if (!inc) {
      this.#entry({ kind: 'kill', signal: event.signalName, event: event.index, reason: 'not running' }, inst);
    } else {
      inc.endedBy = 'event';
      this.#entry({ kind: 'kill', signal: event.signalName, event: event.index }, inst, inc);
      if (inc.ready) {
        inc.ready = false;
        this.#entry({ kind: 'unready', event: event.index }, inst, inc);
      }
      inc.handle.kill(event.signal);
      const exited = await Promise.race([inc.done.then(() => true), this.#sleep(KILL_ESCALATION_MS).then(() => false)]);
      if (!exited && !inc.exited && !this.#ending) {
        this.#entry({ kind: 'kill', signal: 'SIGKILL', event: event.index, reason: 'escalation' }, inst, inc);
        inc.handle.kill('SIGKILL');
        await inc.done;
      }
    }
    if (event.restartAfterMs === undefined || this.#ending) return;
    await this.#sleep(event.restartAfterMs);
    if (this.#ending || inst.current) return;
    this.#entry({ kind: 'restart', reason: 'event', event: event.index }, inst);
    await this.#restart(inst);
  }

  // -------------------------------------------------------------------------------------------------------
  // Workload

  #startWorkload(): void {
    const fn = this.#options.workload;
    const w = this.spec.workload;
    if (!fn && !w) return;
    const startMs = this.now();
    this.#entry({ kind: 'workload-start' });
    if (fn) {
      const state: WorkloadState = { kind: 'function', startMs, endMs: null, exit: null, error: null, logFile: null, child: undefined, done: Promise.resolve() };
      this.#workload = state;
      state.done = (async () => {
        try {
          await fn(this.#context());
          state.exit = { code: 0, signal: null };
        } catch (err) {
          state.exit = { code: 1, signal: null };
          state.error = err instanceof Error ? err.message : String(err);
        }
        state.endMs = this.now();
        this.#entry({ kind: 'workload-exit', exit: state.exit, ...(state.error !== null && { reason: state.error }) });
        if (state.error !== null && !this.#stop.signal.aborted) this.#error ??= `the workload failed: ${state.error}`;
        void this.#end('workload-exit');
      })();
      return;
    }
    const spec = w as NonNullable<typeof w>;
    const scope = this.#scope(undefined);
    const logFile = join(this.dir, 'logs', 'workload.log');
    const env = {
      ...process.env,
      ...this.#expandEnv(spec.env, scope),
      SYSFAULT_TOPOLOGY_ID: this.topologyId,
      SYSFAULT_TOPOLOGY_DIR: this.dir,
    };
    const command = this.#commands.get('workload') ?? this.#expand(spec.command, scope);
    const child = spawnChild(command, spec.args.map((a) => this.#expand(a, scope)), {
      cwd: this.#cwd(spec.cwd, scope),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const state: WorkloadState = { kind: 'command', startMs, endMs: null, exit: null, error: null, logFile, child, done: Promise.resolve() };
    this.#workload = state;
    const log = createWriteStream(logFile);
    log.on('error', () => {});
    const out = createInterface({ input: child.stdout as Readable, crlfDelay: Infinity });
    out.on('line', (line) => {
      const sample = parseSampleLine(line);
      if (sample) {
        const { ts, startTs, ...fields } = sample;
        // A wall-clock `ts` (ms since the epoch, as performance.timeOrigin + performance.now() gives it) is
        // mapped onto the topology clock; never later than the line arrived.
        const now = this.now();
        const tMs = ts === undefined ? now : Math.min(now, ts - this.#epochMs);
        this.#record({ ...fields, tMs, ...(startTs !== undefined && { startMs: Math.min(tMs, startTs - this.#epochMs) }) });
      } else {
        log.write(`${line}\n`);
        this.#options.echo?.write(`[workload] ${line}\n`);
      }
    });
    const err = createInterface({ input: child.stderr as Readable, crlfDelay: Infinity });
    err.on('line', (line) => {
      log.write(`${line}\n`);
      this.#options.echo?.write(`[workload] ${line}\n`);
    });
    const closed = Promise.all([new Promise((r) => out.once('close', r)), new Promise((r) => err.once('close', r))]);
    state.done = new Promise<void>((resolveDone) => {
      let settled = false;
      const finish = (exit: ExitInfo, error: string | null): void => {
        if (settled) return;
        settled = true;
        void closed.then(() => {
          log.end();
          state.exit = exit;
          state.error = error;
          state.endMs = this.now();
          this.#entry({ kind: 'workload-exit', exit, ...(error !== null && { reason: error }) });
          resolveDone();
          void this.#end('workload-exit');
        });
      };
      child.once('error', (e) => finish({ code: 127, signal: null }, e.message));
      child.once('exit', (code, signal) => finish({ code, signal }, null));
    });
  }

  #record(input: Parameters<WorkloadContext['record']>[0]): WorkloadSample {
    const tMs = round(input.tMs ?? this.now());
    const latencyMs = round(input.latencyMs);
    const sample: WorkloadSample = { ...input, tMs, startMs: round(input.startMs ?? tMs - latencyMs), latencyMs, ok: input.ok };
    this.#samples.push(sample);
    if (!sample.ok) this.#entry({ kind: 'workload-error', tMs, sample });
    return sample;
  }

  #context(): WorkloadContext {
    const ports = this.ports;
    return {
      topologyId: this.topologyId,
      dir: this.dir,
      ports,
      port: (name, index = 0) => {
        const port = ports[name]?.[index];
        if (port === undefined) throw new UsageError(`no port ${JSON.stringify(name)}[${index}] (ports: ${Object.keys(ports).join(', ') || 'none'})`);
        return port;
      },
      signal: this.#stop.signal,
      now: () => this.now(),
      record: (sample) => this.#record(sample),
      timed: async (op, fn, fields = {}) => {
        const start = this.now();
        try {
          const value = await fn();
          const v = (value ?? {}) as { ok?: boolean; status?: number | string; error?: string };
          this.#record({
            op,
            ...fields,
            ok: v.ok ?? true,
            latencyMs: this.now() - start,
            startMs: start,
            ...(v.status !== undefined && { status: v.status }),
            ...(v.error !== undefined && { error: v.error }),
          });
          return value;
        } catch (err) {
          this.#record({ op, ...fields, ok: false, latencyMs: this.now() - start, startMs: start, error: err instanceof Error ? err.message : String(err) });
          throw err;
        }
      },
      mark: (label) => void this.#entry({ kind: 'mark', line: label }),
      topology: this,
    };
  }

  // -------------------------------------------------------------------------------------------------------
  // The end

  #timer(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  /** Sleeps, waking early when the topology ends. */
  #sleep(ms: number): Promise<void> {
    if (this.#stop.signal.aborted) return Promise.resolve();
    return new Promise((resolveSleep) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#stop.signal.removeEventListener('abort', done);
        resolveSleep();
      };
      const timer = setTimeout(done, ms);
      this.#stop.signal.addEventListener('abort', done, { once: true });
    });
  }

  #end(reason: TopologyEndReason, error?: string): Promise<TopologyResult> {
    if (this.#ending) return this.#ending;
    if (error !== undefined) this.#error ??= error;
    this.#ending = this.#finish(reason);
    this.#ending.then(
      (result) => {
        this.emit('end', result);
        this.#settle.resolve(result);
      },
      (err: unknown) => this.#settle.reject(err),
    );
    return this.#ending;
  }

  async #finish(reason: TopologyEndReason): Promise<TopologyResult> {
    this.#reason = reason;
    this.#stop.abort();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    if (this.#onAbort) this.#options.signal?.removeEventListener('abort', this.#onAbort);
    const grace = this.spec.stopGraceMs;

    // The workload first (the client), then every service, all at once; SIGKILL after the grace period.
    const workload = this.#workload;
    if (workload?.child && workload.exit === null) {
      signalChild(workload.child, 'SIGTERM');
      const t = setTimeout(() => signalChild(workload.child as ChildProcess, 'SIGKILL'), grace);
      await workload.done;
      clearTimeout(t);
    } else if (workload?.kind === 'function' && workload.exit === null) {
      await Promise.race([workload.done, delay(grace)]);
    }
    const running = this.#instances.flatMap((i) => (i.current && !i.current.exited ? [i.current] : []));
    for (const inc of running) {
      inc.endedBy ??= 'stop';
      inc.handle.kill('SIGTERM');
    }
    const all = Promise.all(running.map((inc) => inc.done));
    const t = setTimeout(() => {
      for (const inc of running) if (!inc.exited) inc.handle.kill('SIGKILL');
    }, grace);
    await all;
    clearTimeout(t);
    // Policy restarts or restarts in flight that started something just now: end those too.
    const late = this.#instances.flatMap((i) => i.incarnations.filter((inc) => !inc.exited));
    for (const inc of late) {
      inc.endedBy ??= 'stop';
      inc.handle.kill('SIGKILL');
    }
    await Promise.all(late.map((inc) => inc.done));
    this.#entry({ kind: 'topology-end', reason });
    return this.#buildResult();
  }

  #buildResult(): TopologyResult {
    const timeline = sortEntries(this.#entries);
    const samples = [...this.#samples].sort((a, b) => a.tMs - b.tMs);
    const end = this.now();
    const instances: InstanceReport[] = this.#instances.map((inst) => ({
      service: inst.spec.name,
      serviceId: inst.serviceId,
      replica: inst.replica,
      incarnations: inst.incarnations.map(
        (inc): IncarnationReport => ({
          incarnation: inc.n,
          runId: inc.handle.runId,
          pid: inc.pid,
          engine: inc.handle.engine,
          seed: inc.handle.seed,
          startMs: inc.baseMs,
          readyMs: inc.readyMs,
          endMs: inc.endMs,
          exit: inc.exit,
          endedBy: inc.endedBy,
          result: inc.result,
          logFile: inc.logFile,
        }),
      ),
    }));
    const w = this.#workload;
    return {
      version: 1,
      topologyId: this.topologyId,
      name: this.spec.name,
      startedAt: this.#startedAt,
      epochMs: round(this.#epochMs),
      durationMs: end,
      reason: this.#reason,
      error: this.#error,
      readyMs: this.#readyMs,
      dir: this.dir,
      ports: this.ports,
      instances,
      workload: w && { kind: w.kind, startMs: w.startMs, endMs: w.endMs, exit: w.exit, error: w.error, samples: samples.length, logFile: w.logFile },
      samples,
      timeline,
      metrics: topologyMetrics(timeline, samples, { endMs: end }),
    };
  }
}

/**
 * When the last run session was created (performance.now()), and how many were: a run's fault times count
 * from its session's creation, which happens inside spawn() after its validation (a few ms). The binding's
 * createSession is wrapped once to read the clock right before the session is created, so the mapping onto
 * the topology clock is exact to a few microseconds; without it, the time before spawn() is used (early by
 * the validation time).
 */
function sortEntries(entries: readonly TimelineEntry[]): TimelineEntry[] {
  return [...entries].sort((a, b) => a.tMs - b.tMs || a.seq - b.seq);
}

function describeExit(exit: ExitInfo | null): string {
  if (!exit) return 'status unknown';
  return exit.signal !== null ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One TCP connect attempt: null when it was accepted, else why not. */
function tryConnect(host: string, port: number): Promise<string | null> {
  return new Promise((resolveConnect) => {
    const socket = connect({ host, port });
    const done = (why: string | null): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolveConnect(why);
    };
    const timer = setTimeout(() => done('connect timed out'), CONNECT_TIMEOUT_MS);
    socket.once('connect', () => done(null));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

/** Distinct free loopback ports, so many for each name. */
async function allocatePorts(wanted: Readonly<Record<string, number>>): Promise<Record<string, number[]>> {
  const ports = await freePorts(Object.values(wanted).reduce((a, b) => a + b, 0));
  const out: Record<string, number[]> = {};
  for (const [name, count] of Object.entries(wanted)) out[name] = ports.splice(0, count);
  return out;
}

/** A sample as a workload command prints it. */
export type SampleLine = Omit<WorkloadSample, 'tMs' | 'startMs'> & { ts?: number; startTs?: number };

/**
 * A workload command's stdout line as a sample: a JSON object with a boolean `ok` and a numeric `latencyMs`
 * (optional: op, key, status, error; `ts` and `startTs`, wall-clock ms since the epoch of its end and start,
 * e.g. performance.timeOrigin + performance.now()). Without `ts` it is stamped when the line arrives.
 */
export function parseSampleLine(line: string): SampleLine | undefined {
  if (!line.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.ok !== 'boolean' || typeof v.latencyMs !== 'number' || !Number.isFinite(v.latencyMs) || v.latencyMs < 0) return undefined;
  return {
    ok: v.ok,
    latencyMs: v.latencyMs,
    ...(typeof v.op === 'string' && { op: v.op }),
    ...(typeof v.key === 'string' && { key: v.key }),
    ...((typeof v.status === 'number' || typeof v.status === 'string') && { status: v.status }),
    ...(typeof v.error === 'string' && { error: v.error }),
    ...(typeof v.ts === 'number' && Number.isFinite(v.ts) && { ts: v.ts }),
    ...(typeof v.startTs === 'number' && Number.isFinite(v.startTs) && { startTs: v.startTs }),
  };
}
