/**
 * The compiled plan: the wire format of native/core/sysfault.h, byte for byte (little-endian, fixed offsets).
 *
 *   header, 32 bytes: magic "SFPLAN\0\1" | u32 version=1 | u32 rule_count | u64 seed | u32 rule_size=512 | u32 0
 *   rule_count rules of 512 bytes each:
 *     0 u64 syscalls  8 u64 after  16 u64 limit  24 u64 prob_threshold  32 u32 fd_kind  36 u32 action
 *     40 i32 value  44 u32 has_addr  48 u8 family  49 u8 prefix  50 u16 port  52 u8[16] addr
 *     68 u8 id_len  69 char[63] id  132 u16 path_len  134 char[254] path  388 u32 jitter_ms
 *     392 u32 flags  396 i32 value2
 *     400..511 zero
 */
import { PlanError } from '../common/errors.js';
import { MAX_SEED, parseSeed } from './schema.js';
import { syscallTable, type SyscallTable } from './syscalls.js';
import type { FdKind, NormalizedAction, NormalizedPlan } from './types.js';

/** Size of the header, in bytes. */
export const WIRE_HEADER = 32;
/** Size of one rule, in bytes. */
export const WIRE_RULE = 512;
/** The header's magic. */
export const WIRE_MAGIC = new Uint8Array([0x53, 0x46, 0x50, 0x4c, 0x41, 0x4e, 0x00, 0x01]); // "SFPLAN\0\1"
/** Rule field offsets. */
export const WIRE = {
  syscalls: 0,
  after: 8,
  limit: 16,
  probThreshold: 24,
  fdKind: 32,
  action: 36,
  value: 40,
  hasAddr: 44,
  family: 48,
  prefix: 49,
  port: 50,
  addr: 52,
  idLen: 68,
  id: 69,
  pathLen: 132,
  path: 134,
  jitterMs: 388,
  flags: 392,
  value2: 396,
} as const;

/** Rule flags (u32 at WIRE.flags): bits 0..7 storage, 8..15 network. */
export const WIRE_FLAG_AFTER_CALL = 1;
/** SF_FLAG_TREE: the whole tree stops at the call, then dies (a kill with scope 'tree', every power cut). */
export const WIRE_FLAG_TREE = 2;

/** limit when a rule has none. */
export const WIRE_UNLIMITED = 0xffff_ffff_ffff_ffffn;
/** prob_threshold of probability 1. */
export const WIRE_PROB_ALWAYS = 1n << 32n;

const FD_KIND_CODE: Record<FdKind, number> = { any: 0, file: 1, socket: 2, pipe: 3 };
/**
 * The wire code of each action (enum sf_action, SF_ACT_<NAME> in native/core/sysfault.h; a test checks them
 * against the header). The fault log reports actions by the same codes.
 */
export const ACTION_CODES: Readonly<Record<NormalizedAction['type'], number>> = {
  errno: 1,
  delay: 2,
  short: 3,
  kill: 4,
  refuse: 5,
  blackhole: 6,
  reset: 7,
  close: 8,
  torn: 10,
  powercut: 11,
};

/** The code of a fault-log entry that is a note, not a fault (NOTE in native/core/actions.h): never in a plan. */
export const ACTION_CODE_NOTE = 255;

const ACTION_NAMES = new Map(Object.entries(ACTION_CODES).map(([name, code]) => [code, name as NormalizedAction['type']]));

/** The action of a wire code, or undefined for a code this version does not know. */
export function actionName(code: number): NormalizedAction['type'] | undefined {
  return ACTION_NAMES.get(code);
}

/** The wire `value` of an action: errno, delay ms, byte count or signal. */
function actionValue(action: NormalizedAction): number {
  switch (action.type) {
    case 'errno':
      return action.errno;
    case 'delay':
      return action.ms;
    case 'short':
      return action.bytes;
    case 'kill':
      return action.signal;
    case 'torn':
      return action.bytes ?? 0;
    case 'powercut':
      return 0;
    case 'refuse':
    case 'blackhole':
      return 0;
    case 'reset':
    case 'close':
      return action.afterBytes;
  }
}

/** The wire `value2` of an action: a torn write's fraction in parts per million (-1: seeded). */
function actionValue2(action: NormalizedAction): number {
  if (action.type === 'reset' || action.type === 'close') return action.afterMs; /* the silence before the end */
  if (action.type !== 'torn' || action.fraction === undefined) return 0;
  return action.fraction === 'seeded' ? -1 : Math.round(action.fraction * 1_000_000);
}

/** The wire flags of an action. */
function actionFlags(action: NormalizedAction): number {
  if (action.type !== 'kill' && action.type !== 'powercut') return 0;
  const tree = action.type === 'powercut' || action.scope === 'tree' ? WIRE_FLAG_TREE : 0;
  return (action.when === 'after' ? WIRE_FLAG_AFTER_CALL : 0) | tree;
}

/**
 * Encodes a validated plan for the native engines.
 * @param plan a plan from {@link loadPlan} (or normalizePlan).
 * @param seed the run's seed (u64): the plan's own seed is not used here, the caller decides.
 * @param table syscall table giving each name its bit (default: the native build's).
 * @param counted syscalls no rule names that the engines count too (never fault): see alternativesOf.
 */
export function compilePlan(
  plan: NormalizedPlan,
  seed: bigint | number | string,
  table: SyscallTable = syscallTable(),
  counted: readonly string[] = [],
): Uint8Array {
  const seedValue = typeof seed === 'bigint' ? (seed >= 0n && seed <= MAX_SEED ? seed : undefined) : parseSeed(seed);
  if (seedValue === undefined) throw new PlanError(`seed: expected a u64, got ${String(seed)}`, { field: 'seed', value: seed });
  const bytes = new Uint8Array(WIRE_HEADER + WIRE_RULE * plan.rules.length);
  const view = new DataView(bytes.buffer);
  bytes.set(WIRE_MAGIC, 0);
  view.setUint32(8, 1, true);
  view.setUint32(12, plan.rules.length, true);
  view.setBigUint64(16, seedValue, true);
  view.setUint32(24, WIRE_RULE, true);
  let countedMask = 0;
  for (const name of counted) {
    const bit = table.index.get(name);
    if (bit === undefined || bit >= 32) throw new PlanError(`counted syscall "${name}" is not one the engines can count`);
    countedMask |= 1 << bit;
  }
  view.setUint32(28, countedMask >>> 0, true);

  const encoder = new TextEncoder();
  for (const [i, rule] of plan.rules.entries()) {
    const base = WIRE_HEADER + i * WIRE_RULE;
    let mask = 0n;
    for (const name of rule.syscalls) {
      const bit = table.index.get(name);
      if (bit === undefined) throw new PlanError(`rules[${i}].syscalls: unknown syscall "${name}"`);
      mask |= 1n << BigInt(bit);
    }
    view.setBigUint64(base + WIRE.syscalls, mask, true);
    view.setBigUint64(base + WIRE.after, BigInt(rule.after), true);
    view.setBigUint64(base + WIRE.limit, rule.limit === null ? WIRE_UNLIMITED : BigInt(rule.limit), true);
    view.setBigUint64(base + WIRE.probThreshold, probThreshold(rule.probability), true);
    view.setUint32(base + WIRE.fdKind, FD_KIND_CODE[rule.fd], true);
    view.setUint32(base + WIRE.action, ACTION_CODES[rule.action.type], true);
    view.setInt32(base + WIRE.value, actionValue(rule.action), true);
    if (rule.addr) {
      view.setUint32(base + WIRE.hasAddr, 1, true);
      view.setUint8(base + WIRE.family, rule.addr.family);
      view.setUint8(base + WIRE.prefix, rule.addr.prefix);
      view.setUint16(base + WIRE.port, rule.addr.port, true);
      bytes.set(rule.addr.bytes.subarray(0, 16), base + WIRE.addr);
    }
    const id = encoder.encode(rule.id);
    if (id.length > 63) throw new PlanError(`rules[${i}].id: rule id "${rule.id}" is longer than 63 bytes`);
    view.setUint8(base + WIRE.idLen, id.length);
    bytes.set(id, base + WIRE.id);
    if (rule.path !== null) {
      const path = encoder.encode(rule.path);
      if (path.length > 253) throw new PlanError(`rules[${i}].path: glob is longer than 253 bytes`);
      view.setUint16(base + WIRE.pathLen, path.length, true);
      bytes.set(path, base + WIRE.path);
    }
    view.setUint32(base + WIRE.jitterMs, rule.action.type === 'delay' ? rule.action.jitterMs : 0, true);
    view.setUint32(base + WIRE.flags, actionFlags(rule.action), true);
    view.setInt32(base + WIRE.value2, actionValue2(rule.action), true);
  }
  return bytes;
}

/** round(p * 2^32) as a u64; probability 1 is 2^32 (always). */
export function probThreshold(p: number): bigint {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`probability out of range: ${p}`);
  return BigInt(Math.round(p * 2 ** 32));
}
