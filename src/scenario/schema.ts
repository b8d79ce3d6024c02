/**
 * Scenario files, version 1: loading (object, .json, .yaml/.yml), the zod schema (strict) and normalization
 * into a {@link Scenario} (types.ts). What the run did is compared with what it expected in expect.ts.
 *
 * Errors are {@link PlanError}s with one line naming `file:line:col`, the field path and the value, exactly as
 * plan errors do (reading, parsing and positions are common/document.ts's): `slow.yaml:12:9: expect.exit:
 * expected an exit code from 0 to 255 or {signal: NAME}, got "zero"`. An inline plan's errors point into the
 * scenario file (`plan.rules[0].action.errno`); a plan file's errors point into the plan file.
 *
 * Plans are validated with placeholder values of the `${...}` variables (variables.ts), so a plan's
 * `addr: "127.0.0.1:${port}"` is checked as an address; each run puts in its own values.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { PlanError } from '../common/errors.js';
import { describeIssues, documentError, expected, formatPath, integer, parseDocumentText, readDocumentFile, readProblem, type DescribedIssue, type DocumentProblem, type Source } from '../common/document.js';
import { show } from '../common/text.js';
import { describePlanIssues } from '../plan/issues.js';
import { parsePlanText } from '../plan/load.js';
import { planSchema, schemaUrl, seedSchema } from '../plan/schema.js';
import { MAX_SIGNAL, signalName, signalNumber } from '../plan/signals.js';
import { syscallTable } from '../plan/syscalls.js';
import type { NormalizedPlan } from '../plan/types.js';
import type { Bounds, CompareOp, Comparison, CountExpectation, ExitExpectation, OutputExpectation, Scenario } from './types.js';
import { interpolate, interpolateDeep, placeholders, type ScenarioVariables } from './variables.js';

/** Default timebox of one scenario run (the target), in milliseconds. */
export const DEFAULT_SCENARIO_TIMEOUT_MS = 60_000;
/** Default timebox of a verify command, in milliseconds. */
export const DEFAULT_VERIFY_TIMEOUT_MS = 30_000;
/** Default time a workload has to print its `ready` line (or the target its `startAfter` line). */
export const DEFAULT_READY_TIMEOUT_MS = 10_000;
const MAX_MS = 0x7fffffff;

const ms = (what: string) => integer(1, MAX_MS, `${what} in milliseconds from 1 to ${MAX_MS}`);
const bound = () => z.number({ error: expected('a number') }).min(0, { error: expected('a non-negative number') });

const noControl = (s: string): boolean => !/[\u0000-\u001f\u007f]/.test(s);

const argvSchema = z
  .array(
    z
      .string({ error: expected('a string') })
      .refine((s) => !s.includes('\0'), { error: expected('an argument without NUL bytes') }),
    { error: expected('a command as an array of strings like ["./server", "--port", "${port}"]') },
  )
  .min(1, { error: 'expected a command as a non-empty array of strings, got []' })
  .refine((argv) => argv[0] !== '', { error: 'expected a command name, got ""' });

const regexSchema = z.string({ error: expected('a regular expression string') }).transform((text, ctx) => {
  try {
    return new RegExp(text);
  } catch (err) {
    const why = (err as Error).message.replace(/^Invalid regular expression: \/.*\/\w*: /s, '');
    ctx.addIssue({ code: 'custom', input: text, message: `bad regular expression ${show(text)}: ${why}` });
    return z.NEVER;
  }
});

const outputSchema = z
  .strictObject(
    {
      matches: z.array(regexSchema, { error: expected('a list of regular expressions') }).optional(),
      notMatches: z.array(regexSchema, { error: expected('a list of regular expressions') }).optional(),
    },
    { error: expected('an object like {"matches": ["^done$"]}') },
  )
  .transform((o): OutputExpectation => ({ matches: o.matches ?? [], notMatches: o.notMatches ?? [] }));

const exitSchema = z
  .union(
    [
      integer(0, 255, 'an exit code from 0 to 255'),
      z.strictObject({ signal: z.union([z.string(), z.number()]) }),
    ],
    { error: expected('an exit code from 0 to 255 or {signal: NAME}') },
  )
  .transform((value, ctx): ExitExpectation => {
    if (typeof value === 'number') return { code: value };
    const n = signalNumber(value.signal);
    if (n === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['signal'],
        input: value.signal,
        message:
          typeof value.signal === 'number'
            ? `expected a signal number from 1 to ${MAX_SIGNAL}, got ${show(value.signal)}`
            : `unknown signal ${show(value.signal)}`,
      });
      return z.NEVER;
    }
    return { signal: signalName(n) };
  });

const COMPARISON = /^\s*(==|!=|>=|<=|>|<)?\s*(\d{1,15})\s*$/;

/** Parses the counts grammar: `N` (same as `== N`) or `OP N` with OP one of == != >= <= > <. */
export function parseComparison(value: string | number): Comparison | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? { op: '==', value, text: `== ${value}` } : undefined;
  }
  const m = COMPARISON.exec(value);
  if (!m) return undefined;
  const op = (m[1] ?? '==') as CompareOp;
  const n = Number(m[2]);
  return { op, value: n, text: `${op} ${n}` };
}

const comparisonSchema = z
  .union([z.string(), z.number()], { error: expected('a comparison like ">= 1" or a number') })
  .transform((value, ctx) => {
    const c = parseComparison(value);
    if (!c) {
      ctx.addIssue({
        code: 'custom',
        input: value,
        message: `expected a comparison like ">= 1" (==, !=, >=, <=, >, < and a whole number), got ${show(value)}`,
      });
      return z.NEVER;
    }
    return c;
  });

const SYSCALL_FIELDS = ['calls', 'faulted', 'delayed'] as const;
const RULE_FIELDS = ['matched', 'fired'] as const;
const countKey = z.string().refine(
  (key) => {
    const dot = key.lastIndexOf('.');
    const field = key.slice(dot + 1);
    return dot > 0 && ([...SYSCALL_FIELDS, ...RULE_FIELDS] as readonly string[]).includes(field);
  },
  {
    error: (iss) =>
      `expected a counts key like "fsync.faulted" (<syscall>.calls|faulted|delayed or <rule id>.matched|fired), got ${show(iss.input)}`,
  },
);

const rangeSchema = (what: string) =>
  z
    .strictObject({ min: bound().optional(), max: bound().optional() }, { error: expected(`${what} like {"max": 5000}`) })
    .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, {
      error: (iss) => `expected min <= max, got ${show(iss.input)}`,
    })
    .transform((r): Bounds => ({ min: r.min, max: r.max }));

export const scenarioSchema = z.strictObject(
  {
    $schema: schemaUrl,
    version: z.literal(1, { error: expected('version 1') }),
    name: z
      .string({ error: expected('a scenario name') })
      .min(1, { error: 'expected a non-empty scenario name, got ""' })
      .refine(noControl, { error: (iss) => `scenario name ${show(iss.input)} contains a control character` }),
    description: z.string({ error: expected('a description string') }).optional(),
    setup: z
      .strictObject(
        {
          snapshot: z.string({ error: expected('a directory path') }).min(1, { error: expected('a directory path') }).optional(),
          env: z
            .record(z.string(), z.string({ error: expected('a string value (quote numbers)') }), {
              error: expected('an object of environment variables'),
            })
            .optional(),
          limits: z
            .strictObject(
              {
                openFiles: integer(1, 1 << 20, 'a number of open files from 1 to 1048576').optional(),
                addressSpaceMb: integer(1, 1 << 24, 'an address space in MiB from 1 to 16777216').optional(),
              },
              { error: expected('an object like {"openFiles": 64}') },
            )
            .optional(),
          stressors: z
            .strictObject(
              {
                cpu: integer(0, 64, 'a number of CPU workers from 0 to 64').optional(),
                io: integer(0, 64, 'a number of I/O writers from 0 to 64').optional(),
              },
              { error: expected('an object like {"cpu": 2, "io": 1}') },
            )
            .optional(),
        },
        { error: expected('a setup object') },
      )
      .optional(),
    command: argvSchema,
    workload: z
      .strictObject(
        {
          command: argvSchema,
          durationMs: ms('a duration').optional(),
          ready: regexSchema.optional(),
          startAfter: regexSchema.optional(),
          stopTarget: z.boolean({ error: expected('a boolean') }).optional(),
          readyTimeoutMs: ms('a timeout').optional(),
        },
        { error: expected('a workload object like {"command": ["./client"]}') },
      )
      .refine((w) => w.ready === undefined || w.startAfter === undefined, {
        error: 'expected at most one of ready (the workload starts first) and startAfter (the target starts first), got both',
      })
      .optional(),
    plan: z.union([z.string().min(1), z.record(z.string(), z.unknown())], {
      error: expected('a plan object or the path of a plan file'),
    }),
    engine: z.enum(['auto', 'preload', 'seccomp'], { error: expected('"auto", "preload" or "seccomp"') }).optional(),
    seeds: z.array(seedSchema, { error: expected('a list of seeds') }).min(1, { error: 'expected at least one seed, got []' }).optional(),
    timeoutMs: ms('a timeout').optional(),
    expect: z
      .strictObject(
        {
          exit: exitSchema.optional(),
          stdout: outputSchema.optional(),
          stderr: outputSchema.optional(),
          durationMs: rangeSchema('a duration range').optional(),
          counts: z.record(countKey, comparisonSchema, { error: expected('an object like {"fsync.faulted": ">= 1"}') }).optional(),
          faults: rangeSchema('a range').optional(),
          verify: z
            .strictObject(
              {
                command: argvSchema,
                exit: integer(0, 255, 'an exit code from 0 to 255').optional(),
                stdout: outputSchema.optional(),
                timeoutMs: ms('a timeout').optional(),
              },
              { error: expected('a verify object like {"command": ["./check"], "exit": 0}') },
            )
            .optional(),
          workload: z
            .strictObject({ exit: exitSchema.optional(), stdout: outputSchema.optional() }, { error: expected('an object like {"exit": 0}') })
            .optional(),
        },
        { error: expected('an expect object') },
      )
      .refine((e) => Object.values(e).some((v) => v !== undefined), {
        error: 'expected at least one expectation (exit, stdout, stderr, durationMs, counts, faults, verify, workload), got none',
      }),
  },
  { error: expected('a scenario object like {"version": 1, "name": ..., "command": [...], "plan": ..., "expect": {...}}') },
);

/** Allowed fields per object, for `unknown field` messages (array indexes written as []). */
const ALLOWED: Record<string, string> = {
  '': 'version, name, description, setup, command, workload, plan, engine, seeds, timeoutMs, expect',
  setup: 'snapshot, env, limits, stressors',
  'setup.limits': 'openFiles, addressSpaceMb',
  'setup.stressors': 'cpu, io',
  workload: 'command, durationMs, ready, startAfter, stopTarget, readyTimeoutMs',
  expect: 'exit, stdout, stderr, durationMs, counts, faults, verify, workload',
  'expect.exit': 'signal',
  'expect.stdout': 'matches, notMatches',
  'expect.stderr': 'matches, notMatches',
  'expect.durationMs': 'min, max',
  'expect.faults': 'min, max',
  'expect.verify': 'command, exit, stdout, timeoutMs',
  'expect.verify.stdout': 'matches, notMatches',
  'expect.workload': 'exit, stdout',
  'expect.workload.exit': 'signal',
  'expect.workload.stdout': 'matches, notMatches',
};

/** Where a scenario came from, for messages and relative paths. */
interface Origin {
  readonly file: string | undefined;
  readonly dir: string;
  readonly source: Source | undefined;
}

/**
 * Loads and validates a scenario.
 * @param input a scenario object, or the path of a `.json`, `.yaml` or `.yml` file.
 * @param cwd base of relative paths for a scenario object (default: the current directory); a file's own
 *   directory is the base for its paths.
 * @throws PlanError naming file:line:col, the field and the value.
 */
export function loadScenario(input: string | Record<string, unknown>, cwd = process.cwd()): Scenario {
  if (typeof input !== 'string') return validateScenario(input, { file: undefined, dir: resolve(cwd), source: undefined });
  const file = input;
  const { value, source } = parseDocumentText(readDocumentFile(file, 'scenario'), file);
  return validateScenario(value, { file, dir: dirname(resolve(file)), source });
}

function fail(
  origin: Origin,
  path: readonly PropertyKey[],
  isKey: boolean,
  field: string,
  message: string,
  value: unknown,
  others: readonly DocumentProblem[] = [],
): never {
  throw documentError(origin.source, 'scenario', { path, isKey, field, message, value, others });
}

/** ` (allowed: ...)` for an unknown field of the object at `path`, or ''. */
function allowedFields(_input: unknown, path: readonly PropertyKey[]): readonly string[] {
  const parent = formatPath(path.map((p) => (typeof p === 'number' ? '[]' : p))).replace(/\.\[\]/g, '[]');
  return ALLOWED[parent]?.split(', ') ?? [];
}

function validateScenario(input: unknown, origin: Origin): Scenario {
  const parsed = scenarioSchema.safeParse(input);
  if (!parsed.success) {
    const issue = describeIssues(parsed.error.issues, input, allowedFields);
    fail(origin, issue.path, issue.isKey, issue.field, issue.message, issue.value, issue.others);
  }
  const s = parsed.data;
  const dir = origin.dir;

  // The plan: inline (validated here, errors pointing into the scenario) or a file (errors in the plan file).
  let plan: Scenario['plan'];
  let normalized: NormalizedPlan;
  const vars = placeholders(dir);
  if (typeof s.plan === 'string') {
    const path = resolve(dir, s.plan);
    plan = { kind: 'file', path };
    normalized = loadPlanFile(path, vars, origin);
  } else {
    plan = { kind: 'inline', value: s.plan };
    const check = planSchema(syscallTable()).safeParse(interpolateDeep(s.plan, vars));
    if (!check.success) {
      const issue = describePlanIssues(check.error.issues, s.plan);
      const path = ['plan', ...issue.path];
      const field = issue.field === '' ? 'plan' : `plan.${issue.field}`;
      const inPlan = (i: DescribedIssue): DocumentProblem => ({ ...i, path: ['plan', ...i.path], field: i.field === '' ? 'plan' : `plan.${i.field}` });
      fail(origin, path, issue.isKey, field, issue.message, issue.value, issue.others.map(inPlan));
    }
    normalized = check.data;
  }

  // Counts keys must name a syscall the plan names, or one of its rule ids.
  const syscalls = new Set(normalized.rules.flatMap((r) => r.syscalls));
  const ruleIds = new Set(normalized.rules.map((r) => r.id));
  const counts: CountExpectation[] = [];
  for (const [key, c] of Object.entries(s.expect.counts ?? {})) {
    const dot = key.lastIndexOf('.');
    const name = key.slice(0, dot);
    const field = key.slice(dot + 1) as CountExpectation['field'];
    const kind = (SYSCALL_FIELDS as readonly string[]).includes(field) ? 'syscall' : 'rule';
    const known = kind === 'syscall' ? syscalls : ruleIds;
    if (!known.has(name)) {
      const list = [...known].join(', ') || 'none';
      fail(
        origin,
        ['expect', 'counts', key],
        true,
        `expect.counts.${key}`,
        kind === 'syscall'
          ? `the plan names no syscall ${show(name)} (it names: ${list}); counts exist only for syscalls a rule names`
          : `the plan has no rule ${show(name)} (its rules: ${list})`,
        key,
      );
    }
    counts.push({ key, kind, name, field, compare: c });
  }

  if (s.setup?.snapshot !== undefined) {
    const snap = resolve(dir, s.setup.snapshot);
    let ok = false;
    try {
      ok = statSync(snap).isDirectory();
    } catch {
      ok = false;
    }
    if (!ok) fail(origin, ['setup', 'snapshot'], false, 'setup.snapshot', `no such directory ${show(s.setup.snapshot)} (relative to ${dir})`, s.setup.snapshot);
  }

  const v = s.expect.verify;
  const w = s.workload;
  return {
    version: 1,
    name: s.name,
    description: s.description ?? '',
    file: origin.file === undefined ? undefined : resolve(origin.file),
    dir,
    setup: {
      snapshot: s.setup?.snapshot === undefined ? undefined : resolve(dir, s.setup.snapshot),
      env: s.setup?.env ?? {},
      limits: s.setup?.limits ? { openFiles: s.setup.limits.openFiles, addressSpaceMb: s.setup.limits.addressSpaceMb } : undefined,
      stressors: { cpu: s.setup?.stressors?.cpu ?? 0, io: s.setup?.stressors?.io ?? 0 },
    },
    command: s.command,
    workload: w && {
      command: w.command,
      durationMs: w.durationMs,
      ready: w.ready,
      startAfter: w.startAfter,
      stopTarget: w.stopTarget ?? false,
      readyTimeoutMs: w.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    },
    plan,
    planSeed: normalized.seed,
    engine: s.engine ?? 'auto',
    seeds: s.seeds,
    timeoutMs: s.timeoutMs ?? DEFAULT_SCENARIO_TIMEOUT_MS,
    expect: {
      exit: s.expect.exit,
      stdout: s.expect.stdout,
      stderr: s.expect.stderr,
      durationMs: s.expect.durationMs,
      counts,
      faults: s.expect.faults,
      verify: v && { command: v.command, exit: v.exit ?? 0, stdout: v.stdout, timeoutMs: v.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS },
      workload: s.expect.workload && { exit: s.expect.workload.exit, stdout: s.expect.workload.stdout },
    },
  };
}

function loadPlanFile(path: string, vars: ScenarioVariables, origin: Origin): NormalizedPlan {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return fail(origin, ['plan'], false, 'plan', `cannot read plan file ${path}: ${readProblem(err)}`, path);
  }
  return parsePlanText(interpolate(text, vars), path);
}
