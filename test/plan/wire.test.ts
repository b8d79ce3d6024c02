/**
 * The compiled plan's wire format (native/core/sysfault.h), byte by byte, and its round trip through the C decoder
 * (only when the addon is built). No engine runs here.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compilePlan, probThreshold, WIRE, WIRE_HEADER, WIRE_RULE } from '../../src/plan/compile.js';
import { PlanError } from '../../src/common/errors.js';
import type { NativeBinding } from '../../src/native/binding.js';
import { normalizePlan } from '../../src/plan/load.js';
import { BUILTIN_SYSCALLS, syscallTable } from '../../src/plan/syscalls.js';
import { CONTRACT_PLAN, WAL_RULE } from './contract-plan.js';
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('compiled plan (wire format of native/core/sysfault.h)', () => {
  const plan = normalizePlan({
    version: 1,
    rules: [
      WAL_RULE,
      { syscalls: ['connect'], addr: '127.0.0.1:6379', fd: 'socket', action: { delayMs: 200, jitterMs: 50 } },
      { syscalls: ['write'], addr: '[fd00::1]/64:443', fd: 'pipe', action: { short: 1 } },
      { id: 'any-dns', syscalls: ['read'], addr: ':53', fd: 'file', probability: 0, action: { kill: 'SIGKILL' } },
    ],
  });
  const bytes = compilePlan(plan, '18446744073709551615');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = (i: number): number => WIRE_HEADER + i * WIRE_RULE;
  const u64 = (o: number): bigint => view.getBigUint64(o, true);
  const u32 = (o: number): number => view.getUint32(o, true);
  const text = (o: number, n: number): string => Buffer.from(bytes.subarray(o, o + n)).toString('utf8');

  it('has the header', () => {
    expect(bytes.length).toBe(32 + 4 * 512);
    expect(Buffer.from(bytes.subarray(0, 8))).toEqual(Buffer.from('SFPLAN\0\x01', 'latin1'));
    expect(u32(8)).toBe(1);
    expect(u32(12)).toBe(4);
    expect(u64(16)).toBe(0xffff_ffff_ffff_ffffn);
    expect(u32(24)).toBe(512);
    expect(u32(28)).toBe(0);
  });

  it('encodes rule 0 (errno, path, after, probability, limit)', () => {
    const b = at(0);
    expect(u64(b + 0)).toBe((1n << 15n) | (1n << 16n)); // fsync, fdatasync
    expect(u64(b + 8)).toBe(3n);
    expect(u64(b + 16)).toBe(2n);
    expect(u64(b + 24)).toBe(1n << 31n); // 0.5
    expect(u32(b + 32)).toBe(0); // any
    expect(u32(b + 36)).toBe(1); // errno
    expect(view.getInt32(b + 40, true)).toBe(5);
    expect(u32(b + 44)).toBe(0);
    expect(bytes.subarray(b + 48, b + 68).every((x) => x === 0)).toBe(true);
    expect(view.getUint8(b + 68)).toBe(7);
    expect(text(b + 69, 7)).toBe('wal-eio');
    expect(view.getUint16(b + 132, true)).toBe('/var/lib/db/**/*.wal'.length);
    expect(text(b + 134, 20)).toBe('/var/lib/db/**/*.wal');
    expect(u32(b + 388)).toBe(0);
  });

  it('encodes rule 1 (delay with jitter, IPv4 address, socket, defaults)', () => {
    const b = at(1);
    expect(u64(b + 0)).toBe(1n << 14n); // connect
    expect(u64(b + 8)).toBe(0n);
    expect(u64(b + 16)).toBe(0xffff_ffff_ffff_ffffn); // no limit
    expect(u64(b + 24)).toBe(1n << 32n); // probability 1
    expect(u32(b + 32)).toBe(2); // socket
    expect(u32(b + 36)).toBe(2); // delay
    expect(view.getInt32(b + 40, true)).toBe(200);
    expect(u32(b + 44)).toBe(1);
    expect(view.getUint8(b + 48)).toBe(4);
    expect(view.getUint8(b + 49)).toBe(32);
    expect(view.getUint16(b + 50, true)).toBe(6379);
    expect(Array.from(bytes.subarray(b + 52, b + 68))).toEqual([127, 0, 0, 1, ...new Array<number>(12).fill(0)]);
    expect(view.getUint8(b + 68)).toBe(6);
    expect(text(b + 69, 6)).toBe('rule-1');
    expect(view.getUint16(b + 132, true)).toBe(0);
    expect(u32(b + 388)).toBe(50);
  });

  it('encodes rule 2 (short, IPv6 CIDR, pipe)', () => {
    const b = at(2);
    expect(u64(b + 0)).toBe(1n << 1n); // write
    expect(u32(b + 32)).toBe(3); // pipe
    expect(u32(b + 36)).toBe(3); // short
    expect(view.getInt32(b + 40, true)).toBe(1);
    expect(u32(b + 44)).toBe(1);
    expect(view.getUint8(b + 48)).toBe(6);
    expect(view.getUint8(b + 49)).toBe(64);
    expect(view.getUint16(b + 50, true)).toBe(443);
    expect(Buffer.from(bytes.subarray(b + 52, b + 68)).toString('hex')).toBe('fd000000000000000000000000000000');
  });

  it('encodes rule 3 (kill, ":port" address, file, probability 0)', () => {
    const b = at(3);
    expect(u64(b + 0)).toBe(1n); // read
    expect(u64(b + 24)).toBe(0n);
    expect(u32(b + 32)).toBe(1); // file
    expect(u32(b + 36)).toBe(4); // kill
    expect(view.getInt32(b + 40, true)).toBe(9);
    expect(u32(b + 44)).toBe(1);
    expect(view.getUint8(b + 48)).toBe(0);
    expect(view.getUint8(b + 49)).toBe(0);
    expect(view.getUint16(b + 50, true)).toBe(53);
    expect(bytes.subarray(b + 52, b + 68).every((x) => x === 0)).toBe(true);
    expect(text(b + 69, 7)).toBe('any-dns');
  });

  it('leaves every unused byte zero', () => {
    for (let i = 0; i < 4; i++) {
      const b = at(i);
      const idLen = view.getUint8(b + WIRE.idLen);
      const pathLen = view.getUint16(b + WIRE.pathLen, true);
      expect(bytes.subarray(b + WIRE.id + idLen, b + WIRE.pathLen).every((x) => x === 0)).toBe(true);
      expect(bytes.subarray(b + WIRE.path + pathLen, b + WIRE.jitterMs).every((x) => x === 0)).toBe(true);
      expect(bytes.subarray(b + 392, b + 512).every((x) => x === 0)).toBe(true);
    }
  });

  it('rounds probabilities to 2^32ths', () => {
    expect(probThreshold(0)).toBe(0n);
    expect(probThreshold(1)).toBe(1n << 32n);
    expect(probThreshold(0.1)).toBe(429496730n);
    expect(probThreshold(1e-10)).toBe(0n);
  });

  it('takes the seed from the caller, as a number, bigint or decimal string', () => {
    expect(new DataView(compilePlan(plan, 42).buffer).getBigUint64(16, true)).toBe(42n);
    expect(new DataView(compilePlan(plan, 2n ** 60n).buffer).getBigUint64(16, true)).toBe(2n ** 60n);
    expect(() => compilePlan(plan, -1)).toThrow(PlanError);
  });

  it('encodes UTF-8 ids by byte length', () => {
    const p = normalizePlan({ version: 1, rules: [{ id: 'écrit', syscalls: ['write'], action: { short: 1 } }] });
    const b = compilePlan(p, 0);
    expect(b[WIRE_HEADER + WIRE.idLen]).toBe(6);
    expect(Buffer.from(b.subarray(WIRE_HEADER + WIRE.id, WIRE_HEADER + WIRE.id + 6)).toString('utf8')).toBe('écrit');
  });
});

const addonPath = join(root, 'build', 'Release', 'sysfault.node');
const addonBuilt = existsSync(addonPath);
const skipReason = addonBuilt ? '' : ' [skipped: build/Release/sysfault.node not built; run npm run build:native]';

describe.skipIf(!addonBuilt)(`round trip through the C decoder${skipReason}`, () => {
  const load = (): NativeBinding => createRequire(import.meta.url)(addonPath) as NativeBinding;

  it('decodes what compilePlan encodes, field by field', () => {
    const native = load();
    expect(native.syscallNames()).toEqual(BUILTIN_SYSCALLS.map(([name]) => name));
    expect(native.syscallNumbers()).toEqual(BUILTIN_SYSCALLS.map(([, nr]) => nr));
    const plan = normalizePlan({
      ...CONTRACT_PLAN,
      rules: [
        ...CONTRACT_PLAN.rules,
        { id: 'v6', syscalls: ['sendto'], addr: '[fd00::1]/64:443', fd: 'pipe', action: { delayMs: 5, jitterMs: 7 } },
        { syscalls: ['recvfrom'], addr: ':53', action: { errno: 'EAGAIN' } },
      ],
    });
    const decoded = native.decodePlan(compilePlan(plan, '18446744073709551615'));
    if (typeof decoded === 'string') throw new Error(`decoder rejected the plan: ${decoded}`);
    expect(decoded.seed).toBe(0xffff_ffff_ffff_ffffn);
    expect(decoded.rules).toHaveLength(plan.rules.length);
    const order = syscallTable().names;
    const codes = { any: 0, file: 1, socket: 2, pipe: 3 } as const;
    const actions: Record<string, number> = { errno: 1, delay: 2, short: 3, kill: 4 };
    plan.rules.forEach((rule, i) => {
      const got = decoded.rules[i] as Record<string, unknown>;
      const a = rule.action;
      expect(got.id).toBe(rule.id);
      expect(got.syscalls).toEqual([...rule.syscalls].sort((x, y) => order.indexOf(x) - order.indexOf(y)));
      expect(got.after).toBe(BigInt(rule.after));
      expect(got.limit).toBe(rule.limit === null ? 0xffff_ffff_ffff_ffffn : BigInt(rule.limit));
      expect(got.probThreshold).toBe(probThreshold(rule.probability));
      expect(got.fdKind).toBe(codes[rule.fd]);
      expect(got.action).toBe(actions[a.type]);
      expect(got.value).toBe(a.type === 'errno' ? a.errno : a.type === 'delay' ? a.ms : a.type === 'short' ? a.bytes : a.type === 'kill' ? a.signal : undefined);
      expect(got.jitterMs).toBe(a.type === 'delay' ? a.jitterMs : 0);
      expect(got.path).toBe(rule.path ?? '');
      if (rule.addr) {
        expect(got.addr).toMatchObject({ family: rule.addr.family, prefix: rule.addr.prefix, port: rule.addr.port });
      } else {
        expect(got.addr).toBeUndefined();
      }
    });
  });

  it('rejects a corrupted plan', () => {
    const native = load();
    const good = compilePlan(normalizePlan(CONTRACT_PLAN), 1);
    const reserved = good.slice();
    reserved[WIRE_HEADER + 400] = 1;
    expect(typeof native.decodePlan(reserved)).toBe('string');
    const magic = good.slice();
    magic[0] = 0x58;
    expect(typeof native.decodePlan(magic)).toBe('string');
    expect(typeof native.decodePlan(good.subarray(0, good.length - 1))).toBe('string');
  });
});
