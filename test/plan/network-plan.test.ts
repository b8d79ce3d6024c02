/**
 * The network actions in plans (docs/network.md): schema, the one-line fault form, the wire format and the C decoder's
 * checks, and the fault log's action texts. No program runs here (test/run/network.test.ts runs them).
 */
import { describe, expect, it } from 'vitest';
import { compilePlan, WIRE, WIRE_HEADER, WIRE_RULE } from '../../src/plan/compile.js';
import { parseFault } from '../../src/plan/fault.js';
import { binding } from '../../src/native/binding.js';
import { normalizePlan } from '../../src/plan/load.js';
import { formatAction } from '../../src/run/result.js';
import type { PlanInput } from '../../src/plan/schema.js';

const one = (rule: PlanInput['rules'][number]): PlanInput => ({ version: 1, seed: 1, rules: [rule] });
const problem = (rule: unknown): string => {
  try {
    normalizePlan(one(rule as PlanInput['rules'][number]));
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

describe('network actions in the plan schema', () => {
  it('normalizes refuse, blackhole, reset and close', () => {
    const plan = normalizePlan({
      version: 1,
      rules: [
        { syscalls: ['connect'], addr: '127.0.0.1:6379', action: { refuse: true } },
        { syscalls: ['connect'], addr: '10.0.0.0/8', probability: 0.5, action: { blackhole: true } },
        { syscalls: ['read', 'recvfrom'], addr: ':8080', action: { reset: true } },
        { syscalls: ['socket-read'], fd: 'socket', action: { reset: true, afterBytes: 1024 } },
        { syscalls: ['recvfrom'], addr: '[::1]:80', action: { close: true, afterBytes: 10 } },
        { syscalls: ['socket-read'], action: { reset: true, afterMs: 300 } },
      ],
    });
    expect(plan.rules[3]!.syscalls).toEqual(['read', 'readv', 'recvfrom', 'recvmsg']);
    expect(plan.rules.map((r) => r.action)).toEqual([
      { type: 'refuse' },
      { type: 'blackhole' },
      { type: 'reset', afterBytes: 0, afterMs: 0 },
      { type: 'reset', afterBytes: 1024, afterMs: 0 },
      { type: 'close', afterBytes: 10, afterMs: 0 },
      { type: 'reset', afterBytes: 0, afterMs: 300 },
    ]);
  });

  it.each([
    ['refuse on a read', { syscalls: ['read'], action: { refuse: true } }, 'rules[0].syscalls: refuse applies to connect; got read'],
    ['blackhole on connect and sendto', { syscalls: ['connect', 'sendto'], action: { blackhole: true } }, 'rules[0].syscalls: blackhole applies to connect; got sendto'],
    ['reset on fsync', { syscalls: ['fsync'], action: { reset: true } }, 'rules[0].syscalls: reset applies to read, write, readv, writev, recvfrom, sendto, recvmsg, sendmsg; got fsync'],
    ['reset on connect', { syscalls: ['connect'], action: { reset: true } }, 'rules[0].syscalls: reset applies to read, write, readv, writev, recvfrom, sendto, recvmsg, sendmsg; got connect'],
    ['afterBytes with errno', { syscalls: ['read'], action: { errno: 'EIO', afterBytes: 3 } }, 'rules[0].action.afterBytes: afterBytes goes with reset or close, got afterBytes with errno'],
    ['refuse: false', { syscalls: ['connect'], action: { refuse: false } }, 'rules[0].action.refuse: expected true, got false'],
    ['afterMs with a delay', { syscalls: ['read'], action: { delayMs: 5, afterMs: 3 } }, 'rules[0].action.afterMs: afterMs goes with reset or close, got afterMs with delayMs'],
    ['negative afterBytes', { syscalls: ['read'], action: { reset: true, afterBytes: -1 } }, 'rules[0].action.afterBytes: expected a byte count from 0, got -1'],
    ['two network actions', { syscalls: ['connect'], action: { refuse: true, blackhole: true } }, 'got refuse and blackhole'],
  ])('rejects %s', (_name, rule, message) => {
    expect(problem(rule)).toContain(message);
  });
});

describe('network actions in the one-line fault form', () => {
  it.each([
    ['connect@127.0.0.1:6379=refuse', { syscalls: ['connect'], addr: '127.0.0.1:6379', action: { refuse: true } }],
    ['connect@10.0.0.0/8:p=0.5=blackhole', { syscalls: ['connect'], addr: '10.0.0.0/8', probability: 0.5, action: { blackhole: true } }],
    ['read,recvfrom@:8080=reset', { syscalls: ['read', 'recvfrom'], addr: ':8080', action: { reset: true } }],
    ['read,recvfrom@:8080=reset=1024', { syscalls: ['read', 'recvfrom'], addr: ':8080', action: { reset: true, afterBytes: 1024 } }],
    ['socket-read@:8080=close=300ms', { syscalls: ['socket-read'], addr: ':8080', action: { close: true, afterMs: 300 } }],
    ['socket-read@:8080=reset=1.5s', { syscalls: ['socket-read'], addr: ':8080', action: { reset: true, afterMs: 1500 } }],
    ['recvfrom@[::1]:80:limit=1=close=10', { syscalls: ['recvfrom'], addr: '[::1]:80', limit: 1, action: { close: true, afterBytes: 10 } }],
    ['read@:8080=delay=500+100ms', { syscalls: ['read'], addr: ':8080', action: { delayMs: 500, jitterMs: 100 } }],
  ])('%s', (spec, rule) => {
    expect(parseFault(spec)).toEqual(rule);
  });

  it.each([
    ['read=reset=lots', 'expected an action'],
    ['connect=refuse=1', 'expected an action'],
    ['read=refuse', 'syscalls: refuse applies to connect; got read'],
  ])('rejects %s', (spec, message) => {
    expect(() => parseFault(spec)).toThrow(message);
  });
});

describe('network actions on the wire', () => {
  const plan = normalizePlan({
    version: 1,
    rules: [
      { syscalls: ['connect'], action: { refuse: true } },
      { syscalls: ['connect'], action: { blackhole: true } },
      { syscalls: ['recvfrom'], action: { reset: true, afterBytes: 1024 } },
      { syscalls: ['read'], action: { close: true, afterMs: 300 } },
    ],
  });
  const bytes = compilePlan(plan, 1n);
  const view = new DataView(bytes.buffer);
  const at = (i: number, field: number) => WIRE_HEADER + i * WIRE_RULE + field;

  it('action codes 5..8, afterBytes in value, afterMs in value2, no flags', () => {
    expect([0, 1, 2, 3].map((i) => view.getUint32(at(i, WIRE.action), true))).toEqual([5, 6, 7, 8]);
    expect([0, 1, 2, 3].map((i) => view.getInt32(at(i, WIRE.value), true))).toEqual([0, 0, 1024, 0]);
    expect([0, 1, 2, 3].map((i) => view.getInt32(at(i, WIRE.value2), true))).toEqual([0, 0, 0, 300]);
    expect([0, 1, 2, 3].map((i) => view.getUint32(at(i, WIRE.flags), true))).toEqual([0, 0, 0, 0]);
  });

  it('the C decoder reads them back and refuses them on the wrong syscalls', () => {
    const native = binding();
    const decoded = native.decodePlan(bytes);
    expect(typeof decoded).toBe('object');
    if (typeof decoded === 'string') return;
    expect(decoded.rules.map((r) => [r.syscalls, r.action, r.value])).toEqual([
      [['connect'], 5, 0],
      [['connect'], 6, 0],
      [['recvfrom'], 7, 1024],
      [['read'], 8, 0],
    ]);
    const names = native.syscallNames();
    const tamper = (i: number, edit: (copy: Uint8Array, v: DataView) => void) => {
      const copy = bytes.slice();
      edit(copy, new DataView(copy.buffer));
      return native.decodePlan(copy);
    };
    expect(tamper(0, (_c, v) => v.setBigUint64(at(0, WIRE.syscalls), 1n << BigInt(names.indexOf('read')), true))).toBe(
      'compiled plan: rule 0: refuse or blackhole on a syscall other than connect',
    );
    expect(tamper(2, (_c, v) => v.setBigUint64(at(2, WIRE.syscalls), 1n << BigInt(names.indexOf('fsync')), true))).toBe(
      'compiled plan: rule 2: reset or close on a syscall that does no socket I/O',
    );
    expect(tamper(2, (_c, v) => v.setInt32(at(2, WIRE.value), -5, true))).toBe('compiled plan: rule 2: reset or close byte count below 0');
    expect(tamper(0, (_c, v) => v.setInt32(at(0, WIRE.value), 1, true))).toBe('compiled plan: rule 0: refuse or blackhole with a value');
    expect(tamper(0, (_c, v) => v.setInt32(at(0, WIRE.value2), 1, true))).toBe(
      'compiled plan: rule 0: second value set for an action that takes none',
    );
    expect(tamper(3, (_c, v) => v.setInt32(at(3, WIRE.value2), 600001, true))).toBe(
      'compiled plan: rule 3: reset or close silence out of range',
    );
  });

  it('fault log texts', () => {
    expect([formatAction(5, 0), formatAction(6, 0), formatAction(7, 0), formatAction(7, 1024), formatAction(8, 0), formatAction(8, 3)]).toEqual([
      'refuse',
      'blackhole',
      'reset',
      'reset:after=1024',
      'close',
      'close:after=3',
    ]);
  });

  it('the blackhole listeners exist, on loopback, and drop SYNs', async () => {
    const { port4, port6 } = binding().netSinks();
    expect(port4).toBeGreaterThan(0);
    expect(port6).toBeGreaterThan(0);
    const { createConnection } = await import('node:net');
    const outcome = await new Promise<string>((resolve) => {
      const s = createConnection({ port: port4, host: '127.0.0.1' });
      const timer = setTimeout(() => (s.destroy(), resolve('pending')), 300);
      s.on('connect', () => (clearTimeout(timer), s.destroy(), resolve('connected')));
      s.on('error', (e: NodeJS.ErrnoException) => (clearTimeout(timer), resolve(e.code ?? 'error')));
    });
    expect(outcome).toBe('pending');
    expect(binding().netSinks()).toEqual({ port4, port6 });
  });
});
