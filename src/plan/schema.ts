/**
 * The plan v1 schema in zod. Every object is strict (unknown fields are errors) and every error message is a
 * phrase that names the offending value; src/plan/load.ts prefixes it with the field path (and file:line:col).
 */
import { z } from 'zod';
import { expected, integer } from '../common/document.js';
import { didYouMean, show } from '../common/text.js';
import { parseAddr } from './addr.js';
import { checkGlob } from './glob.js';
import { errnoList, errnoName, errnoNumber, MAX_ERRNO, MAX_SIGNAL, signalName, signalNames, signalNumber } from './signals.js';
import { expandSyscalls, SOCKET_GROUPS, SYSCALL_GROUPS, syscallTable, type SyscallTable } from './syscalls.js';
import type { FdKind, NormalizedAction, NormalizedPlan, NormalizedRule } from './types.js';

/** Syscalls that only ever act on sockets: they may share a rule with a socket group. */
const SOCKET_ONLY: ReadonlySet<string> = new Set(['connect', 'sendto', 'sendmsg', 'recvfrom', 'recvmsg']);

/** `$schema`: the JSON Schema an editor checks the file with (schema/*.json); not used otherwise. */
export const schemaUrl = z.string({ error: expected('a JSON Schema URL or path') }).optional();

/** Most rules a plan may have (SF_MAX_RULES). */
export const MAX_RULES = 64;
/** Longest rule id in UTF-8 bytes (SF_ID_MAX less the NUL). */
export const ID_MAX_BYTES = 63;
/** Longest delay or jitter, in milliseconds (10 minutes). */
export const MAX_DELAY_MS = 600_000;
/** Largest short-transfer byte count (it is an i32 on the wire). */
export const MAX_SHORT = 0x7fffffff;
/** Largest seed (a u64). */
export const MAX_SEED = (1n << 64n) - 1n;
/** fd kinds, in wire order. */
export const FD_KINDS = ['any', 'file', 'socket', 'pipe'] as const satisfies readonly FdKind[];


const nonNegative = () => integer(0, Number.MAX_SAFE_INTEGER, 'a non-negative integer');

/** A plan's seed: a non-negative integer < 2^53, a bigint, or a decimal string of a u64. */
export const seedSchema = z
  .union([z.number(), z.string(), z.bigint()], {
    error: expected('a non-negative integer seed (or a decimal string of one up to 2^64-1)'),
  })
  .transform((value, ctx): bigint => {
    const seed = parseSeed(value);
    if (seed === undefined) {
      ctx.addIssue({
        code: 'custom',
        input: value,
        message: `expected a non-negative integer seed below 2^53 (or a decimal string up to 2^64-1), got ${show(value)}`,
      });
      return z.NEVER;
    }
    return seed;
  });

/** A seed as a u64 bigint, or undefined when it is not one. */
export function parseSeed(value: number | string | bigint): bigint | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : undefined;
  }
  if (typeof value === 'string' && !/^\d{1,20}$/.test(value)) return undefined;
  const big = BigInt(value);
  return big >= 0n && big <= MAX_SEED ? big : undefined;
}

const errnoSchema = z
  .union([z.string(), z.number()], { error: expected('an errno name or number') })
  .transform((value, ctx): NormalizedAction => {
    const errno = errnoNumber(value);
    if (errno === undefined) {
      ctx.addIssue({
        code: 'custom',
        input: value,
        message:
          typeof value === 'number'
            ? `expected an errno number from 1 to ${MAX_ERRNO}, got ${show(value)}`
            : `unknown errno ${show(value)}${didYouMean(value, errnoList().map(([name]) => name))}`,
      });
      return z.NEVER;
    }
    return { type: 'errno', errno, name: errnoName(errno) };
  });

const signalSchema = z
  .union([z.string(), z.number()], { error: expected('a signal name or number') })
  .transform((value, ctx): NormalizedAction => {
    const signal = signalNumber(value);
    if (signal === undefined) {
      ctx.addIssue({
        code: 'custom',
        input: value,
        message:
          typeof value === 'number'
            ? `expected a signal number from 1 to ${MAX_SIGNAL}, got ${show(value)}`
            : `unknown signal ${show(value)}${didYouMean(value, signalNames())}`,
      });
      return z.NEVER;
    }
    return { type: 'kill', signal, name: signalName(signal) };
  });

const ACTION_KEYS = ['errno', 'delayMs', 'short', 'kill', 'torn', 'powercut', 'refuse', 'blackhole', 'reset', 'close'] as const;

/** Syscalls a refuse or blackhole applies to. */
export const CONNECT_SYSCALLS: readonly string[] = ['connect'];
/** Syscalls a reset or close applies to: the socket reads and writes. */
export const SOCKET_IO_SYSCALLS: readonly string[] = ['read', 'write', 'readv', 'writev', 'recvfrom', 'sendto', 'recvmsg', 'sendmsg'];

/** Rule-level checks of the network actions (docs/network.md): which syscalls they can apply to. */
function checkNetworkAction(syscalls: readonly string[], action: NormalizedAction, ctx: z.RefinementCtx): void {
  const allowed =
    action.type === 'refuse' || action.type === 'blackhole'
      ? CONNECT_SYSCALLS
      : action.type === 'reset' || action.type === 'close'
        ? SOCKET_IO_SYSCALLS
        : undefined;
  const bad = allowed ? syscalls.filter((s) => !allowed.includes(s)) : [];
  if (allowed && bad.length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['syscalls'],
      input: syscalls,
      message: `${action.type} applies to ${allowed.join(', ')}; got ${bad.join(', ')}`,
    });
  }
}

/** Syscalls a torn write applies to (the write family that writes files). */
export const TORN_SYSCALLS: readonly string[] = ['write', 'pwrite64', 'writev', 'pwritev', 'pwritev2'];
/** Syscalls a kill or power cut may follow (`when: 'after'`): both engines complete these calls first. */
export const AFTER_SYSCALLS: readonly string[] = [
  'fsync', 'fdatasync', 'sync_file_range',
  'read', 'write', 'pread64', 'pwrite64', 'readv', 'writev', 'preadv', 'pwritev', 'preadv2', 'pwritev2',
];

const tornSchema = z.union(
  [
    integer(0, MAX_SHORT, 'a byte count from 0'),
    z.literal('seeded'),
    z.strictObject({ bytes: integer(0, MAX_SHORT, 'a byte count from 0') }),
    z.strictObject({
      fraction: z.union([
        z.number().min(0, { error: expected('a fraction from 0 to 1') }).max(1, { error: expected('a fraction from 0 to 1') }),
        z.literal('seeded'),
      ], { error: expected('a fraction from 0 to 1, or "seeded"') }),
    }),
  ],
  { error: expected('a byte count, {"fraction": 0.5}, or "seeded" (a seeded fraction per call)') },
);

/** Rule-level checks of the storage actions (docs/crash-consistency.md): which syscalls they can apply to. */
function checkStorageAction(syscalls: readonly string[], action: NormalizedAction, ctx: z.RefinementCtx): void {
  const bad = (allowed: readonly string[]) => syscalls.filter((s) => !allowed.includes(s));
  if (action.type === 'torn' && bad(TORN_SYSCALLS).length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['syscalls'],
      input: syscalls,
      message: `a torn write applies to ${TORN_SYSCALLS.join(', ')}; got ${bad(TORN_SYSCALLS).join(', ')}`,
    });
  }
  if ((action.type === 'kill' || action.type === 'powercut') && action.when === 'after' && bad(AFTER_SYSCALLS).length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['syscalls'],
      input: syscalls,
      message: `"when": "after" applies to ${AFTER_SYSCALLS.join(', ')}; got ${bad(AFTER_SYSCALLS).join(', ')}`,
    });
  }
}

/** A rule's action: exactly one of errno, delayMs (optionally with jitterMs), short, kill, torn, powercut. */
export const actionSchema = z
  .strictObject(
    {
      errno: errnoSchema.optional(),
      delayMs: integer(0, MAX_DELAY_MS, `a delay in milliseconds from 0 to ${MAX_DELAY_MS}`).optional(),
      jitterMs: integer(0, MAX_DELAY_MS, `a jitter in milliseconds from 0 to ${MAX_DELAY_MS}`).optional(),
      short: integer(1, MAX_SHORT, 'a byte count of at least 1').optional(),
      kill: signalSchema.optional(),
      torn: tornSchema.optional(),
      powercut: z.literal(true, { error: expected('true') }).optional(),
      when: z.enum(['before', 'after'], { error: expected('"before" or "after"') }).optional(),
      scope: z.enum(['process', 'tree'], { error: expected('"process" or "tree"') }).optional(),
      refuse: z.literal(true, { error: expected('true') }).optional(),
      blackhole: z.literal(true, { error: expected('true') }).optional(),
      reset: z.literal(true, { error: expected('true') }).optional(),
      close: z.literal(true, { error: expected('true') }).optional(),
      afterBytes: integer(0, MAX_SHORT, 'a byte count from 0').optional(),
      afterMs: integer(0, MAX_DELAY_MS, `a silence in milliseconds from 0 to ${MAX_DELAY_MS}`).optional(),
    },
    { error: expected('an action object like {"errno": "EIO"}') },
  )
  .transform((a, ctx): NormalizedAction => {
    const given = ACTION_KEYS.filter((k) => a[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        input: a,
        message:
          given.length === 0
            ? `expected exactly one of ${ACTION_KEYS.join(', ')}; got none`
            : `expected exactly one of ${ACTION_KEYS.join(', ')}; got ${given.join(' and ')}`,
      });
      return z.NEVER;
    }
    if (a.jitterMs !== undefined && a.delayMs === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['jitterMs'],
        input: a.jitterMs,
        message: `jitterMs needs delayMs, got jitterMs ${show(a.jitterMs)} with ${given[0]}`,
      });
      return z.NEVER;
    }
    if (a.when !== undefined && a.kill === undefined && a.powercut === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['when'],
        input: a.when,
        message: `"when" goes with kill or powercut, got "when" with ${given[0]}`,
      });
      return z.NEVER;
    }
    if (a.scope !== undefined && a.kill === undefined) {
      ctx.addIssue({ code: 'custom', path: ['scope'], input: a.scope, message: `"scope" goes with kill, got "scope" with ${given[0]}` });
      return z.NEVER;
    }
    for (const key of ['afterBytes', 'afterMs'] as const) {
      if (a[key] !== undefined && a.reset === undefined && a.close === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          input: a[key],
          message: `${key} goes with reset or close, got ${key} with ${given[0]}`,
        });
        return z.NEVER;
      }
    }
    if (a.errno) return a.errno;
    if (a.kill) {
      const kill = a.kill as Extract<NormalizedAction, { type: 'kill' }>;
      return { ...kill, ...(a.when === 'after' && { when: 'after' }), ...(a.scope === 'tree' && { scope: 'tree' }) };
    }
    if (a.powercut) return a.when === 'after' ? { type: 'powercut', when: 'after' } : { type: 'powercut' };
    if (a.torn !== undefined) {
      const t = a.torn;
      if (typeof t === 'number') return { type: 'torn', bytes: t };
      if (t === 'seeded') return { type: 'torn', fraction: 'seeded' };
      if ('bytes' in t) return { type: 'torn', bytes: t.bytes };
      return { type: 'torn', fraction: t.fraction };
    }
    if (a.refuse) return { type: 'refuse' };
    if (a.blackhole) return { type: 'blackhole' };
    if (a.reset) return { type: 'reset', afterBytes: a.afterBytes ?? 0, afterMs: a.afterMs ?? 0 };
    if (a.close) return { type: 'close', afterBytes: a.afterBytes ?? 0, afterMs: a.afterMs ?? 0 };
    if (a.short !== undefined) return { type: 'short', bytes: a.short };
    return { type: 'delay', ms: a.delayMs ?? 0, jitterMs: a.jitterMs ?? 0 };
  });

const idSchema = z
  .string({ error: expected('a rule id string') })
  .min(1, { error: 'expected a non-empty rule id, got ""' })
  .refine((id) => Buffer.byteLength(id, 'utf8') <= ID_MAX_BYTES, {
    error: (iss) => `rule id ${show(iss.input)} is longer than ${ID_MAX_BYTES} bytes`,
  })
  .refine((id) => !/[\u0000-\u001f\u007f]/.test(id), {
    error: (iss) => `rule id ${show(iss.input)} contains a control character`,
  });

const pathSchema = z.string({ error: expected('a path glob string') }).superRefine((glob, ctx) => {
  const problem = checkGlob(glob);
  if (problem) ctx.addIssue({ code: 'custom', input: glob, message: `bad glob ${show(glob)}: ${problem}` });
});

const addrSchema = z.string({ error: expected('an address string like "127.0.0.1:6379"') }).transform((text, ctx) => {
  const addr = parseAddr(text);
  if ('error' in addr) {
    ctx.addIssue({ code: 'custom', input: text, message: `bad address ${show(text)}: ${addr.error}` });
    return z.NEVER;
  }
  return addr;
});

/** A rule without its default id (filled in by the plan, which knows the index). */
type RuleBody = Omit<NormalizedRule, 'id'> & { readonly id: string | undefined };

/** Schema of one rule, validating syscall names against `table`. */
export function ruleSchema(table: SyscallTable = syscallTable()) {
  const syscallsSchema = z
    .array(z.string({ error: expected('a syscall name') }), {
      error: expected('a list of syscall names like ["fsync"]'),
    })
    .min(1, { error: 'expected at least one syscall, got []' })
    .transform((names, ctx): { syscalls: string[]; socketGroup: string | undefined } => {
      const expansion = expandSyscalls(names, table);
      if ('unknown' in expansion) {
        ctx.addIssue({
          code: 'custom',
          path: [expansion.index],
          input: expansion.unknown,
          message: `unknown syscall ${show(expansion.unknown)}${didYouMean(expansion.unknown, [...table.names, ...Object.keys(SYSCALL_GROUPS)])}`,
        });
        return z.NEVER;
      }
      const socketGroup = names.find((n) => SOCKET_GROUPS.includes(n));
      // a socket group implies fd socket for the whole rule: a name that also acts on files would silently lose them
      const mixed = socketGroup === undefined ? undefined : names.find((n) => !SOCKET_GROUPS.includes(n) && !SOCKET_ONLY.has(n));
      if (mixed !== undefined) {
        ctx.addIssue({
          code: 'custom',
          input: names,
          message: `${socketGroup} matches sockets only and cannot share a rule with ${mixed}, which acts on files too: give ${mixed} a rule of its own`,
        });
        return z.NEVER;
      }
      return { syscalls: expansion.syscalls, socketGroup };
    });

  return z
    .strictObject(
      {
        id: idSchema.optional(),
        syscalls: syscallsSchema,
        path: pathSchema.optional(),
        fd: z.enum(FD_KINDS, { error: expected(`one of ${FD_KINDS.join(', ')}`) }).optional(),
        addr: addrSchema.optional(),
        after: nonNegative().optional(),
        probability: z
          .number({ error: expected('a probability from 0 to 1') })
          .min(0, { error: expected('a probability from 0 to 1') })
          .max(1, { error: expected('a probability from 0 to 1') })
          .optional(),
        limit: nonNegative().optional(),
        action: actionSchema,
      },
      { error: expected('a rule object') },
    )
    .superRefine((r, ctx) => checkStorageAction(r.syscalls.syscalls, r.action, ctx))
    .superRefine((r, ctx) => checkNetworkAction(r.syscalls.syscalls, r.action, ctx))
    .superRefine((r, ctx) => {
      // msync works on a mapping, not a descriptor: no path or fd filter can select its calls
      const filter = r.path !== undefined ? 'path' : r.fd !== undefined ? 'fd' : undefined;
      if (filter !== undefined && r.syscalls.syscalls.includes('msync'))
        ctx.addIssue({
          code: 'custom',
          path: [filter],
          input: filter === 'path' ? r.path : r.fd,
          message: `msync has no descriptor, so a ${filter} filter cannot select its calls: give msync a rule of its own (after, limit, probability)`,
        });
    })
    .superRefine((r, ctx) => {
      // a group named for sockets matches sockets only: it implies fd socket, and another fd contradicts it
      const group = r.syscalls.socketGroup;
      if (group !== undefined && r.fd !== undefined && r.fd !== 'socket')
        ctx.addIssue({
          code: 'custom',
          path: ['fd'],
          input: r.fd,
          message: `${group} matches sockets only, got fd ${show(r.fd)} (read-family and write-family match any descriptor)`,
        });
    })
    .transform(
      (r): RuleBody => ({
        id: r.id,
        syscalls: r.syscalls.syscalls,
        path: r.path ?? null,
        fd: r.fd ?? (r.syscalls.socketGroup !== undefined ? 'socket' : 'any'),
        addr: r.addr ?? null,
        after: r.after ?? 0,
        limit: r.limit ?? null,
        probability: r.probability ?? 1,
        action: r.action,
      }),
    );
}

/** Fills in default ids (`rule-<index>`) and rejects duplicates. */
function finishRules(rules: readonly RuleBody[], ctx: z.RefinementCtx): NormalizedRule[] {
  const out: NormalizedRule[] = [];
  const seen = new Map<string, number>();
  for (const [i, rule] of rules.entries()) {
    const id = rule.id ?? `rule-${i}`;
    const first = seen.get(id);
    if (first !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'id'],
        input: id,
        message: `duplicate rule id ${show(id)}${rule.id === undefined ? ' (the default id of this rule)' : ''}, already used by rules[${first}]`,
      });
    }
    seen.set(id, i);
    out.push({ ...rule, id });
  }
  return out;
}

/** Schema of a whole plan (version 1), validating syscall names against `table`. */
export function planSchema(table: SyscallTable = syscallTable()) {
  return z
    .strictObject(
      {
        $schema: schemaUrl,
        version: z.literal(1, { error: expected('version 1') }),
        seed: seedSchema.optional(),
        rules: z
          .array(ruleSchema(table), { error: expected('a list of rules') })
          .max(MAX_RULES, { error: (iss) => `expected at most ${MAX_RULES} rules, got ${arrayLength(iss.input)}` })
          .transform(finishRules),
      },
      { error: expected('a plan object like {"version": 1, "rules": [...]}') },
    )
    .transform((p): NormalizedPlan => ({ version: 1, seed: p.seed, rules: p.rules }));
}

function arrayLength(value: unknown): string {
  return Array.isArray(value) ? String(value.length) : show(value);
}

/** A plan as written in a file or passed as an object (plan v1). */
export type PlanInput = z.input<ReturnType<typeof planSchema>>;
/** One rule as written. */
export type RuleInput = z.input<ReturnType<typeof ruleSchema>>;
/** One action as written: exactly one of `errno`, `delayMs` (with optional `jitterMs`), `short`, `kill`. */
export type ActionInput = z.input<typeof actionSchema>;
