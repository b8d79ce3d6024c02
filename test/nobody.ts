/**
 * Running the CLI as user nobody (setpriv --reuid=65534 --regid=65534 --clear-groups), from wherever the checkout
 * is. A checkout under a private folder (a mode-700 parent, as `mktemp -d` and many home folders are) is out of
 * nobody's reach: then what a run needs (package.json, dist/, the native files, the runtime dependencies and
 * everything they depend on, the fixtures named) is copied into a fresh directory under the temporary
 * directory that nobody can reach, and run from there.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixture } from './helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const NOBODY = 65534;
const NOBODY_ARGS = ['--reuid=65534', '--regid=65534', '--clear-groups'];

/** Can nobody read this file (every directory above it searchable)? */
function nobodyCanRead(path: string): boolean {
  return spawnSync('setpriv', [...NOBODY_ARGS, process.execPath, '-e', 'require("fs").accessSync(process.argv[1], 4)', path]).status === 0;
}

/** Why the CLI cannot be run as nobody here (the reason to skip), or undefined. */
export function whyNotNobody(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: cannot switch to nobody';
  const setpriv = spawnSync('setpriv', ['--version'], { encoding: 'utf8' });
  if (setpriv.error || setpriv.status !== 0) return 'setpriv not found (Debian: apt-get install util-linux)';
  const probe = spawnSync('setpriv', [...NOBODY_ARGS, process.execPath, '-e', 'process.exit(0)']);
  if (probe.status !== 0) return `nobody cannot run ${process.execPath} (${probe.stderr.toString().trim() || `status ${String(probe.status)}`})`;
  if (!nobodyCanRead(tmpdir())) return `nobody cannot reach the temporary directory ${tmpdir()}`;
  return undefined;
}

/** The runtime dependencies of the package, and theirs, by name (node_modules is flat where it can be). */
function runtimeClosure(): string[] {
  const seen = new Set<string>();
  const depsOf = (pkg: string): string[] => {
    const manifest = JSON.parse(readFileSync(pkg, 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    return [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {})];
  };
  const queue = depsOf(join(root, 'package.json'));
  for (let dep = queue.shift(); dep !== undefined; dep = queue.shift()) {
    const manifest = join(root, 'node_modules', dep, 'package.json');
    if (seen.has(dep) || !existsSync(manifest)) continue;
    seen.add(dep);
    queue.push(...depsOf(manifest));
  }
  return [...seen];
}

export interface NobodyHome {
  /** The CLI's entry, reachable by nobody. */
  cli: string;
  /** A fixture's path, reachable by nobody. */
  fixture: (name: string) => string;
  /** Removes the copy, if one was made. */
  dispose: () => void;
}

/** The checkout, or a copy of what `sysfault run` needs (and these fixtures) that nobody can reach. */
export function nobodyHome(fixtures: readonly string[]): NobodyHome {
  if (nobodyCanRead(join(root, 'dist', 'cli', 'main.js')) && fixtures.every((f) => nobodyCanRead(fixture(f))))
    return { cli: join(root, 'dist', 'cli', 'main.js'), fixture, dispose: () => {} };
  const copy = mkdtempSync(join(tmpdir(), 'sysfault-nobody-'));
  chmodSync(copy, 0o755);
  cpSync(join(root, 'package.json'), join(copy, 'package.json'));
  cpSync(join(root, 'dist'), join(copy, 'dist'), { recursive: true });
  const release = join(root, 'build', 'Release');
  mkdirSync(join(copy, 'build', 'Release'), { recursive: true });
  for (const f of readdirSync(release, { withFileTypes: true })) if (f.isFile()) cpSync(join(release, f.name), join(copy, 'build', 'Release', f.name));
  for (const dep of runtimeClosure()) cpSync(join(root, 'node_modules', dep), join(copy, 'node_modules', dep), { recursive: true, dereference: true });
  mkdirSync(join(copy, 'fixtures'));
  for (const f of fixtures) cpSync(fixture(f), join(copy, 'fixtures', basename(f)));
  return {
    cli: join(copy, 'dist', 'cli', 'main.js'),
    fixture: (name) => join(copy, 'fixtures', basename(name)),
    dispose: () => rmSync(copy, { recursive: true, force: true }),
  };
}

/** Runs the CLI as nobody, from /, with a minimal environment. */
export function asNobody(cli: string, args: string[], timeout = 20_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'setpriv',
      [...NOBODY_ARGS, process.execPath, cli, ...args],
      { cwd: '/', env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent' }, timeout },
      (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}
