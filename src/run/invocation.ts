/**
 * How the commands sysfault prints (a failing sweep point's replay, a failing scenario's rerun, the demo's
 * run) invoke sysfault: one form everywhere.
 */
import { existsSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { shellQuote } from '../common/shell.js';
import { packageRoot } from '../native/binding.js';

/** How to invoke this CLI from a shell: `sysfault` when it is on PATH and is this one, else node + cli.js. */
export function sysfaultInvocation(): string {
  const cli = join(packageRoot, 'dist', 'cli', 'main.js');
  try {
    const real = realpathSync(cli);
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      const candidate = join(dir === '' ? '.' : dir, 'sysfault');
      if (existsSync(candidate) && realpathSync(candidate) === real) return 'sysfault';
    }
  } catch {
    // not built: fall through to the explicit form
  }
  return `${shellQuote(process.execPath)} ${shellQuote(cli)}`;
}
