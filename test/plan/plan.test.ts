/**
 * Plan schema, loading, normalization and the one-line fault form: no engine runs here (the compiled wire
 * format: wire.test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAddr } from '../../src/plan/addr.js';
import { PlanError } from '../../src/common/errors.js';
import { parseFault } from '../../src/plan/fault.js';
import { checkGlob } from '../../src/plan/glob.js';
import { loadPlan, normalizePlan, parsePlanText } from '../../src/plan/load.js';
import type { PlanInput } from '../../src/plan/schema.js';
import { CONTRACT_PLAN } from './contract-plan.js';

const CONTRACT_YAML = `# the contract's example, in YAML
version: 1
seed: 42
rules:
  - id: wal-eio
    syscalls: [fsync, fdatasync]
    path: "/var/lib/db/**/*.wal"
    after: 3
    probability: 0.5
    limit: 2
    action: { errno: EIO }
  - syscalls: [connect]
    addr: "127.0.0.1:6379"
    action: { errno: ECONNREFUSED }
  - syscalls: [read]
    fd: socket
    probability: 0.1
    action: { delayMs: 200 }
  - syscalls: [write]
    path: "**/data.bin"
    action: { short: 1 }
  - syscalls: [fsync]
    after: 10
    limit: 1
    action: { kill: SIGKILL }
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sysfault-plan-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The PlanError thrown by fn. */
function planError(fn: () => unknown): PlanError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PlanError);
    return err as PlanError;
  }
  throw new Error('expected a PlanError, nothing was thrown');
}

describe('valid plans', () => {
  it('normalizes the contract example', () => {
    const plan = normalizePlan(CONTRACT_PLAN);
    expect(plan.seed).toBe(42n);
    expect(plan.rules.map((r) => r.id)).toEqual(['wal-eio', 'rule-1', 'rule-2', 'rule-3', 'rule-4']);
    const [wal, refuse, slow, short, kill] = plan.rules;
    expect(wal).toMatchObject({
      syscalls: ['fsync', 'fdatasync'],
      path: '/var/lib/db/**/*.wal',
      fd: 'any',
      addr: null,
      after: 3,
      probability: 0.5,
      limit: 2,
      action: { type: 'errno', errno: 5, name: 'EIO' },
    });
    expect(refuse?.addr).toMatchObject({ family: 4, prefix: 32, port: 6379, text: '127.0.0.1:6379' });
    expect(refuse?.action).toEqual({ type: 'errno', errno: 111, name: 'ECONNREFUSED' });
    expect(slow).toMatchObject({ fd: 'socket', probability: 0.1, limit: null, action: { type: 'delay', ms: 200, jitterMs: 0 } });
    expect(short?.action).toEqual({ type: 'short', bytes: 1 });
    expect(kill).toMatchObject({ after: 10, limit: 1, action: { type: 'kill', signal: 9, name: 'SIGKILL' } });
  });

  it('loads the same plan from a JSON file and a YAML file', () => {
    const fromObject = normalizePlan(CONTRACT_PLAN);
    expect(loadPlan(write('contract.json', JSON.stringify(CONTRACT_PLAN, null, 2)))).toEqual(fromObject);
    expect(loadPlan(write('contract.yaml', CONTRACT_YAML))).toEqual(fromObject);
    expect(loadPlan(write('contract.yml', CONTRACT_YAML))).toEqual(fromObject);
    expect(parsePlanText(CONTRACT_YAML, 'inline.yaml')).toEqual(fromObject);
  });

  it('keeps every digit of a u64 seed, in YAML, JSON and as a string', () => {
    const max = 18446744073709551615n;
    expect(loadPlan(write('seed.yaml', 'version: 1\nseed: 18446744073709551615\nrules: []\n')).seed).toBe(max);
    expect(loadPlan(write('seed.json', '{"version": 1, "seed": 18446744073709551615, "rules": []}')).seed).toBe(max);
    expect(normalizePlan({ version: 1, seed: '18446744073709551615', rules: [] }).seed).toBe(max);
    expect(normalizePlan({ version: 1, seed: 0, rules: [] }).seed).toBe(0n);
    expect(normalizePlan({ version: 1, rules: [] }).seed).toBeUndefined();
  });

  it('expands groups, deduplicates, and accepts errno/signal numbers and names', () => {
    const plan = normalizePlan({
      version: 1,
      rules: [
        { syscalls: ['fsync-family', 'fsync'], action: { errno: 28 } },
        { syscalls: ['open-family'], action: { kill: 'TERM' } },
        { syscalls: ['net'], action: { kill: 10 } },
        { syscalls: ['write'], action: { delayMs: 0, jitterMs: 5 } },
      ],
    });
    expect(plan.rules[0]?.syscalls).toEqual(['fsync', 'fdatasync', 'sync_file_range']);
    expect(plan.rules[0]?.action).toEqual({ type: 'errno', errno: 28, name: 'ENOSPC' });
    expect(plan.rules[1]?.syscalls).toEqual(['open', 'openat', 'creat']);
    expect(plan.rules[1]?.action).toEqual({ type: 'kill', signal: 15, name: 'SIGTERM' });
    expect(plan.rules[2]?.syscalls).toEqual(['connect', 'sendto', 'sendmsg', 'recvfrom', 'recvmsg']);
    expect(plan.rules[2]?.action).toEqual({ type: 'kill', signal: 10, name: 'SIGUSR1' });
    expect(plan.rules[3]?.action).toEqual({ type: 'delay', ms: 0, jitterMs: 5 });
  });

  it('appends extra rules (fault specs or objects) after the plan, ids by final index', () => {
    const plan = loadPlan(write('extra.yaml', 'version: 1\nrules:\n  - syscalls: [read]\n    action: { errno: EIO }\n'), [
      'fsync=EIO',
      { id: 'mine', syscalls: ['write'], action: { short: 2 } },
    ]);
    expect(plan.rules.map((r) => r.id)).toEqual(['rule-0', 'rule-1', 'mine']);
    expect(normalizePlan(undefined, ['connect@:53=ECONNREFUSED']).rules[0]?.addr?.text).toBe(':53');
  });

  it('allows 64 rules and an empty rule list', () => {
    const rules = Array.from({ length: 64 }, () => ({ syscalls: ['read'], action: { errno: 5 } }));
    expect(normalizePlan({ version: 1, rules }).rules).toHaveLength(64);
    expect(normalizePlan({ version: 1, rules: [] }).rules).toEqual([]);
  });
});

/** A plan with one rule; `extra` overrides its fields. */
const rule = (extra: Record<string, unknown>): unknown => ({
  version: 1,
  rules: [{ syscalls: ['fsync'], action: { errno: 'EIO' }, ...extra }],
});
/** A plan with one rule with this action. */
const act = (action: unknown): unknown => ({ version: 1, rules: [{ syscalls: ['fsync'], action }] });

const BAD_PLANS: [name: string, plan: unknown, message: string][] = [
  ['unknown errno name', act({ errno: 'EIOO' }), 'rules[0].action.errno: unknown errno "EIOO" (did you mean "EIO"?)'],
  ['errno number too large', act({ errno: 5000 }), 'rules[0].action.errno: expected an errno number from 1 to 4095, got 5000'],
  ['errno zero', act({ errno: 0 }), 'rules[0].action.errno: expected an errno number from 1 to 4095, got 0'],
  ['errno of the wrong type', act({ errno: true }), 'rules[0].action.errno: expected an errno name or number, got true'],
  ['two actions', act({ errno: 'EIO', kill: 'SIGKILL' }), 'rules[0].action: expected exactly one of errno, delayMs, short, kill, torn, powercut, refuse, blackhole, reset, close; got errno and kill'],
  ['no action', act({}), 'rules[0].action: expected exactly one of errno, delayMs, short, kill, torn, powercut, refuse, blackhole, reset, close; got none'],
  ['action missing', { version: 1, rules: [{ syscalls: ['fsync'] }] }, 'rules[0].action: required field is missing'],
  ['action not an object', act('EIO'), 'rules[0].action: expected an action object like {"errno": "EIO"}, got "EIO"'],
  ['unknown action field', act({ errorno: 'EIO' }), 'rules[0].action.errorno: unknown field "errorno" (allowed: errno, delayMs, jitterMs, short, kill, torn, powercut, refuse, blackhole, reset, close)'],
  ['unknown rule field', rule({ probabilty: 0.5 }), 'rules[0].probabilty: unknown field "probabilty" (did you mean "probability"?)'],
  ['unknown plan field', { version: 1, rules: [], extra: true }, 'extra: unknown field "extra" (allowed: version, seed, rules)'],
  ['unknown syscall', rule({ syscalls: ['fsync', 'fsyncc'] }), 'rules[0].syscalls[1]: unknown syscall "fsyncc" (did you mean "fsync"?)'],
  ['unknown group', rule({ syscalls: ['read-familly'] }), 'rules[0].syscalls[0]: unknown syscall "read-familly" (did you mean "read-family"?)'],
  ['empty syscalls', rule({ syscalls: [] }), 'rules[0].syscalls: expected at least one syscall, got []'],
  ['syscalls not a list', rule({ syscalls: 'fsync' }), 'rules[0].syscalls: expected a list of syscall names like ["fsync"], got "fsync"'],
  ['probability above 1', rule({ probability: 1.5 }), 'rules[0].probability: expected a probability from 0 to 1, got 1.5'],
  ['probability below 0', rule({ probability: -0.1 }), 'rules[0].probability: expected a probability from 0 to 1, got -0.1'],
  ['probability as text', rule({ probability: '50%' }), 'rules[0].probability: expected a probability from 0 to 1, got "50%"'],
  ['negative after', rule({ after: -1 }), 'rules[0].after: expected a non-negative integer, got -1'],
  ['fractional after', rule({ after: 1.5 }), 'rules[0].after: expected a non-negative integer, got 1.5'],
  ['limit as text', rule({ limit: '3' }), 'rules[0].limit: expected a non-negative integer, got "3"'],
  ['delay too long', act({ delayMs: 600001 }), 'rules[0].action.delayMs: expected a delay in milliseconds from 0 to 600000, got 600001'],
  ['negative jitter', act({ delayMs: 5, jitterMs: -1 }), 'rules[0].action.jitterMs: expected a jitter in milliseconds from 0 to 600000, got -1'],
  ['jitter without delay', act({ errno: 'EIO', jitterMs: 3 }), 'rules[0].action.jitterMs: jitterMs needs delayMs, got jitterMs 3 with errno'],
  ['short 0', act({ short: 0 }), 'rules[0].action.short: expected a byte count of at least 1, got 0'],
  ['unknown signal', act({ kill: 'SIGFOO' }), 'rules[0].action.kill: unknown signal "SIGFOO"'],
  ['signal 0', act({ kill: 0 }), 'rules[0].action.kill: expected a signal number from 1 to 64, got 0'],
  ['bad fd kind', rule({ fd: 'sock' }), 'rules[0].fd: expected one of any, file, socket, pipe, got "sock"'],
  ['host name in addr', rule({ addr: 'example.com:80' }), 'rules[0].addr: bad address "example.com:80": expected an IP address or "localhost" (host names are not resolved)'],
  ['port out of range', rule({ addr: ':70000' }), 'rules[0].addr: bad address ":70000": expected ":PORT" with a port from 1 to 65535'],
  ['prefix too long', rule({ addr: '10.0.0.0/33' }), 'rules[0].addr: bad address "10.0.0.0/33": expected a prefix length from 0 to 32'],
  ['addr not a string', rule({ addr: 80 }), 'rules[0].addr: expected an address string like "127.0.0.1:6379", got 80'],
  ['** inside a segment', rule({ path: '/data/a**b' }), 'rules[0].path: bad glob "/data/a**b": "**" at offset 7 must be a whole path segment (like "a/**/b")'],
  ['unclosed class', rule({ path: '/data/[a-' }), 'rules[0].path: bad glob "/data/[a-": "[" at offset 6 is not closed'],
  ['reversed range', rule({ path: '/x/[z-a]' }), 'rules[0].path: bad glob "/x/[z-a]": range "z-a" at offset 3 is reversed'],
  ['glob too long', rule({ path: `/${'a'.repeat(253)}` }), `rules[0].path: bad glob "/${'a'.repeat(55)}...: glob is 254 bytes long (at most 253)`],
  ['empty id', rule({ id: '' }), 'rules[0].id: expected a non-empty rule id, got ""'],
  ['id too long', rule({ id: 'x'.repeat(64) }), `rules[0].id: rule id "${'x'.repeat(56)}... is longer than 63 bytes`],
  ['id with a newline', rule({ id: 'a\nb' }), 'rules[0].id: rule id "a\\nb" contains a control character'],
  [
    'duplicate ids',
    { version: 1, rules: [{ id: 'x', syscalls: ['read'], action: { short: 1 } }, { id: 'x', syscalls: ['write'], action: { short: 1 } }] },
    'rules[1].id: duplicate rule id "x", already used by rules[0]',
  ],
  [
    'explicit id taking a default id',
    { version: 1, rules: [{ id: 'rule-1', syscalls: ['read'], action: { short: 1 } }, { syscalls: ['write'], action: { short: 1 } }] },
    'rules[1].id: duplicate rule id "rule-1" (the default id of this rule), already used by rules[0]',
  ],
  ['version 2', { version: 2, rules: [] }, 'version: expected version 1, got 2'],
  ['version missing', { rules: [] }, 'version: required field is missing'],
  ['rules missing', { version: 1 }, 'rules: required field is missing'],
  ['rules not a list', { version: 1, rules: {} }, 'rules: expected a list of rules, got {}'],
  ['rule not an object', { version: 1, rules: ['fsync=EIO'] }, 'rules[0]: expected a rule object, got "fsync=EIO"'],
  [
    '65 rules',
    { version: 1, rules: Array.from({ length: 65 }, () => ({ syscalls: ['read'], action: { errno: 5 } })) },
    'rules: expected at most 64 rules, got 65',
  ],
  ['negative seed', { version: 1, seed: -1, rules: [] }, 'seed: expected a non-negative integer seed below 2^53 (or a decimal string up to 2^64-1), got -1'],
  ['seed 2^53 as a number', { version: 1, seed: 2 ** 53, rules: [] }, 'seed: expected a non-negative integer seed below 2^53 (or a decimal string up to 2^64-1), got 9007199254740992'],
  [
    'seed string beyond u64',
    { version: 1, seed: '18446744073709551616', rules: [] },
    'seed: expected a non-negative integer seed below 2^53 (or a decimal string up to 2^64-1), got "18446744073709551616"',
  ],
  ['plan is a list', [], 'plan: expected a plan object like {"version": 1, "rules": [...]}, got []'],
  ['plan is null', null, 'plan: expected a plan object like {"version": 1, "rules": [...]}, got null'],
  [
    'two problems',
    { version: 1, rules: [{ syscalls: ['nope'], action: { errno: 5 } }, { syscalls: ['read'], action: { errno: 'EIOO' } }] },
    'rules[0].syscalls[0]: unknown syscall "nope"; rules[1].action.errno: unknown errno "EIOO" (did you mean "EIO"?)',
  ],
];

describe('invalid plans: one line naming the field and the value', () => {
  it('has at least 25 cases', () => {
    expect(BAD_PLANS.length).toBeGreaterThanOrEqual(25);
  });
  it.each(BAD_PLANS)('%s', (_name, plan, message) => {
    const err = planError(() => normalizePlan(plan as PlanInput));
    expect(err.message).toBe(message);
    expect(err.message).not.toContain('\n');
    expect(err.code).toBe('PLAN_INVALID');
    expect(err.exitCode).toBe(125);
    expect(err.field).toBe(message.slice(0, message.indexOf(': ')).replace(/^plan$/, ''));
  });
  it('keeps the offending value', () => {
    const err = planError(() => normalizePlan(act({ errno: 'EIOO' }) as PlanInput));
    expect(err.value).toBe('EIOO');
    expect(err.file).toBeUndefined();
  });
});

describe('invalid plan files: file:line:col', () => {
  it('points at the offending YAML value', () => {
    const yaml = 'version: 1\nrules:\n  - id: a\n    syscalls: [fsync]\n    action:\n      errno: EIO\n  - syscalls: [read]\n    action: { errno: EIOO }\n';
    const file = write('bad.yaml', yaml);
    const err = planError(() => loadPlan(file));
    expect(err.message).toBe(`${file}:8:22: rules[1].action.errno: unknown errno "EIOO" (did you mean "EIO"?)`);
    expect([err.file, err.line, err.column, err.field, err.value]).toEqual([file, 8, 22, 'rules[1].action.errno', 'EIOO']);
  });

  it('matches the documented example position', () => {
    const yaml = 'version: 1\nrules:\n  - syscalls: [fsync]\n    action: { errno: EIO }\n  - syscalls: [fsync]\n    action:\n      errno: EIOO\n';
    const file = write('plan.yaml', yaml);
    expect(planError(() => loadPlan(file)).message).toBe(`${file}:7:14: rules[1].action.errno: unknown errno "EIOO" (did you mean "EIO"?)`);
  });

  it('points at an unknown key in JSON', () => {
    const file = write('bad.json', '{\n  "version": 1,\n  "rules": [\n    { "syscalls": ["fsync"], "action": { "errno": "EIO" }, "limitt": 1 }\n  ]\n}\n');
    expect(planError(() => loadPlan(file)).message).toBe(
      `${file}:4:60: rules[0].limitt: unknown field "limitt" (did you mean "limit"?)`,
    );
  });

  it('points at a value in JSON', () => {
    const file = write('prob.json', '{"version": 1,\n "rules": [{"syscalls": ["read"], "probability": 2, "action": {"short": 1}}]}');
    expect(planError(() => loadPlan(file)).message).toBe(`${file}:2:50: rules[0].probability: expected a probability from 0 to 1, got 2`);
  });

  it('points at the enclosing object for a missing field', () => {
    const file = write('missing.yaml', 'version: 1\nrules:\n  - syscalls: [read]\n');
    expect(planError(() => loadPlan(file)).message).toBe(`${file}:3:5: rules[0].action: required field is missing`);
  });

  it('reports JSON syntax errors with a position', () => {
    const file = write('syntax.json', '{"version": 1,\n "rules": [,]}');
    const err = planError(() => loadPlan(file));
    expect(err.message).toMatch(new RegExp(`^${escape(file)}:2:12: invalid JSON: `));
    expect(err.line).toBe(2);
    const key = write('key.json', '{"version": 1,,}');
    expect(planError(() => loadPlan(key)).message).toMatch(new RegExp(`^${escape(key)}:1:\\d+: invalid JSON: `));
    const single = write('single.json', "{'version': 1, 'rules': []}");
    expect(planError(() => loadPlan(single)).message).toMatch(new RegExp(`^${escape(single)}(:1:2)?: invalid JSON: `));
  });

  it('reports YAML syntax errors and duplicate keys with a position', () => {
    const dup = write('dup.yaml', 'version: 1\nversion: 1\nrules: []\n');
    expect(planError(() => loadPlan(dup)).message).toBe(`${dup}:2:1: invalid YAML: Map keys must be unique`);
    const broken = write('broken.yaml', 'version: 1\nrules: [\n');
    expect(planError(() => loadPlan(broken)).message).toMatch(new RegExp(`^${escape(broken)}:\\d+:\\d+: invalid YAML: `));
  });

  it('reports an empty file and a missing file', () => {
    const empty = write('empty.yaml', '');
    expect(planError(() => loadPlan(empty)).message).toBe(
      `${empty}:1:1: plan: expected a plan object like {"version": 1, "rules": [...]}, got null`,
    );
    const missing = join(dir, 'nope.yaml');
    expect(planError(() => loadPlan(missing)).message).toBe(`${missing}: cannot read plan file: no such file`);
  });

  it('names faults[i] for a bad extra rule, without a file position', () => {
    const file = write('ok.yaml', 'version: 1\nrules: []\n');
    expect(planError(() => loadPlan(file, ['fsync=EIO', 'read=EIOO'])).message).toBe(
      'faults[1] "read=EIOO": action.errno: unknown errno "EIOO" (did you mean "EIO"?)',
    );
    expect(planError(() => loadPlan(file, [{ syscalls: ['read'], action: { short: 0 } }])).message).toBe(
      'faults[0].action.short: expected a byte count of at least 1, got 0',
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('one-line faults', () => {
  const GOOD: [spec: string, rule: Record<string, unknown>][] = [
    ['fsync=EIO', { syscalls: ['fsync'], action: { errno: 'EIO' } }],
    ['fsync=5', { syscalls: ['fsync'], action: { errno: 5 } }],
    ['fsync:errno=EIO', { syscalls: ['fsync'], action: { errno: 'EIO' } }],
    ['write:short=1', { syscalls: ['write'], action: { short: 1 } }],
    ['write=short=1', { syscalls: ['write'], action: { short: 1 } }],
    ['read:p=0.1=delay=200ms', { syscalls: ['read'], probability: 0.1, action: { delayMs: 200 } }],
    ['read:p=10%=delay=1s', { syscalls: ['read'], probability: 0.1, action: { delayMs: 1000 } }],
    ['read=delay=200+50ms', { syscalls: ['read'], action: { delayMs: 200, jitterMs: 50 } }],
    ['read=delay=1s+250ms', { syscalls: ['read'], action: { delayMs: 1000, jitterMs: 250 } }],
    ['connect@127.0.0.1:6379=ECONNREFUSED', { syscalls: ['connect'], addr: '127.0.0.1:6379', action: { errno: 'ECONNREFUSED' } }],
    ['connect@:53=ECONNREFUSED', { syscalls: ['connect'], addr: ':53', action: { errno: 'ECONNREFUSED' } }],
    ['connect@[::1]:80:fd=socket=kill=SIGTERM', { syscalls: ['connect'], addr: '[::1]:80', fd: 'socket', action: { kill: 'SIGTERM' } }],
    ['connect@10.0.0.0/8:443=ENETUNREACH', { syscalls: ['connect'], addr: '10.0.0.0/8:443', action: { errno: 'ENETUNREACH' } }],
    ['fsync:after=3:limit=1=kill', { syscalls: ['fsync'], after: 3, limit: 1, action: { kill: 'SIGKILL' } }],
    ['fsync:after=3:limit=1=kill=9', { syscalls: ['fsync'], after: 3, limit: 1, action: { kill: 9 } }],
    ['fsync:kill', { syscalls: ['fsync'], action: { kill: 'SIGKILL' } }],
    ['write-family,fsync:path=/data/**:id=disk=EIO', { syscalls: ['write-family', 'fsync'], path: '/data/**', id: 'disk', action: { errno: 'EIO' } }],
  ];
  it.each(GOOD)('%s', (spec, expected) => {
    expect(parseFault(spec)).toEqual(expected);
    expect(() => normalizePlan(undefined, [spec])).not.toThrow();
  });

  const BAD: [spec: string, message: string][] = [
    ['fsync=EIOO', '--fault "fsync=EIOO": action.errno: unknown errno "EIOO" (did you mean "EIO"?)'],
    ['fsync', '--fault "fsync": missing "=ACTION" (like "=EIO", "=delay=100ms", "=short=1" or "=kill")'],
    ['=EIO', '--fault "=EIO": expected syscall names first, like "fsync=EIO"'],
    ['fsync,=EIO', '--fault "fsync,=EIO": empty syscall name in the list'],
    ['fsyncc=EIO', '--fault "fsyncc=EIO": syscalls[0]: unknown syscall "fsyncc" (did you mean "fsync"?)'],
    ['fsync:aftr=3=EIO', '--fault "fsync:aftr=3=EIO": unknown option "aftr" (did you mean "after"?)'],
    ['fsync:pth=**/x=EIO', '--fault "fsync:pth=**/x=EIO": unknown option "pth" (did you mean "path"?)'],
    ['fsync:after=x=EIO', '--fault "fsync:after=x=EIO": after: expected a non-negative integer, got "x"'],
    ['fsync:after=1:after=2=EIO', '--fault "fsync:after=1:after=2=EIO": option "after" given twice'],
    ['read:p=2=EIO', '--fault "read:p=2=EIO": p: expected a probability from 0 to 1, got 2'],
    ['read=delay=soon', '--fault "read=delay=soon": expected delay=DURATION like delay=200ms, delay=1s or delay=200+50ms, got "delay=soon"'],
    ['read=delay=0.5', '--fault "read=delay=0.5": action.delayMs: expected a delay in milliseconds from 0 to 600000, got 0.5'],
    ['write=short=0', '--fault "write=short=0": action.short: expected a byte count of at least 1, got 0'],
    ['fsync=kill=SIGNOPE', '--fault "fsync=kill=SIGNOPE": action.kill: unknown signal "SIGNOPE"'],
    ['connect@::1=EIO', '--fault "connect@::1=EIO": expected an address after "@" (an IPv6 address needs brackets: @[::1]:80)'],
    ['connect@db.local:5432=EIO', '--fault "connect@db.local:5432=EIO": addr: bad address "db.local:5432": expected an IP address or "localhost" (host names are not resolved)'],
    ['fsync!EIO', '--fault "fsync!EIO": unexpected "!EIO" (options are ":key=value", the action comes after "=")'],
  ];
  it.each(BAD)('rejects %s', (spec, message) => {
    const err = planError(() => parseFault(spec, '--fault'));
    expect(err.message).toBe(message);
  });
});

describe('addresses and globs', () => {
  it.each([
    ['127.0.0.1:6379', 4, 32, 6379, '127.0.0.1:6379'],
    ['localhost', 4, 32, 0, '127.0.0.1'],
    [':6379', 0, 0, 6379, ':6379'],
    ['[::1]:80', 6, 128, 80, '[::1]:80'],
    ['::1', 6, 128, 0, '::1'],
    ['fd00::/8', 6, 8, 0, 'fd00::/8'],
    ['fd00::/8:443', 6, 8, 443, '[fd00::]/8:443'],
    ['[fd00::1/64]:443', 6, 64, 443, '[fd00::]/64:443'],
    ['10.1.2.3/8', 4, 8, 0, '10.0.0.0/8'],
    ['10.0.0.0/8:80', 4, 8, 80, '10.0.0.0/8:80'],
    ['::ffff:10.1.2.3', 4, 32, 0, '10.1.2.3'],
    ['[::ffff:10.0.0.0]/104:80', 4, 8, 80, '10.0.0.0/8:80'],
  ])('%s', (text, family, prefix, port, canonical) => {
    const addr = parseAddr(text);
    expect(addr).toMatchObject({ family, prefix, port, text: canonical });
  });

  it('stores the address bytes as the wire format does', () => {
    const v4 = parseAddr('192.168.1.2:1');
    const v6 = parseAddr('[2001:db8::ff00:42:8329]:1');
    if ('error' in v4 || 'error' in v6) throw new Error('parse failed');
    expect(Array.from(v4.bytes)).toEqual([192, 168, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Buffer.from(v6.bytes).toString('hex')).toBe('20010db8000000000000ff0000428329');
  });

  it.each(['**/data.bin', '/var/lib/db/**/*.wal', '/a/**', '*.log', '/x/[!a-c]?', '/x/[]]', '/x/\\*'])('accepts glob %s', (glob) => {
    expect(checkGlob(glob)).toBeUndefined();
  });
});
