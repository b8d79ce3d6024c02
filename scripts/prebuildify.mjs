// Builds the prebuilt addon with prebuildify, then puts the engine's other native files (the preload library,
// the Go agent, the shim and the demo target) beside it, so that an install from prebuilds needs no compiler.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'node_modules', '.bin', 'prebuildify');
execFileSync(bin, ['--napi', '--strip', '--target=node@20.0.0'], { cwd: root, stdio: 'inherit' });

const out = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
mkdirSync(out, { recursive: true });
for (const file of ['libsysfault-preload.so', 'libsysfault-goagent.so', 'sysfault-shim', 'sysfault-demo']) {
  const from = join(root, 'build', 'Release', file);
  if (!existsSync(from)) throw new Error(`prebuildify: ${from} was not built`);
  copyFileSync(from, join(out, file));
  console.log(`prebuildify: ${join('prebuilds', `${process.platform}-${process.arch}`, file)}`);
}
