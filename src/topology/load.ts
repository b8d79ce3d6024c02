/**
 * Loading topologies: a file (JSON or YAML) or an object, validated against the schema (schema.ts), then every
 * check the schema cannot make, and normalized into a {@link TopologySpec} with its defaults.
 *
 * Everything that can be checked before anything starts is checked here: the structure, cross references
 * (service names, replicas, rule ids, port names, variables), regexes, and every service's plan, expanded
 * with stand-in ports and directory. Ports and the scratch directory are only known at run time.
 */
import { dirname, resolve } from 'node:path';
import { describeIssues, parseDocumentText, readDocumentFile } from '../common/document.js';
import { show } from '../common/text.js';
import { signalName, signalNumber } from '../plan/signals.js';
import { syscallTable } from '../plan/syscalls.js';
import type { NormalizedPlan } from '../plan/types.js';
import type { PlanInput } from '../plan/schema.js';
import { resolvePlan } from './plan.js';
import { allowedAt, failAt, NAME, TopologyError, topologySchema, type Origin, type Parsed } from './schema.js';
import { expandOrFail, type Scope } from './template.js';
import type { EventSpec, EventTrigger, ReadySpec, ServiceSpec, TopologyInput, TopologySpec } from './types.js';

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_READY_TIMEOUT_MS = 10_000;
export const DEFAULT_STOP_GRACE_MS = 1_000;

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

/** Stand-in ports (from 40000) and directory, to expand every template at load. */
function standInScope(spec: TopologySpec): Scope {
  let next = 40000;
  const ports: Record<string, number[]> = {};
  for (const [name, count] of Object.entries(spec.ports)) ports[name] = Array.from({ length: count }, () => next++);
  return { ports, dir: '/tmp/sysfault-topology', here: spec.baseDir, replica: 0, vars: spec.vars, env: process.env };
}
