/**
 * Global setup: builds the fixture programs (test/fixtures/build.mjs, when present) and makes sure dist/ is
 * not older than src/ (the CLI tests run `node dist/cli/main.js`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The newest mtime of the files ending in `ext` under `dir`, subfolders included. */
function newest(dir: string, ext: string): number {
  if (!existsSync(dir)) return 0;
  return Math.max(
    0,
    ...readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith(ext))
      .map((f) => statSync(join(dir, f)).mtimeMs),
  );
}

function buildTypeScriptIfStale(): void {
  const cli = join(root, 'dist', 'cli', 'main.js');
  if (existsSync(cli) && statSync(cli).mtimeMs >= newest(join(root, 'src'), '.ts')) return;
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
}

export default async function setup(): Promise<void> {
  buildTypeScriptIfStale();
  const buildScript = join(root, 'test', 'fixtures', 'build.mjs');
  if (existsSync(buildScript)) {
    const mod = (await import(pathToFileURL(buildScript).href)) as { buildFixtures?: () => Promise<unknown> };
    if (typeof mod.buildFixtures === 'function') await mod.buildFixtures();
  }
}
