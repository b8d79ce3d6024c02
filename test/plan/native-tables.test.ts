/**
 * The tables TypeScript and C both hold, checked against each other by reading the C headers: the syscall
 * list (native/core/syscalls.h: names in bitmask order and their numbers) and the action codes (SF_ACT_* of
 * enum sf_action, in whichever native/core header defines them).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ACTION_CODES, actionName } from '../../src/plan/compile.js';
import { BUILTIN_SYSCALLS, syscallTable } from '../../src/plan/syscalls.js';
import { formatAction } from '../../src/run/result.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const core = join(root, 'native', 'core');

/** SF_ACT_<NAME> = <code> from every header of native/core, lower-cased names. */
function headerActions(): Record<string, number> {
  const found: Record<string, number> = {};
  for (const file of readdirSync(core).filter((f) => f.endsWith('.h'))) {
    const text = readFileSync(join(core, file), 'utf8');
    for (const m of text.matchAll(/\bSF_ACT_([A-Z0-9_]+)\s*=\s*(\d+)/g)) {
      const name = (m[1] as string).toLowerCase();
      expect(found[name], `SF_ACT_${m[1]} defined twice`).toBeUndefined();
      found[name] = Number(m[2]);
    }
  }
  return found;
}

describe('tables shared with the C core', () => {
  it('the syscall list matches native/core/syscalls.h (the built-in copy used without the addon)', () => {
    const header = readFileSync(join(core, 'syscalls.h'), 'utf8');
    const entries = [...header.matchAll(/^\s*X\((\w+),\s*(\d+),/gm)].map((m) => [m[1], Number(m[2])]);
    expect(entries.length).toBeGreaterThan(0);
    expect(entries).toEqual(BUILTIN_SYSCALLS.map(([name, nr]) => [name, nr]));
    expect(syscallTable().names).toEqual(BUILTIN_SYSCALLS.map(([name]) => name));
  });

  it('the action codes match enum sf_action (SF_ACT_*)', () => {
    const { none, ...actions } = headerActions();
    expect(none).toBe(0);
    expect(actions).toEqual({ ...ACTION_CODES });
  });

  it('every action code decodes back to its action, and the fault log formats each one', () => {
    for (const [name, code] of Object.entries(ACTION_CODES)) {
      expect(actionName(code)).toBe(name);
      expect(formatAction(code, 1).split(':')[0]).toBe(name);
    }
    expect(actionName(0)).toBeUndefined();
  });
});
