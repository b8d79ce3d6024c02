/**
 * Property tests of the plan schema (fast-check, fixed seeds so every run checks the same cases):
 * - whatever is thrown at it (any JSON value, any plan-shaped object, any text as a JSON or YAML file, any
 *   `--fault` spec), validation either succeeds or throws a PlanError with a one-line message: never a
 *   TypeError, a RangeError or a zod error;
 * - every plan the schema accepts compiles, and the C decoder (through the addon) accepts it and reads back
 *   exactly the rules the TypeScript side meant.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePlan, probThreshold } from '../../src/plan/compile.js';
import { PlanError } from '../../src/common/errors.js';
import { parseFault } from '../../src/plan/fault.js';
import { binding } from '../../src/native/binding.js';
import { normalizePlan, parsePlanText } from '../../src/plan/load.js';
import { SYSCALL_GROUPS, syscallTable } from '../../src/plan/syscalls.js';
import type { NormalizedPlan } from '../../src/plan/types.js';
import type { PlanInput } from '../../src/plan/schema.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const addonBuilt = existsSync(join(root, 'build', 'Release', 'sysfault.node'));
const RUNS = 400;
const params = (seed: number, numRuns = RUNS) => ({ seed, numRuns, endOnFailure: true });

/** Runs fn; it may return or throw a PlanError with a one-line message, nothing else. */
function onlyPlanErrors(fn: () => unknown): NormalizedPlan | undefined {
  try {
    return fn() as NormalizedPlan;
  } catch (err) {
    if (!(err instanceof PlanError)) throw new Error(`expected a PlanError, got ${String(err)}`, { cause: err });
    expect(err.message).not.toMatch(/\n/);
    expect(err.message.length).toBeGreaterThan(0);
    expect(err.code).toBe('PLAN_INVALID');
    expect(err.exitCode).toBe(125);
    return undefined;
  }
}

const names = syscallTable().names;
const groupNames = Object.keys(SYSCALL_GROUPS);
const errnos = ['EIO', 'ENOSPC', 'EAGAIN', 'ECONNREFUSED', 'EINTR', 'EPERM', 'EIOO', 'eio', ''];
const signals = ['SIGKILL', 'SIGTERM', 'SIGSEGV', 'KILL', 'SIGFOO', 'sigkill'];

/** Values that are sometimes right and often wrong for any field. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -5, max: 70 }),
  fc.constantFrom(0, 1, 0.5, 1.5, -1, 4095, 4096, 600000, 600001, 2 ** 31, 2 ** 53, Number.NaN, Infinity, -0),
  fc.double(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.constantFrom(...errnos, ...signals, ...names, ...groupNames, 'any', 'file', 'socket', 'pipe', '127.0.0.1:80', ':53', '[::1]:1'),
  fc.string({ maxLength: 12 }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.constantFrom(...names, 'nope', 3), { maxLength: 4 }),
  fc.dictionary(fc.constantFrom('errno', 'delayMs', 'jitterMs', 'short', 'kill', 'x'), fc.constantFrom('EIO', 5, 0, 'SIGKILL', -1, 1)),
);

const ruleKeys = ['id', 'syscalls', 'path', 'fd', 'addr', 'after', 'probability', 'limit', 'action', 'extra'];
const planShaped = fc.record(
  {
    version: fc.oneof(fc.constant(1), anyValue),
    seed: anyValue,
    rules: fc.oneof(fc.array(fc.dictionary(fc.constantFrom(...ruleKeys), anyValue), { maxLength: 4 }), anyValue),
    extra: anyValue,
  },
  { requiredKeys: [] },
);

describe('the schema throws nothing but PlanError', () => {
  it('for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        onlyPlanErrors(() => normalizePlan(value as PlanInput));
      }),
      params(1),
    );
  });

  it('for any value at all (bigints, undefined, sparse arrays, odd prototypes)', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withNullPrototype: true, withSparseArray: true, withBoxedValues: true }), (value) => {
        onlyPlanErrors(() => normalizePlan(value as PlanInput));
      }),
      params(2),
    );
  });

  it('for plan-shaped objects with wrong and right values mixed', () => {
    fc.assert(
      fc.property(planShaped, (value) => {
        onlyPlanErrors(() => normalizePlan(value as PlanInput));
      }),
      params(3, 1500),
    );
  });

  it('for any text read as a JSON file or a YAML file', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.jsonValue().map((v) => JSON.stringify(v))),
        fc.constantFrom('plan.json', 'plan.yaml'),
        (text, file) => {
          onlyPlanErrors(() => parsePlanText(text, file));
        },
      ),
      params(4, 1500),
    );
  });

  it('for YAML made of plan-like pieces', () => {
    const piece = fc.constantFrom(
      'version: 1\n', 'rules:\n', '  - ', 'syscalls: [fsync]\n', '    action: {errno: EIO}\n', 'seed: 18446744073709551616\n',
      '&a ', '*a', '!!binary ', '!!js/undefined ', '? ', '{', '}', '[', ']', ': ', '- ', '"', "'", '\t', '#', '---\n',
      '...\n', '0x10', '1e400', '.nan', '~', '<<: ', '%YAML 1.2\n',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
        onlyPlanErrors(() => parsePlanText(pieces.join(''), 'plan.yaml'));
      }),
      params(5, 1500),
    );
  });

  it('for any one-line --fault spec', () => {
    const token = fc.constantFrom('fsync', 'write', 'read-family', '=', ':', '@', 'EIO', 'kill', 'short', 'delay', 'ms',
      'after', 'limit', 'p', 'path', 'fd', 'id', '0', '1', '0.5', '-1', '127.0.0.1', ':80', '[::1]', '+', 'SIGKILL', '*', ',');
    fc.assert(
      fc.property(fc.oneof(fc.array(token, { maxLength: 10 }).map((t) => t.join('')), fc.string({ maxLength: 30 })), (spec) => {
        onlyPlanErrors(() => normalizePlan(undefined, [spec]));
        onlyPlanErrors(() => parseFault(spec));
      }),
      params(6, 2000),
    );
  });
});

/** Valid rules, built from the schema's own vocabulary. */
const globSegment = fc.oneof(
  fc.stringMatching(/^[a-z0-9._-]{1,8}$/),
  fc.constantFrom('*', '**', '*.wal', 'data-[0-9].bin', '?.bin', '[!a-c]x', '\\*', 'é', '日本'),
);
const glob = fc
  .array(globSegment, { minLength: 1, maxLength: 6 })
  .chain((segs) => fc.boolean().map((abs) => (abs ? '/' : '') + segs.join('/')));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const addr = fc.oneof(
  fc.tuple(ipv4, fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`),
  ipv4,
  fc.integer({ min: 1, max: 65535 }).map((p) => `:${p}`),
  fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([h, n]) => `${h}/${n}`),
  fc.constantFrom('[::1]:8080', '[fd00::]/8', '::1', 'localhost:6379', '[2001:db8::1]/64:443'),
);
const action = fc.oneof(
  fc.oneof(fc.constantFrom('EIO', 'ENOSPC', 'EAGAIN', 'ECONNREFUSED'), fc.integer({ min: 1, max: 4095 })).map((errno) => ({ errno })),
  fc.record({ delayMs: fc.integer({ min: 0, max: 600000 }), jitterMs: fc.integer({ min: 0, max: 600000 }) }, { requiredKeys: ['delayMs'] }),
  fc.integer({ min: 1, max: 0x7fffffff }).map((short) => ({ short })),
  fc.oneof(fc.constantFrom('SIGKILL', 'SIGTERM', 'SIGSEGV', 'SIGABRT'), fc.integer({ min: 1, max: 64 })).map((kill) => ({ kill })),
);
const rule = fc.record(
  {
    id: fc.string({ minLength: 1, maxLength: 20 }),
    // msync has no descriptor: path and fd filters are refused with it (its own rules below)
    syscalls: fc.uniqueArray(fc.constantFrom(...names.filter((n) => n !== 'msync'), ...groupNames), { minLength: 1, maxLength: 5 }),
    path: glob,
    fd: fc.constantFrom('any', 'file', 'socket', 'pipe'),
    addr,
    after: fc.oneof(fc.nat(10), fc.maxSafeNat()),
    probability: fc.oneof(fc.constantFrom(0, 1, 0.5), fc.double({ min: 0, max: 1, noNaN: true })),
    limit: fc.oneof(fc.nat(10), fc.maxSafeNat()),
    action,
  },
  { requiredKeys: ['syscalls', 'action'] },
);
const msyncRule = fc.record(
  {
    id: fc.string({ minLength: 1, maxLength: 20 }),
    syscalls: fc.constantFrom(['msync'], ['msync', 'fsync'], ['fsync-family', 'msync']),
    after: fc.oneof(fc.nat(10), fc.maxSafeNat()),
    probability: fc.oneof(fc.constantFrom(0, 1, 0.5), fc.double({ min: 0, max: 1, noNaN: true })),
    limit: fc.oneof(fc.nat(10), fc.maxSafeNat()),
    action,
  },
  { requiredKeys: ['syscalls', 'action'] },
);
const validPlan = fc.record(
  {
    version: fc.constant(1 as const),
    seed: fc.oneof(fc.maxSafeNat(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String)),
    rules: fc.array(fc.oneof({ weight: 7, arbitrary: rule }, { weight: 1, arbitrary: msyncRule }), { maxLength: 8 }),
  },
  { requiredKeys: ['version', 'rules'] },
);

describe.skipIf(!addonBuilt)(
  `accepted plans decode back through the C decoder identically${addonBuilt ? '' : ' [skipped: build/Release/sysfault.node not built; run npm run build:native]'}`,
  () => {
    const order = names;
    const codes = { any: 0, file: 1, socket: 2, pipe: 3 } as const;
    const actions: Record<string, number> = { errno: 1, delay: 2, short: 3, kill: 4 };

    function roundTrip(plan: NormalizedPlan, seed: bigint): void {
      const decoded = binding().decodePlan(compilePlan(plan, seed));
      if (typeof decoded === 'string') throw new Error(`the C decoder rejected an accepted plan: ${decoded}`);
      expect(decoded.seed).toBe(seed);
      expect(decoded.rules).toHaveLength(plan.rules.length);
      plan.rules.forEach((r, i) => {
        const got = decoded.rules[i] as Record<string, unknown>;
        const a = r.action;
        expect(got.id).toBe(r.id);
        expect(got.syscalls).toEqual([...r.syscalls].sort((x, y) => order.indexOf(x) - order.indexOf(y)));
        expect(got.after).toBe(BigInt(r.after));
        expect(got.limit).toBe(r.limit === null ? 0xffff_ffff_ffff_ffffn : BigInt(r.limit));
        expect(got.probThreshold).toBe(probThreshold(r.probability));
        expect(got.fdKind).toBe(codes[r.fd]);
        expect(got.action).toBe(actions[a.type]);
        expect(got.value).toBe(a.type === 'errno' ? a.errno : a.type === 'delay' ? a.ms : a.type === 'short' ? a.bytes : a.type === 'kill' ? a.signal : undefined);
        expect(got.jitterMs).toBe(a.type === 'delay' ? a.jitterMs : 0);
        expect(got.path).toBe(r.path ?? '');
        if (r.addr) expect(got.addr).toMatchObject({ family: r.addr.family, prefix: r.addr.prefix, port: r.addr.port });
        else expect(got.addr).toBeUndefined();
      });
    }

    it('valid generated plans (ids with any characters the schema takes)', () => {
      let accepted = 0;
      fc.assert(
        fc.property(validPlan, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (input, seed) => {
          const plan = onlyPlanErrors(() => normalizePlan(input as PlanInput));
          if (!plan) return; // e.g. a generated id the schema refuses (control character, duplicate)
          accepted++;
          roundTrip(plan, seed);
        }),
        params(7, 1000),
      );
      expect(accepted).toBeGreaterThan(500);
    });

    it('every plan-shaped object the schema accepts', () => {
      fc.assert(
        fc.property(planShaped, (input) => {
          const plan = onlyPlanErrors(() => normalizePlan(input as PlanInput));
          if (plan) roundTrip(plan, plan.seed ?? 0n);
        }),
        params(8, 1500),
      );
    });

    it('globs and ids with any characters, when accepted', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), (path, id) => {
          const plan = onlyPlanErrors(() => normalizePlan({ version: 1, rules: [{ id, path, syscalls: ['openat'], action: { errno: 'EIO' } }] }));
          if (plan) roundTrip(plan, 1n);
        }),
        params(9, 3000),
      );
    });
  },
);
