/**
 * The tables TypeScript and C both hold, checked against each other by reading the C headers: the syscall
 * list (native/core/syscalls.h: names in bitmask order and their numbers) and the action codes (the
 * SF_ACTION_LIST X-macro of native/core/actions.h).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ACTION_CODE_NOTE, ACTION_CODES, actionName } from '../../src/plan/compile.js';
import { BUILTIN_SYSCALLS, syscallTable } from '../../src/plan/syscalls.js';
import { formatAction } from '../../src/run/result.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const core = join(root, 'native', 'core');

/**
 * The entries of the one action table (`SF_ACTION_LIST`: `X(NAME, code, "name")`), from whichever native/core
 * header defines it; a second definition anywhere is an error.
 */
function headerActions(): Record<string, number> {
  const found: Record<string, number> = {};
  let tables = 0;
  for (const file of readdirSync(core).filter((f) => f.endsWith('.h'))) {
    const text = readFileSync(join(core, file), 'utf8');
    const table = /#define SF_ACTION_LIST\(X\)((?:.*\\\n)*.*)/.exec(text);
    if (!table) continue;
    tables += 1;
    for (const m of (table[1] as string).matchAll(/X\((\w+),\s*(\d+),\s*"(\w+)"\)/g)) {
      const name = m[3] as string;
      expect(m[1], `${name}: enum name and plan name agree`).toBe(name.toUpperCase());
      expect(found[name], `action ${name} listed twice`).toBeUndefined();
      found[name] = Number(m[2]);
    }
  }
  expect(tables, 'SF_ACTION_LIST is defined in exactly one header').toBe(1);
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
    const { none, note, ...actions } = headerActions();
    expect(none).toBe(0);
    expect(note).toBe(ACTION_CODE_NOTE);
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
