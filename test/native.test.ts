// The C-level suites: the core's unit tests (plan decoder, globs, addresses, decide() determinism, exact counts
// under 64 threads) and the shim + monitor end-to-end checks driven without Node (test/native/run-tests.sh).
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

it('C core unit tests', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'sysfault-core-')), 'core_test');
  const core = ['plan.c', 'decide.c', 'shm.c'].map((f) => join(root, 'native', 'core', f));
  execFileSync('gcc', ['-std=gnu11', '-D_GNU_SOURCE', '-O2', '-Wall', '-Wextra', '-fsanitize=address,undefined',
    '-o', out, join(root, 'test', 'native', 'core_test.c'), ...core, '-lpthread']);
  const report = execFileSync(out, { encoding: 'utf8' });
  expect(report).toMatch(/^\d+ passed, 0 failed$/m);
});

it('shim and monitor end-to-end checks (make -C test/native check)', () => {
  const report = execFileSync('make', ['-s', '-C', join(root, 'test', 'native'), 'check'], {
    encoding: 'utf8',
    timeout: 240_000,
    stdio: ['ignore', 'pipe', 'pipe'], // the targets' fd listings must show only what the run gave them
  });
  expect(report).not.toMatch(/^FAIL/m);
  expect(report).toMatch(/^ok /m);
}, 300_000);
