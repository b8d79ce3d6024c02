/**
 * CLI usage errors: `node dist/cli/main.js` exits 125/126/127 with one line on stderr, no stack trace, and the
 * target is never started (it would create a marker file). None of these needs the native build.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliOutcome } from '../helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'cli', 'main.js');

function sysfault(args: readonly string[], cwd: string): Promise<CliOutcome> {
  return runCli(args, { cwd });
}

let dir: string;
let marker: string;
/** A target that, if it ever ran, would create the marker file. */
let target: string[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sysfault-cli-test-'));
  marker = join(dir, 'target-ran');
  target = ['/bin/sh', '-c', `touch '${marker}'`];
  writeFileSync(join(dir, 'bad.yaml'), 'version: 1\nrules:\n  - syscalls: [fsync]\n    action: { errno: EIOO }\n');
  writeFileSync(join(dir, 'good.yaml'), 'version: 1\nrules:\n  - syscalls: [fsync]\n    action: { errno: EIO }\n');
  writeFileSync(join(dir, 'not-executable'), `#!/bin/sh\ntouch '${marker}'\n`);
  chmodSync(join(dir, 'not-executable'), 0o644);
  mkdirSync(join(dir, 'a-directory'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Asserts a usage failure: status, exactly one stderr line (matching), no stack, target not started. */
async function expectFailure(args: readonly string[], status: number, line: string | RegExp): Promise<void> {
  const out = await sysfault(args, dir);
  const lines = out.stderr.split('\n').filter((l) => l !== '');
  expect(lines, out.stderr).toHaveLength(1);
  if (typeof line === 'string') expect(lines[0]).toBe(line);
  else expect(lines[0]).toMatch(line);
  expect(out.stderr).not.toMatch(/\n\s+at /);
  expect(out.stdout).toBe('');
  expect(out.status).toBe(status);
  expect(existsSync(marker)).toBe(false);
}

describe.skipIf(!existsSync(cli))(`sysfault CLI usage errors${existsSync(cli) ? '' : ' [skipped: dist/cli/main.js not built; run npm run build:ts]'}`, () => {
  it('prints help with status 0', async () => {
    const top = await sysfault(['--help'], dir);
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/^Usage: sysfault <command>/);
    const run = await sysfault(['run', '--help'], dir);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: sysfault run \[options\] -- CMD \[ARGS\.\.\.\]/);
    expect(run.stdout).toContain('--fault SPEC');
  });

  it('rejects an unknown flag (125)', () =>
    expectFailure(['run', '--bogus', '--', ...target], 125, 'sysfault: run: unknown option --bogus (see sysfault run --help)'));

  it('rejects a flag without its value (125)', () =>
    expectFailure(['run', '--plan'], 125, 'sysfault: run: option --plan needs a value (see sysfault run --help)'));

  it('rejects a value given to a boolean flag (125)', () =>
    expectFailure(['run', '--quiet=yes', '--', ...target], 125, 'sysfault: run: option --quiet takes no value (see sysfault run --help)'));

  it('rejects a bad engine (125)', () =>
    expectFailure(['run', '--engine', 'ptrace', '--', ...target], 125, 'sysfault: --engine: expected auto, preload or seccomp, got "ptrace"'));

  it('rejects a bad timeout (125)', () =>
    expectFailure(
      ['run', '--timeout', 'soon', '--', ...target],
      125,
      'sysfault: --timeout: expected a whole number of milliseconds like 5000 (or 5s), got "soon"',
    ));

  it('rejects a bad seed (125)', () =>
    expectFailure(['run', '--seed', 'abc', '--', ...target], 125, 'sysfault: --seed: expected a non-negative integer below 2^64, got "abc"'));

  it('rejects a bad plan file, naming file:line:col, field and value (125)', () =>
    expectFailure(
      ['run', '--plan', 'bad.yaml', '--', ...target],
      125,
      'sysfault: bad.yaml:4:22: rules[0].action.errno: unknown errno "EIOO" (did you mean "EIO"?)',
    ));

  it('rejects a missing plan file (125)', () =>
    expectFailure(['run', '--plan', 'nope.yaml', '--', ...target], 125, 'sysfault: nope.yaml: cannot read plan file: no such file'));

  it('rejects a bad --fault (125)', () =>
    expectFailure(
      ['run', '--fault', 'fsync=EIO', '--fault', 'write=short=0', '--', ...target],
      125,
      'sysfault: --fault "write=short=0": action.short: expected a byte count of at least 1, got 0',
    ));

  it('rejects an unwritable --json file (125)', () =>
    expectFailure(
      ['run', '--json', join(dir, 'no-such-dir', 'out.json'), '--', ...target],
      125,
      `sysfault: --json: cannot write ${join(dir, 'no-such-dir', 'out.json')}: no such directory`,
    ));

  it('rejects a missing command (125)', () =>
    expectFailure(['run', '--plan', 'good.yaml'], 125, 'sysfault: run: missing command (usage: sysfault run [options] -- CMD [ARGS...])'));

  it('rejects a missing or unknown subcommand (125)', async () => {
    await expectFailure([], 125, 'sysfault: missing command (see sysfault --help)');
    await expectFailure(['frobnicate'], 125, 'sysfault: unknown command "frobnicate" (see sysfault --help)');
  });

  it('reports a command that is not found (127)', () =>
    expectFailure(['run', '--plan', 'good.yaml', '--', 'sysfault-no-such-command-xyz'], 127, 'sysfault: sysfault-no-such-command-xyz: command not found'));

  it('reports a path that does not exist (127)', () =>
    expectFailure(['run', '--', './missing-program'], 127, 'sysfault: ./missing-program: no such file or directory'));

  it('reports a file that is not executable (126)', () =>
    expectFailure(['run', '--plan', 'good.yaml', '--', './not-executable'], 126, 'sysfault: ./not-executable: permission denied'));

  it('reports a directory (126)', () => expectFailure(['run', '--', './a-directory'], 126, 'sysfault: ./a-directory: is a directory'));

  it('checks the plan before the command', () =>
    expectFailure(['run', '--plan', 'bad.yaml', '--', 'sysfault-no-such-command-xyz'], 125, /^sysfault: bad\.yaml:4:22: /));

  it('takes the command without "--" too, options stopping at the first word', () =>
    expectFailure(['run', '--seed', '1', 'sysfault-no-such-command-xyz', '--bogus'], 127, 'sysfault: sysfault-no-such-command-xyz: command not found'));
});
