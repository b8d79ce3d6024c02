// The C-level suites: the core's unit tests (plan decoder, globs, addresses, decide() determinism, exact counts
// under 64 threads) and the shim + monitor end-to-end checks driven without Node (test/native/run-tests.sh).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { compilePlan, formatAction, normalizePlan } from '../src/index.js';
import type { PlanInput } from '../src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

it('C core unit tests (make -C test/native core-test: the core as native/sources.gypi lists it)', () => {
  const report = execFileSync('make', ['-s', '-C', join(root, 'test', 'native'), 'core-test'], { encoding: 'utf8' });
  expect(report).toMatch(/^\d+ passed, 0 failed$/m);
}, 120_000);

it('shim and monitor end-to-end checks (make -C test/native check)', () => {
  const report = execFileSync('make', ['-s', '-C', join(root, 'test', 'native'), 'check'], {
    encoding: 'utf8',
    timeout: 240_000,
    stdio: ['ignore', 'pipe', 'pipe'], // the targets' fd listings must show only what the run gave them
  });
  expect(report).not.toMatch(/^FAIL/m);
  expect(report).toMatch(/^ok /m);
}, 300_000);

// The action codes live in one table (native/core/actions.h); the compiler and the result formatter must agree
// with it, action by action, through the public API and the C decoder.
it('every action compiles to the code native/core/actions.h gives it, and formats under its name', () => {
  const native = createRequire(import.meta.url)(join(root, 'build', 'Release', 'sysfault.node')) as {
    actionNames(): string[];
    decodePlan(plan: Uint8Array): { rules: Record<string, unknown>[] } | string;
  };
  const names = native.actionNames();
  const rules: PlanInput['rules'] = [
    { syscalls: ['read'], action: { errno: 'EIO' } },
    { syscalls: ['read'], action: { delayMs: 5 } },
    { syscalls: ['read'], action: { short: 1 } },
    { syscalls: ['read'], action: { kill: 'SIGTERM' } },
    { syscalls: ['connect'], action: { refuse: true } },
    { syscalls: ['connect'], action: { blackhole: true } },
    { syscalls: ['read'], action: { reset: true } },
    { syscalls: ['read'], action: { close: true } },
    { syscalls: ['write'], action: { torn: 10 } },
    { syscalls: ['fsync'], action: { powercut: true } },
  ];
  const plan = normalizePlan({ version: 1, rules });
  const decoded = native.decodePlan(compilePlan(plan, '1'));
  if (typeof decoded === 'string') throw new Error(`decoder rejected the plan: ${decoded}`);
  const seen = plan.rules.map((rule, i) => {
    const got = decoded.rules[i] as { action: number; actionName: string };
    expect(got.actionName, `rule ${i}`).toBe(rule.action.type);
    expect(names[got.action]).toBe(rule.action.type);
    expect(formatAction(got.action, 0).split(':')[0]).toBe(rule.action.type);
    return rule.action.type;
  });
  // every action of the table is covered here (a note is a fault-log entry only: never in a plan)
  expect(new Set(seen)).toEqual(new Set(names.filter((n) => n && n !== 'none' && n !== 'note')));
});
