/**
 * Both engines work for an unprivileged user: the CLI runs as `nobody` (setpriv --reuid=65534 --regid=65534
 * --clear-groups) on c/pacer in a directory owned by nobody, with an errno, a short write (which the seccomp
 * monitor performs itself, through pidfd_getfd) and a delay, and the faults and counts are exact.
 * Needs root (to switch to nobody) and setpriv (util-linux); skipped with the reason otherwise.
 *
 * A checkout under a private folder (a mode-700 parent, as `mktemp -d` and many home folders are) is out of
 * nobody's reach: then what the run needs (the CLI, its runtime dependencies, the native files, the fixture)
 * is copied into a fresh directory that nobody can reach, and run from there.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine, RunResult } from '../../src/index.js';
import { fixture, plan, scratch } from '../helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NOBODY = 65534;
const NOBODY_ARGS = ['--reuid=65534', '--regid=65534', '--clear-groups'];

/** Can nobody read this file (every directory above it searchable)? */
function nobodyCanRead(path: string): boolean {
  const probe = spawnSync('setpriv', [...NOBODY_ARGS, process.execPath, '-e', 'require("fs").accessSync(process.argv[1], 4)', path]);
  return probe.status === 0;
}

/**
 * The checkout, or, when nobody cannot reach it, a copy of what `sysfault run` needs in a fresh directory
 * under the temporary directory (mode 755): package.json, dist/, the native files, the runtime dependencies.
 */
function reachableRoot(): string {
  if (nobodyCanRead(join(root, 'dist', 'cli', 'main.js'))) return root;
  const copy = mkdtempSync(join(tmpdir(), 'sysfault-nobody-'));
  chmodSync(copy, 0o755);
  cpSync(join(root, 'package.json'), join(copy, 'package.json'));
  cpSync(join(root, 'dist'), join(copy, 'dist'), { recursive: true });
  const release = join(root, 'build', 'Release');
  mkdirSync(join(copy, 'build', 'Release'), { recursive: true });
  for (const f of readdirSync(release, { withFileTypes: true })) if (f.isFile()) cpSync(join(release, f.name), join(copy, 'build', 'Release', f.name));
  const deps = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
  for (const dep of deps) cpSync(join(root, 'node_modules', dep), join(copy, 'node_modules', dep), { recursive: true, dereference: true });
  cpSync(fixture('c/pacer'), join(copy, 'pacer'));
  return copy;
}

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: cannot switch to nobody';
  const setpriv = spawnSync('setpriv', ['--version'], { encoding: 'utf8' });
  if (setpriv.error || setpriv.status !== 0) return 'setpriv not found (Debian: apt-get install util-linux)';
  const probe = spawnSync('setpriv', [...NOBODY_ARGS, process.execPath, '-e', 'process.exit(0)']);
  if (probe.status !== 0) return `nobody cannot run ${process.execPath} (${probe.stderr.toString().trim() || `status ${String(probe.status)}`})`;
  if (!nobodyCanRead(tmpdir())) return `nobody cannot reach the temporary directory ${tmpdir()}`;
  return undefined;
}
const skip = whyNot();
const home = skip === undefined ? reachableRoot() : root;
const cli = join(home, 'dist', 'cli', 'main.js');
const pacer = home === root ? fixture('c/pacer') : join(home, 'pacer');
afterAll(() => {
  if (home !== root) rmSync(home, { recursive: true, force: true });
});

function asNobody(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'setpriv',
      [...NOBODY_ARGS, process.execPath, cli, ...args],
      { cwd: '/', env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent' }, timeout: 20_000 },
      (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}

describe.skipIf(skip !== undefined).each<Engine>(['preload', 'seccomp'])(
  `%s engine as user nobody${skip ? ` [skipped: ${skip}]` : ''}`,
  (engine) => {
    it('injects and counts exactly, without privileges', async () => {
      const dir = scratch();
      chownSync(dir, NOBODY, NOBODY);
      const planFile = join(dir, 'plan.json');
      writeFileSync(
        planFile,
        JSON.stringify(
          plan([
            { id: 'eio', syscalls: ['fsync'], after: 1, action: { errno: 'EIO' } },
            { id: 'torn', syscalls: ['write'], path: '**/pacer.bin', limit: 1, action: { short: 3 } },
            { id: 'slow', syscalls: ['write'], path: '**/pacer.bin', after: 2, action: { delayMs: 20 } },
          ]),
        ),
      );
      const json = join(dir, 'result.json');
      const out = await asNobody(['run', '-q', '--engine', engine, '--plan', planFile, '--json', json, '--', pacer, dir, '4', '0']);
      expect(out.stderr).toBe('');
      expect(out.status).toBe(1);
      const lines = out.stdout.split('\n').filter((l) => l.startsWith('write ') || l.startsWith('fsync '));
      expect(lines).toEqual([
        'write 0 ok 3',
        'fsync 0 ok',
        'write 1 ok 10',
        'fsync 1 err EIO Input/output error',
        'write 2 ok 10',
        'fsync 2 err EIO Input/output error',
        'write 3 ok 10',
        'fsync 3 err EIO Input/output error',
      ]);
      const result = JSON.parse(readFileSync(json, 'utf8')) as RunResult;
      expect(result.engine).toBe(engine);
      expect(result.counts.fsync).toEqual({ calls: 4, faulted: 3, delayed: 0 });
      // (write calls include the transcript's own writes to stdout under seccomp, which sees every write)
      expect([result.counts.write?.faulted, result.counts.write?.delayed]).toEqual([1, 1]);
      expect(result.rules).toEqual([
        { id: 'eio', matched: 4, fired: 3 },
        { id: 'torn', matched: 4, fired: 1 },
        { id: 'slow', matched: 3, fired: 1 },
      ]);
      expect(result.faults.map((f) => `${f.rule} ${f.syscall} ${f.action}`)).toEqual([
        'torn write short:3',
        'eio fsync errno:EIO',
        'eio fsync errno:EIO',
        'slow write delay:20ms',
        'eio fsync errno:EIO',
      ]);
      const data = statSync(join(dir, 'pacer.bin'));
      expect([data.size, data.uid]).toEqual([33, NOBODY]);
      expect(statSync(json).uid).toBe(NOBODY);
    });
  },
);
