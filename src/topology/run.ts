/**
 * Running a topology: services started in order (replicas of one service together), each replica's every
 * incarnation its own sysfault run; restart policies; one timeline on one monotonic clock; everything ended
 * together. The events (kills, rolling restarts, rule switches) are in events.ts, the workload (a command or a
 * function) in workload.ts, the result in report.ts; they see this run through TopologyHost (host.ts).
 *
 * The clock: tMs = performance.now() - (performance.now() at the topology start). A fault's own tMs counts from
 * its run's start (the shared-memory session created inside spawn(), on the same CLOCK_MONOTONIC); it is
 * mapped onto the topology clock by adding the topology time at which that session was created (the
 * handle's clockOrigin). Entries Node observes (ready, exit, log lines, samples) are stamped when observed, so
 * an effect is never stamped before its cause.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync, realpathSync, writeFileSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { SysfaultError } from '../common/errors.js';
import { freePorts, tryConnect } from '../common/ports.js';
import type { RunResult } from '../common/run-result.js';
import type { RuleInput } from '../plan/schema.js';
import { detectEngine, resolveCommand } from '../run/engine.js';
import type { RunHandle } from '../run/handle.js';
import { spawn } from '../run/run.js';
import { signalChild } from '../run/terminate.js';
import { EventSchedule } from './events.js';
import { planExtension, resolvePlanFor } from './plan.js';
import { TopologyError } from './schema.js';
import { expandTemplate, type Scope } from './template.js';
import { describeExit, round, type EntryFields, type Incarnation, type Instance, type TopologyHost } from './host.js';
import { buildTopologyResult, sortEntries } from './report.js';
import type { TimelineEntry, TopologyEndReason, TopologyEvents, TopologyHandle, TopologyOptions, TopologyResult, TopologySpec, WorkloadSample } from './types.js';
import { Workload } from './workload.js';

const READY_POLL_MS = 20;
const CONNECT_TIMEOUT_MS = 250;

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
  readonly #instances: Instance[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #stop = new AbortController();
  readonly #host: TopologyHost;
  readonly #events: EventSchedule;
  readonly #workloadPart: Workload;
  #busy = 0; // event sequences and policy restarts in progress
  #readyMs: number | null = null;
  #ending: Promise<TopologyResult> | undefined;
  #reason: TopologyEndReason = 'stopped';
  #error: string | null = null;
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
    this.#host = this.#makeHost();
    this.#events = new EventSchedule(this.#host);
    this.#workloadPart = new Workload(this.#host);
    void this.#main();
  }

  now(): number {
    return round(performance.now() - this.#t0);
  }

  timeline(): TimelineEntry[] {
    return sortEntries(this.#entries);
  }

  samples(): WorkloadSample[] {
    return [...this.#workloadPart.samples];
  }

  run(service: string, replica = 0): RunHandle | undefined {
    return this.#instances.find((i) => i.spec.name === service && i.replica === replica)?.current?.handle;
  }

  stop(): Promise<TopologyResult> {
    return this.#end('stopped');
  }

  /** The interface the parts (events, workload, report) see. */
  #makeHost(): TopologyHost {
    const ports = (): Record<string, number[]> => this.ports;
    return {
      topologyId: this.topologyId,
      spec: this.spec,
      options: this.#options,
      dir: this.dir,
      get ports() {
        return ports();
      },
      epochMs: this.#epochMs,
      stopSignal: this.#stop.signal,
      instances: this.#instances,
      handle: this,
      now: () => this.now(),
      ending: () => this.#ending !== undefined,
      entry: (fields, inst, inc) => this.#entry(fields, inst, inc),
      scope: (replica) => this.#scope(replica),
      expand: (value, scope) => this.#expand(value, scope),
      expandEnv: (env, scope) => this.#expandEnv(env, scope),
      cwd: (cwd, scope) => this.#cwd(cwd, scope),
      command: (key) => this.#commands.get(key),
      timer: (ms, fn) => this.#timer(ms, fn),
      sleep: (ms) => this.#sleep(ms),
      busyWith: (work) => this.#busyWith(work),
      restart: (inst) => this.#restart(inst),
      fail: (error) => void (this.#error ??= error),
      end: (reason, error) => this.#end(reason, error),
    };
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
      this.#events.start();
      if (spec.durationMs !== undefined) this.#timer(spec.durationMs, () => void this.#end('duration'));
      this.#workloadPart.start();
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

  #entry(fields: EntryFields, inst?: Instance, inc?: Incarnation): TimelineEntry {
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
    for (const t of this.#events.triggers()) {
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
    for (const [rule, on] of this.#events.ruleStates(s.name)) {
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
        const outcome = await tryConnect(ready.host, port, CONNECT_TIMEOUT_MS);
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
    this.#events.addFinishedCalls(inst.spec.name, result?.counts ?? {});
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
    if (this.#ending || this.#workloadPart.state || this.#readyMs === null) return;
    if (this.#busy > 0 || this.#events.pending()) return;
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
    this.#events.stop();
    if (this.#onAbort) this.#options.signal?.removeEventListener('abort', this.#onAbort);
    const grace = this.spec.stopGraceMs;

    // The workload first (the client), then every service, all at once; SIGKILL after the grace period.
    const workload = this.#workloadPart.state;
    const child = workload?.child;
    if (workload && child && workload.exit === null) {
      signalChild(child, 'SIGTERM');
      const t = setTimeout(() => signalChild(child, 'SIGKILL'), grace);
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
    return buildTopologyResult(this.#host, {
      entries: this.#entries,
      samples: this.#workloadPart.samples,
      workload: this.#workloadPart.state,
      startedAt: this.#startedAt,
      reason: this.#reason,
      error: this.#error,
      readyMs: this.#readyMs,
    });
  }
}

/** Distinct free loopback ports, so many for each name. */
async function allocatePorts(wanted: Readonly<Record<string, number>>): Promise<Record<string, number[]>> {
  const ports = await freePorts(Object.values(wanted).reduce((a, b) => a + b, 0));
  const out: Record<string, number[]> = {};
  for (const [name, count] of Object.entries(wanted)) out[name] = ports.splice(0, count);
  return out;
}
