// Messages a new user meets: an unknown field is reported as the field it was meant to be (not as that field
// missing), every problem is shown, JSON syntax errors have a line and a column, and the summary's line about
// the fault log is true when the log dropped entries.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlan, run } from '../../src/index.js';
import { formatSummary } from '../../src/run/summary.js';
import { scratch } from '../helpers.js';

function problem(name: string, text: string): string {
  const file = join(scratch(), name);
  writeFileSync(file, text);
  try {
    loadPlan(file);
  } catch (err) {
    return (err as Error).message.replace(`${file}:`, '');
  }
  return 'no error';
}

describe('plan messages', () => {
  it('an unknown field is reported as what it was meant to be, before (and instead of) that field missing', () => {
    expect(problem('a.yaml', 'version: 1\nrulez:\n  - syscalls: [fsync]\n    action: {errno: EIO}\n')).toBe('2:1: rulez: unknown field "rulez" (did you mean "rules"?)');
    expect(problem('b.yaml', 'version: 1\nrules:\n  - syscall: [fsync]\n    action: {errno: EIO}\n')).toBe(
      '3:5: rules[0].syscall: unknown field "syscall" (did you mean "syscalls"?)',
    );
    expect(problem('c.yaml', 'version: 1\nrules:\n  - syscalls: [fsync]\n    acton: {errno: EIO}\n')).toBe('4:5: rules[0].acton: unknown field "acton" (did you mean "action"?)');
  });

  it('msync has no descriptor: a path or fd filter on it is refused where it is written', () => {
    expect(problem('m.yaml', 'version: 1\nrules:\n  - syscalls: [msync]\n    path: "**/vlog"\n    action: {errno: EIO}\n')).toBe(
      '4:11: rules[0].path: msync has no descriptor, so a path filter cannot select its calls: give msync a rule of its own (after, limit, probability)',
    );
    expect(problem('n.yaml', 'version: 1\nrules:\n  - syscalls: [fsync, msync]\n    fd: file\n    action: {errno: EIO}\n')).toMatch(/^4:9: rules\[0\]\.fd: msync has no descriptor/);
  });

  it('every problem is shown, each at its position', () => {
    const file = join(scratch(), 'd.yaml');
    writeFileSync(file, 'version: 1\nrules:\n  - syscalls: [fsynk]\n    action: {errno: EIOO}\n  - syscalls: [read]\n    action: {delayMs: -1}\n');
    expect(() => loadPlan(file)).toThrow(
      `${file}:3:16: rules[0].syscalls[0]: unknown syscall "fsynk" (did you mean "fsync"?); ` +
        `${file}:4:21: rules[0].action.errno: unknown errno "EIOO" (did you mean "EIO"?); ` +
        `${file}:6:23: rules[1].action.delayMs: expected a delay in milliseconds from 0 to 600000, got -1`,
    );
  });

  it('a JSON syntax error has a line and a column', () => {
    expect(problem('e.json', '{"version": 1,\n "rules": [\n  {"syscalls": ["fsync"], "action": {"errno": "EIO"},}\n ]\n}\n')).toBe(
      '3:54: invalid JSON: Expected double-quoted property name',
    );
    expect(problem('f.json', '{"version": 1,\n "rules": [\n  {"syscalls": ["fsync"] "action": {}}\n ]\n}\n')).toMatch(/^3:26: invalid JSON: /);
  });
});

describe('the summary', () => {
  it('says the lost entries are counted only, when the fault log dropped some', async () => {
    const dir = scratch();
    const result = await run('sh', ['-c', 'i=0; while [ $i -lt 30 ]; do echo x >> f; i=$((i+1)); done'], {
      cwd: dir,
      engine: 'seccomp',
      faults: ['write:path=**/f:short=100'],
      logCapacity: 16,
    });
    expect(result.counts.write?.faulted).toBe(30);
    expect(result.faults).toHaveLength(16);
    expect(result.dropped).toBe(14);
    const lines = formatSummary(result);
    expect(lines).toContain('    ... and 6 more (--json FILE has every logged one; the lost ones are counted only)');
    expect(lines).toContain('  faults: 16, 14 dropped (log full)');
    expect(result.warnings).toContainEqual({ code: 'log-dropped', message: '14 fault-log entries were lost to a full log (the counts are exact; raise logCapacity)' });
  });
});
