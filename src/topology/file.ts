/**
 * Topology files (version 1, JSON or YAML) and topology objects: strict validation with zod, errors named
 * `file:line:col: field: problem` like plan errors (the same parser and position lookup as src/plan/load.ts), and
 * the `${...}` variables.
 *
 * Everything that can be checked before anything starts is checked at load: the structure, cross references
 * (service names, replicas, rule ids, port names, variables), regexes, and every service's plan, expanded
 * with stand-in ports and directory. Ports and the scratch directory are only known at run time.
 */
import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { z } from 'zod';
import { PlanError } from '../common/errors.js';
import { describeIssues, documentError, expected, formatPath, integer, parseDocumentText, readDocumentFile, readProblem, type DocumentProblem, type Source } from '../common/document.js';
import { normalizePlan, parsePlanText } from '../plan/load.js';
import { show } from '../common/text.js';
import { signalName, signalNumber } from '../plan/signals.js';
import { syscallTable } from '../plan/syscalls.js';
import type {
  EventSpec,
  EventTrigger,
  ReadySpec,
  ServiceSpec,
  TopologyInput,
  TopologySpec,
} from './types.js';
import type { NormalizedPlan } from '../plan/types.js';
import type { PlanInput } from '../plan/schema.js';
import { schemaUrl } from '../plan/schema.js';

/** An invalid topology file or object (exit status 125 in the CLI). */
export class TopologyError extends PlanError {}

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_READY_TIMEOUT_MS = 10_000;
export const DEFAULT_STOP_GRACE_MS = 1_000;
export const MAX_SERVICES = 32;
export const MAX_REPLICAS = 16;
const MAX_MS = 0x7fffffff;


const ms = (what = 'milliseconds') => integer(0, MAX_MS, `a whole number of ${what}`);
const positiveMs = () => integer(1, MAX_MS, 'a whole number of milliseconds, at least 1');
const text = (what: string) => z.string({ error: expected(what) });
const nonEmpty = (what: string) => text(what).min(1, { error: expected(what) });
const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
const nameSchema = (what: string) =>
  text(what).regex(NAME, { error: (iss) => `expected ${what} (a letter, then letters, digits, _ or -), got ${show(iss.input)}` });
const envSchema = z.record(z.string(), text('a string value'), { error: expected('an object of environment variables') });
const argsSchema = z.array(text('a string argument'), { error: expected('a list of string arguments') });

const readySchema = z.strictObject(
  {
    port: z.union([integer(1, 65535, 'a port from 1 to 65535'), z.string()], { error: expected('a port number or "${ports.NAME}"') }).optional(),
    host: nonEmpty('a host address').optional(),
    stdoutLine: text('a regular expression').optional(),
    timeoutMs: positiveMs().optional(),
  },
  { error: expected('a readiness check like {"port": 8080} or {"stdoutLine": "^listening"}') },
);

const restartSchema = z.strictObject(
  {
    policy: z.enum(['never', 'on-failure', 'always'], { error: expected('never, on-failure or always') }),
    delayMs: ms().optional(),
    maxRestarts: integer(0, 1000, 'a number of restarts from 0 to 1000').optional(),
  },
  { error: expected('a restart policy like {"policy": "on-failure"}') },
);

const serviceSchema = z.strictObject(
  {
    name: nameSchema('a service name'),
    command: nonEmpty('a command'),
    args: argsSchema.optional(),
    env: envSchema.optional(),
    cwd: nonEmpty('a directory').optional(),
    plan: z.union([nonEmpty('a plan file path'), z.record(z.string(), z.unknown())], { error: expected('a plan object or a plan file path') }).optional(),
    seed: z.union([z.number(), z.string(), z.bigint()], { error: expected('a seed') }).optional(),
    engine: z.enum(['auto', 'preload', 'seccomp'], { error: expected('auto, preload or seccomp') }).optional(),
    ready: readySchema.optional(),
    replicas: integer(1, MAX_REPLICAS, `a number of replicas from 1 to ${MAX_REPLICAS}`).optional(),
    restart: restartSchema.optional(),
    logLines: text('a regular expression').optional(),
  },
  { error: expected('a service object') },
);

const workloadSchema = z.strictObject(
  { command: nonEmpty('a command'), args: argsSchema.optional(), env: envSchema.optional(), cwd: nonEmpty('a directory').optional() },
  { error: expected('a workload like {"command": "node", "args": ["load.mjs"]}') },
);

const afterSyscallSchema = z.strictObject(
  {
    afterSyscall: z.strictObject(
      {
        service: nameSchema('a service name'),
        syscall: nonEmpty('a syscall name'),
        count: integer(1, Number.MAX_SAFE_INTEGER, 'a call count of at least 1'),
      },
      { error: expected('{"service": ..., "syscall": ..., "count": N}') },
    ),
  },
  { error: expected('milliseconds or {"afterSyscall": {...}}') },
);

const ruleRefSchema = z.strictObject(
  { service: nameSchema('a service name'), rule: nonEmpty('a rule id') },
  { error: expected('{"service": ..., "rule": ...}') },
);

const eventSchema = z.strictObject(
  {
    at: z.union([ms(), afterSyscallSchema], { error: expected('milliseconds or {"afterSyscall": {...}}') }),
    kill: nameSchema('a service name').optional(),
    replica: integer(0, MAX_REPLICAS - 1, 'a replica index').optional(),
    signal: z.union([z.string(), z.number()], { error: expected('a signal name or number') }).optional(),
    restartAfterMs: ms().optional(),
    pauseMs: ms().optional(),
    enable: ruleRefSchema.optional(),
    disable: ruleRefSchema.optional(),
  },
  { error: expected('an event object') },
);

const portsSchema = z.union(
  [
    z.array(nameSchema('a port name'), { error: expected('a list of port names') }),
    z.record(z.string(), integer(1, 64, 'a port count from 1 to 64')),
  ],
  { error: expected('a list of port names or an object of name: count') },
);

export const topologySchema = z.strictObject(
  {
    $schema: schemaUrl,
    version: z.literal(1, { error: expected('version 1') }),
    name: nonEmpty('a name').optional(),
    timeoutMs: positiveMs().optional(),
    durationMs: positiveMs().optional(),
    ports: portsSchema.optional(),
    services: z
      .array(serviceSchema, { error: expected('a list of services') })
      .min(1, { error: 'expected at least one service, got []' })
      .max(MAX_SERVICES, { error: `expected at most ${MAX_SERVICES} services` }),
    workload: workloadSchema.optional(),
    events: z.array(eventSchema, { error: expected('a list of events') }).optional(),
    stopOnServiceExit: z.boolean({ error: expected('true or false') }).optional(),
    stopGraceMs: ms().optional(),
  },
  { error: expected('a topology object like {"version": 1, "services": [...]}') },
);

type Parsed = z.output<typeof topologySchema>;

const FIELDS: Record<string, string> = {
  root: 'version, name, timeoutMs, durationMs, ports, services, workload, events, stopOnServiceExit, stopGraceMs',
  service: 'name, command, args, env, cwd, plan, seed, engine, ready, replicas, restart, logLines',
  ready: 'port, host, stdoutLine, timeoutMs',
  restart: 'policy, delayMs, maxRestarts',
  workload: 'command, args, env, cwd',
  event: 'at, kill, replica, signal, restartAfterMs, pauseMs, enable, disable',
  at: 'afterSyscall',
  afterSyscall: 'service, syscall, count',
  ruleRef: 'service, rule',
};

/** Which object a path points into, for the list of allowed fields. */
function allowedAt(path: readonly PropertyKey[]): string | undefined {
  const p = path.map(String);
  if (p.length === 0) return FIELDS.root;
  if (p[0] === 'services' && p.length === 2) return FIELDS.service;
  if (p[0] === 'services' && p.length === 3 && (p[2] === 'ready' || p[2] === 'restart')) return FIELDS[p[2]];
  if (p[0] === 'workload' && p.length === 1) return FIELDS.workload;
  if (p[0] === 'events' && p.length === 2) return FIELDS.event;
  if (p[0] === 'events' && p[2] === 'at') return p.length === 3 ? FIELDS.at : FIELDS.afterSyscall;
  if (p[0] === 'events' && p.length === 3) return FIELDS.ruleRef;
  return undefined;
}

/** Where a topology came from, for error positions and relative paths. */
interface Origin {
  readonly source: Source | undefined;
  readonly file: string | undefined;
  readonly baseDir: string;
}

function failAt(origin: Origin, path: readonly PropertyKey[], message: string, value?: unknown, isKey = false, others: readonly DocumentProblem[] = []): never {
  throw documentError(origin.source, 'topology', { path, field: formatPath(path), message, value, isKey, others }, TopologyError);
}

/** Options of {@link loadTopology}. */
export interface LoadTopologyOptions {
  /** Values of `${vars.NAME}`. */
  vars?: Readonly<Record<string, string>> | undefined;
}

/**
 * Loads and validates a topology: an object, or the path of a `.json`, `.yaml` or `.yml` file.
 * @throws TopologyError (a PlanError: exit status 125) naming `file:line:col` and the field.
 */
export function loadTopology(source: TopologyInput | string, options: LoadTopologyOptions = {}): TopologySpec {
  const vars = { ...options.vars };
  if (typeof source !== 'string') {
    return validate(source, { source: undefined, file: undefined, baseDir: process.cwd() }, vars);
  }
  return parseTopologyText(readDocumentFile(source, 'topology', TopologyError), source, options);
}

/** Parses and validates a topology's text (`file` names it in errors; `.json` means strict JSON). */
export function parseTopologyText(body: string, file = 'topology.yaml', options: LoadTopologyOptions = {}): TopologySpec {
  const doc = parseDocumentText(body, file, TopologyError);
  return validate(doc.value, { source: doc.source, file: resolve(file), baseDir: dirname(resolve(file)) }, { ...options.vars });
}

function validate(value: unknown, origin: Origin, vars: Record<string, string>): TopologySpec {
  const parsed = topologySchema.safeParse(value);
  if (!parsed.success) {
    const issue = describeIssues(parsed.error.issues, value, (_input, path) => allowedAt(path)?.split(', ') ?? []);
    failAt(origin, issue.path, issue.message, issue.value, issue.isKey, issue.others);
  }
  return check(parsed.data, origin, vars);
}

/** Cross-field checks and normalization. */
function check(t: Parsed, origin: Origin, vars: Record<string, string>): TopologySpec {
  const ports: Record<string, number> = {};
  if (Array.isArray(t.ports)) {
    for (const [i, name] of t.ports.entries()) {
      if (Object.hasOwn(ports, name)) failAt(origin, ['ports', i], `duplicate port name ${show(name)}`, name);
      ports[name] = 1;
    }
  } else if (t.ports) {
    for (const [name, count] of Object.entries(t.ports)) {
      if (!NAME.test(name)) failAt(origin, ['ports', name], `expected a port name (a letter, then letters, digits, _ or -), got ${show(name)}`, name, true);
      ports[name] = count;
    }
  }

  const names = new Map<string, number>();
  for (const [i, s] of t.services.entries()) {
    const first = names.get(s.name);
    if (first !== undefined) failAt(origin, ['services', i, 'name'], `duplicate service name ${show(s.name)}, already used by services[${first}]`, s.name);
    names.set(s.name, i);
  }

  const services: ServiceSpec[] = t.services.map((s, i) => {
    const at = (...rest: PropertyKey[]) => ['services', i, ...rest];
    const ready = readySpec(s.ready, origin, at('ready'));
    const spec: ServiceSpec = {
      name: s.name,
      index: i,
      command: s.command,
      args: s.args ?? [],
      env: s.env ?? {},
      cwd: s.cwd,
      plan: s.plan as PlanInput | string | undefined,
      seed: typeof s.seed === 'bigint' ? s.seed.toString() : s.seed,
      engine: s.engine ?? 'auto',
      ready,
      replicas: s.replicas ?? 1,
      restart: { policy: s.restart?.policy ?? 'never', delayMs: s.restart?.delayMs ?? 100, maxRestarts: s.restart?.maxRestarts ?? 3 },
      logLines: s.logLines === undefined ? undefined : regex(s.logLines, origin, at('logLines')),
    };
    return spec;
  });

  const events: EventSpec[] = (t.events ?? []).map((e, i) => eventSpec(e, i, origin, services));

  const spec: TopologySpec = {
    version: 1,
    name: t.name ?? (origin.file ? origin.file.replace(/^.*\//, '').replace(/\.(ya?ml|json)$/i, '') : 'topology'),
    file: origin.file,
    baseDir: origin.baseDir,
    timeoutMs: t.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    durationMs: t.durationMs,
    ports,
    services,
    workload: t.workload && { command: t.workload.command, args: t.workload.args ?? [], env: t.workload.env ?? {}, cwd: t.workload.cwd },
    events,
    stopOnServiceExit: t.stopOnServiceExit ?? false,
    stopGraceMs: t.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
    vars,
  };

  // Every template and every plan, with stand-in ports and directory: errors surface now, not mid-run.
  const standIn = standInScope(spec);
  for (const s of services) {
    for (let r = 0; r < s.replicas; r++) {
      const scope = { ...standIn, replica: r };
      const at = (...rest: PropertyKey[]) => ['services', s.index, ...rest];
      const expand = (value: string, path: PropertyKey[]) => expandOrFail(value, scope, origin, path);
      expand(s.command, at('command'));
      s.args.forEach((a, j) => expand(a, at('args', j)));
      for (const [k, v] of Object.entries(s.env)) expand(v, at('env', k));
      if (s.cwd !== undefined) expand(s.cwd, at('cwd'));
      if (s.ready.kind === 'port') {
        const port = Number(expand(s.ready.port, at('ready', 'port')));
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
          failAt(origin, at('ready', 'port'), `expected a port from 1 to 65535, got ${show(s.ready.port)}`, s.ready.port);
        }
      }
      const plan = resolvePlan(spec, s, scope, origin);
      if (r === 0) checkRuleRefs(spec, s, plan, origin);
    }
  }
  if (spec.workload) {
    const scope: Scope = { ...standIn, replica: undefined };
    expandOrFail(spec.workload.command, scope, origin, ['workload', 'command']);
    spec.workload.args.forEach((a, j) => expandOrFail(a, scope, origin, ['workload', 'args', j]));
    for (const [k, v] of Object.entries(spec.workload.env)) expandOrFail(v, scope, origin, ['workload', 'env', k]);
    if (spec.workload.cwd !== undefined) expandOrFail(spec.workload.cwd, scope, origin, ['workload', 'cwd']);
  }
  return spec;
}

function readySpec(r: Parsed['services'][number]['ready'], origin: Origin, path: PropertyKey[]): ReadySpec {
  const timeoutMs = r?.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  if (!r || (r.port === undefined && r.stdoutLine === undefined)) {
    if (r) failAt(origin, path, 'expected exactly one of port, stdoutLine; got none', r);
    return { kind: 'none', port: '', host: '127.0.0.1', pattern: undefined, timeoutMs };
  }
  if (r.port !== undefined && r.stdoutLine !== undefined) failAt(origin, path, 'expected exactly one of port, stdoutLine; got port and stdoutLine', r);
  if (r.stdoutLine !== undefined) {
    if (r.host !== undefined) failAt(origin, [...path, 'host'], 'host goes with port, not stdoutLine', r.host);
    return { kind: 'stdoutLine', port: '', host: '127.0.0.1', pattern: regex(r.stdoutLine, origin, [...path, 'stdoutLine']), timeoutMs };
  }
  return { kind: 'port', port: String(r.port), host: r.host ?? '127.0.0.1', pattern: undefined, timeoutMs };
}

function regex(source: string, origin: Origin, path: PropertyKey[]): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    return failAt(origin, path, `bad regular expression ${show(source)}: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`, source);
  }
}

function eventSpec(e: Parsed['events'] extends (infer E)[] | undefined ? E : never, i: number, origin: Origin, services: readonly ServiceSpec[]): EventSpec {
  const path = (...rest: PropertyKey[]) => ['events', i, ...rest];
  const find = (name: string, at: PropertyKey[]): ServiceSpec =>
    services.find((s) => s.name === name) ??
    failAt(origin, at, `unknown service ${show(name)} (services: ${services.map((s) => s.name).join(', ')})`, name);

  let at: EventTrigger;
  if (typeof e.at === 'number') {
    at = { kind: 'time', ms: e.at };
  } else {
    const { service, syscall, count } = e.at.afterSyscall;
    find(service, path('at', 'afterSyscall', 'service'));
    if (!syscallTable().index.has(syscall)) failAt(origin, path('at', 'afterSyscall', 'syscall'), `unknown syscall ${show(syscall)}`, syscall);
    at = { kind: 'syscall', service, syscall, count };
  }

  const given = (['kill', 'enable', 'disable'] as const).filter((k) => e[k] !== undefined);
  if (given.length !== 1) {
    failAt(origin, path(), `expected exactly one of kill, enable, disable; got ${given.length === 0 ? 'none' : given.join(' and ')}`, e);
  }
  if (e.kill !== undefined) {
    const service = find(e.kill, path('kill'));
    if (e.replica !== undefined && e.replica >= service.replicas) {
      failAt(origin, path('replica'), `service ${show(service.name)} has ${service.replicas} replica${service.replicas > 1 ? 's' : ''}, got replica ${e.replica}`, e.replica);
    }
    const signal = e.signal === undefined ? 9 : signalNumber(e.signal);
    if (signal === undefined) failAt(origin, path('signal'), `unknown signal ${show(e.signal)}`, e.signal);
    return {
      index: i,
      at,
      action: 'kill',
      service: service.name,
      replica: e.replica,
      signal,
      signalName: signalName(signal),
      restartAfterMs: e.restartAfterMs,
      pauseMs: e.pauseMs ?? 0,
    };
  }
  for (const field of ['replica', 'signal', 'restartAfterMs', 'pauseMs'] as const) {
    if (e[field] !== undefined) failAt(origin, path(field), `${field} goes with kill, not ${given[0]}`, e[field], true);
  }
  const action = given[0] as 'enable' | 'disable';
  const ref = e[action] as { service: string; rule: string };
  find(ref.service, path(action, 'service'));
  return { index: i, at, action, service: ref.service, rule: ref.rule };
}

/** Rule ids named by enable/disable events must exist in that service's plan. */
function checkRuleRefs(spec: TopologySpec, s: ServiceSpec, plan: NormalizedPlan | undefined, origin: Origin): void {
  for (const e of spec.events) {
    if (e.action === 'kill' || e.service !== s.name) continue;
    if (!plan?.rules.some((r) => r.id === e.rule)) {
      const ids = plan?.rules.map((r) => r.id) ?? [];
      failAt(origin, ['events', e.index, e.action, 'rule'], `service ${show(s.name)} has no rule ${show(e.rule)}${ids.length ? ` (rules: ${ids.join(', ')})` : ' (it has no plan rules)'}`, e.rule);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Variables
// ---------------------------------------------------------------------------------------------------------

/** What `${...}` can refer to. */
export interface Scope {
  readonly ports: Readonly<Record<string, readonly number[]>>;
  readonly dir: string;
  readonly here: string;
  readonly replica: number | undefined;
  readonly vars: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string | undefined>>;
}

function standInScope(spec: TopologySpec): Scope {
  let next = 40000;
  const ports: Record<string, number[]> = {};
  for (const [name, count] of Object.entries(spec.ports)) ports[name] = Array.from({ length: count }, () => next++);
  return { ports, dir: '/tmp/sysfault-topology', here: spec.baseDir, replica: 0, vars: spec.vars, env: process.env };
}

/** Expands the `${...}` variables of `value`; returns a problem instead when one is unknown. */
export function expandTemplate(value: string, scope: Scope): { value: string } | { problem: string } {
  let out = '';
  let i = 0;
  while (i < value.length) {
    if (value.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!value.startsWith('${', i)) {
      out += value[i];
      i++;
      continue;
    }
    // Find the matching }, allowing ${...} inside (a default: ${env.X:-${here}/bin}).
    let depth = 1;
    let j = i + 2;
    for (; j < value.length && depth > 0; j++) {
      if (value.startsWith('${', j)) {
        depth++;
        j++;
      } else if (value[j] === '}') {
        depth--;
      }
    }
    if (depth > 0) return { problem: 'unterminated ${ (write $${ for a literal ${)' };
    const result = lookupVariable(value.slice(i + 2, j - 1).trim(), scope);
    if (typeof result !== 'string') return result;
    out += result;
    i = j;
  }
  return { value: out };
}

function lookupVariable(body: string, scope: Scope): string | { problem: string } {
  const fallback = /^(env|vars)\.([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(body);
  if (fallback) {
    const [, kind, name, dflt] = fallback as unknown as [string, 'env' | 'vars', string, string | undefined];
    const table = kind === 'env' ? scope.env : scope.vars;
    const found = Object.hasOwn(table, name) ? table[name] : undefined;
    if (found !== undefined) return found;
    if (dflt !== undefined) {
      const expanded = expandTemplate(dflt, scope);
      return 'problem' in expanded ? expanded : expanded.value;
    }
    return { problem: kind === 'env' ? `environment variable ${name} is not set (write \${env.${name}:-default} for a default)` : `no value for \${vars.${name}} (pass it with --var ${name}=VALUE or the vars option)` };
  }
  const port = /^ports\.([A-Za-z][A-Za-z0-9_-]*)(?:\[(\d+|replica)\])?$/.exec(body);
  if (port) {
    const [, name, index] = port as unknown as [string, string, string | undefined];
    const list = Object.hasOwn(scope.ports, name) ? scope.ports[name] : undefined;
    if (!list) {
      const known = Object.keys(scope.ports);
      return { problem: `unknown port ${show(name)} (${known.length ? `ports: ${known.join(', ')}` : 'declare it under ports:'})` };
    }
    let i = 0;
    if (index === 'replica') {
      if (scope.replica === undefined) return { problem: `\${ports.${name}[replica]} is only meaningful inside a service` };
      i = scope.replica;
    } else if (index !== undefined) {
      i = Number(index);
    }
    const value = list[i];
    if (value === undefined) return { problem: `port ${show(name)} has ${list.length} port${list.length > 1 ? 's' : ''}, no [${i}] (declare more: ports: {${name}: ${i + 1}})` };
    return String(value);
  }
  if (body === 'replica') {
    return scope.replica === undefined ? { problem: '${replica} is only meaningful inside a service' } : String(scope.replica);
  }
  if (body === 'dir') return scope.dir;
  if (body === 'here') return scope.here;
  return { problem: `unknown variable \${${body}} (known: ports.NAME, ports.NAME[N], ports.NAME[replica], replica, dir, here, env.NAME, vars.NAME)` };
}

function expandOrFail(value: string, scope: Scope, origin: Origin, path: PropertyKey[]): string {
  const r = expandTemplate(value, scope);
  if ('problem' in r) failAt(origin, path, r.problem, value);
  return r.value;
}

/** Expands every string of a plain value (an inline plan). */
function expandDeep(value: unknown, scope: Scope, origin: Origin, path: PropertyKey[]): unknown {
  if (typeof value === 'string') return expandOrFail(value, scope, origin, path);
  if (Array.isArray(value)) return value.map((v, i) => expandDeep(v, scope, origin, [...path, i]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandDeep(v, scope, origin, [...path, k])]));
  }
  return value;
}

/** `rules[1].action.errno` -> ['rules', 1, 'action', 'errno'] */
function parseField(field: string): PropertyKey[] {
  const out: PropertyKey[] = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : (m[1] as string));
  return out;
}

/** A service's plan for one replica, expanded and validated. */
export interface ResolvedPlan {
  /** What to pass to spawn(): the expanded inline plan, or the plan file path. */
  readonly input: PlanInput | string | undefined;
  /** The expanded text of a plan file that had variables (write it somewhere and pass that path). */
  readonly text: string | undefined;
  readonly normalized: NormalizedPlan | undefined;
}

/**
 * Expands and validates a service's plan for a scope.
 * @throws TopologyError (inline plans: positioned in the topology file) or PlanError (plan files).
 */
export function resolvePlanFor(spec: TopologySpec, service: ServiceSpec, scope: Scope): ResolvedPlan & { normalized: NormalizedPlan | undefined } {
  return resolveFull(spec, service, scope, { source: undefined, file: spec.file, baseDir: spec.baseDir });
}

function resolvePlan(spec: TopologySpec, service: ServiceSpec, scope: Scope, origin: Origin): NormalizedPlan | undefined {
  return resolveFull(spec, service, scope, origin).normalized;
}

function resolveFull(spec: TopologySpec, service: ServiceSpec, scope: Scope, origin: Origin): ResolvedPlan {
  const at: PropertyKey[] = ['services', service.index, 'plan'];
  const plan = service.plan;
  if (plan === undefined) return { input: undefined, text: undefined, normalized: undefined };
  if (typeof plan !== 'string') {
    const expanded = expandDeep(plan, scope, origin, at) as PlanInput;
    try {
      return { input: expanded, text: undefined, normalized: normalizePlan(expanded) };
    } catch (err) {
      if (!(err instanceof PlanError)) throw err;
      const message = err.message.replace(/^[^:]*: /, '');
      return failAt(origin, [...at, ...parseField(err.field ?? '')], message, err.value);
    }
  }
  const path = resolve(spec.baseDir, expandOrFail(plan, scope, origin, at));
  let body: string;
  try {
    body = readFileSync(path, 'utf8');
  } catch (err) {
    return failAt(origin, at, `cannot read plan file ${path}: ${readProblem(err)}`, plan);
  }
  if (!/\$\{/.test(body)) return { input: path, text: undefined, normalized: parsePlanText(body, path) };
  const lines = body.split('\n').map((line, i) => {
    const r = expandTemplate(line, scope);
    if ('problem' in r) throw new TopologyError(`${path}:${i + 1}: ${r.problem}`, { file: path, line: i + 1 });
    return r.value;
  });
  const expanded = lines.join('\n');
  return { input: path, text: expanded, normalized: parsePlanText(expanded, path) };
}

/** The extension a plan written out after expansion should keep (so JSON stays strict JSON). */
export function planExtension(path: string): string {
  const ext = extname(path).toLowerCase();
  return ext === '.json' ? '.json' : '.yaml';
}
