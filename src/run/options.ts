/**
 * Validation of run()/spawn() options (UsageError `options.<name>: ...` on a bad one). The plan and the
 * extra faults are checked by the plan schema afterwards; here only their shapes.
 */
import { Stream } from 'node:stream';
import { z } from 'zod';
import { UsageError } from '../common/errors.js';
import { describePlanIssues } from '../plan/issues.js';
import { checkGlob } from '../plan/glob.js';
import { show } from '../common/text.js';
import { FS_MODEL_NAMES } from './fs-models.js';
import type { RunOptions, StdioEntry } from './types.js';

/** Default fault-log capacity, in entries. */
export const DEFAULT_LOG_CAPACITY = 10_000;
/** Largest fault-log capacity, in entries. */
export const MAX_LOG_CAPACITY = 1_000_000;
/** Longest timeout setTimeout can arm (about 24.8 days). */
export const MAX_TIMEOUT_MS = 0x7fffffff;

type Issue = { readonly input?: unknown };
const expected = (what: string) => (iss: Issue) => `expected ${what}, got ${describe(iss.input)}`;

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (value instanceof Stream) return 'a stream';
  return show(value);
}

const noNul = (s: string): boolean => !s.includes('\0');

const stdioEntry = z.union(
  [
    z.enum(['pipe', 'ignore', 'inherit']),
    z.number().int().min(0),
    z.null(),
    z.undefined(),
    z.custom<Stream>((v) => v instanceof Stream),
  ],
  { error: expected('"pipe", "ignore", "inherit", a stream, an fd or null') },
);

const powercutGlob = z
  .string({ error: expected('a glob of the files a power cut covers') })
  .min(1, { error: expected('a glob of the files a power cut covers') })
  .refine((g) => Buffer.byteLength(g, 'utf8') <= 200 && checkGlob(g) === undefined, {
    error: (iss) => `bad glob ${show(iss.input)}: ${checkGlob(String(iss.input)) ?? 'longer than 200 bytes'}`,
  });

const optionsSchema = z.strictObject(
  {
    plan: z
      .union([z.string(), z.record(z.string(), z.unknown())], { error: expected('a plan object or a plan file path') })
      .optional(),
    faults: z
      .array(z.union([z.string(), z.record(z.string(), z.unknown())], { error: expected('a fault spec or a rule object') }), {
        error: expected('a list of fault specs or rule objects'),
      })
      .optional(),
    seed: z.union([z.number(), z.bigint(), z.string()], { error: expected('a seed (integer, bigint or decimal string)') }).optional(),
    engine: z.enum(['auto', 'preload', 'seccomp'], { error: expected('"auto", "preload" or "seccomp"') }).optional(),
    ioUring: z.enum(['report', 'deny'], { error: expected('"report" or "deny"') }).optional(),
    timeout: z
      .number({ error: expected('a timeout in milliseconds') })
      .int({ error: expected('a whole number of milliseconds') })
      .min(1, { error: expected('a timeout of at least 1 ms') })
      .max(MAX_TIMEOUT_MS, { error: expected(`a timeout of at most ${MAX_TIMEOUT_MS} ms`) })
      .optional(),
    env: z
      .record(
        z.string(),
        z.union([z.string().refine(noNul, { error: expected('a value without NUL bytes') }), z.undefined()], {
          error: expected('a string value'),
        }),
        {
          error: expected('an object of environment variables'),
        },
      )
      .optional(),
    extendEnv: z.boolean({ error: expected('a boolean') }).optional(),
    cwd: z.string({ error: expected('a directory path') }).min(1, { error: expected('a directory path') }).optional(),
    stdio: z
      .union([z.enum(['pipe', 'ignore', 'inherit']), z.tuple([stdioEntry, stdioEntry, stdioEntry])], {
        error: expected('"inherit", "pipe", "ignore" or an array of three entries'),
      })
      .optional(),
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, { error: expected('an AbortSignal') }).optional(),
    logCapacity: z
      .number({ error: expected('a number of log entries') })
      .int({ error: expected('a whole number of log entries') })
      .min(1, { error: expected('a log capacity of at least 1') })
      .max(MAX_LOG_CAPACITY, { error: expected(`a log capacity of at most ${MAX_LOG_CAPACITY}`) })
      .optional(),
    powercut: z
      .union(
        [
          powercutGlob,
          z.strictObject({
            glob: powercutGlob,
            root: z.string({ error: expected('a directory path') }).min(1, { error: expected('a directory path') }).optional(),
            when: z.enum(['action', 'crash', 'always'], { error: expected('"action", "crash" or "always"') }).optional(),
            fsyncFailureDropsDirty: z.boolean({ error: expected('a boolean') }).optional(),
            fs: z.enum(FS_MODEL_NAMES, { error: expected(FS_MODEL_NAMES.map((n) => `"${n}"`).join(', ')) }).optional(),
            shadowDir: z.string({ error: expected('a directory path') }).min(1, { error: expected('a directory path') }).optional(),
          }),
        ],
        { error: expected('a glob, or {"glob": ..., "root"?, "when"?, "fsyncFailureDropsDirty"?, "fs"?}') },
      )
      .optional(),
  },
  { error: expected('an options object') },
);

/** Checks the options' shapes. @throws UsageError */
export function checkOptions(options: RunOptions): void {
  const parsed = optionsSchema.safeParse(options);
  if (parsed.success) return;
  const issue = describePlanIssues(parsed.error.issues, options);
  const message = issue.isKey ? `unknown option ${show(issue.path.at(-1))}` : issue.message;
  const field = `options${issue.field === '' ? '' : `.${issue.field}`}`;
  const others = issue.others.map((o) => `; options${o.field === '' ? '' : `.${o.field}`}: ${o.message}`).join('');
  throw new UsageError(`${field}: ${message}${others}`, { field, value: issue.value });
}

const commandSchema = z.tuple([
  z.string({ error: expected('a command string') }).refine(noNul, { error: expected('a command without NUL bytes') }),
  z.array(z.string({ error: expected('a string') }).refine(noNul, { error: expected('an argument without NUL bytes') }), {
    error: expected('an array of string arguments'),
  }),
]);

/** Checks the command and its arguments. @throws UsageError */
export function checkCommand(command: unknown, args: unknown): void {
  const parsed = commandSchema.safeParse([command, args]);
  if (parsed.success) return;
  const issue = describePlanIssues(parsed.error.issues, [command, args]);
  const [which, index] = issue.path;
  const field = which === 0 ? 'command' : index === undefined ? 'args' : `args[${String(index)}]`;
  throw new UsageError(`${field}: ${issue.message}`, { field, value: issue.value });
}

/** The three stdio entries of the shim (and so of the target). */
export function stdioEntries(stdio: RunOptions['stdio']): [StdioEntry, StdioEntry, StdioEntry] {
  if (stdio === undefined) return ['inherit', 'inherit', 'inherit'];
  if (typeof stdio === 'string') return [stdio, stdio, stdio];
  return [stdio[0], stdio[1], stdio[2]];
}
