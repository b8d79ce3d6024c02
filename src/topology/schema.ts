/**
 * The topology format (version 1): the zod schema (strict), the fields each object allows (for `unknown field`
 * messages), its limits, and its errors: a {@link TopologyError} names `file:line:col: field: problem`, read
 * and positioned by common/document.ts like plan and scenario errors. Loading and the checks the schema cannot
 * make are in load.ts; the `${...}` templates in template.ts.
 */
import { z } from 'zod';
import { PlanError } from '../common/errors.js';
import { documentError, expected, formatPath, integer, type DocumentProblem, type Source } from '../common/document.js';
import { schemaUrl } from '../plan/schema.js';
import { show } from '../common/text.js';

/** An invalid topology file or object (exit status 125 in the CLI). */
export class TopologyError extends PlanError {}

export const MAX_SERVICES = 32;
export const MAX_REPLICAS = 16;
const MAX_MS = 0x7fffffff;

const ms = (what = 'milliseconds') => integer(0, MAX_MS, `a whole number of ${what}`);
const positiveMs = () => integer(1, MAX_MS, 'a whole number of milliseconds, at least 1');
const text = (what: string) => z.string({ error: expected(what) });
const nonEmpty = (what: string) => text(what).min(1, { error: expected(what) });
/** Service and port names: a letter, then letters, digits, _ or -. */
export const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
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

/** A topology as the schema parsed it (before cross-field checks and defaults). */
export type Parsed = z.output<typeof topologySchema>;

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
export function allowedAt(path: readonly PropertyKey[]): string | undefined {
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
export interface Origin {
  readonly source: Source | undefined;
  readonly file: string | undefined;
  readonly baseDir: string;
}

/** Throws a {@link TopologyError} positioned at `path` in the topology document. */
export function failAt(
  origin: Origin,
  path: readonly PropertyKey[],
  message: string,
  value?: unknown,
  isKey = false,
  others: readonly DocumentProblem[] = [],
): never {
  throw documentError(origin.source, 'topology', { path, field: formatPath(path), message, value, isKey, others }, TopologyError);
}
