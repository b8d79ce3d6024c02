/**
 * Terminal output: colour only on a terminal and never with NO_COLOR (FORCE_COLOR forces it), plain text
 * otherwise; the sweep's progress bar with an ETA on a terminal (a pseudo-terminal from script(1)).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixture, runCli, scratch } from '../helpers.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'main.js');
const hasScript = spawnSync('script', ['--version']).status === 0;
const ESC = '\u001b[';

/** Runs the CLI on a pseudo-terminal; what the terminal got. */
function onTerminal(args: string[], env: Record<string, string> = {}): string {
  const command = [process.execPath, cli, ...args].map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  return execFileSync('script', ['-qec', command, '/dev/null'], { cwd: scratch(), encoding: 'utf8', env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...env } });
}

describe('terminal output', () => {
  it('is plain text when stderr is not a terminal', async () => {
    const out = await runCli(['run', '--fault', 'fsync=EIO', '--', 'true']);
    expect(out.stderr).not.toContain(ESC);
    expect(out.stderr).toContain('  warning: rule rule-0 matched nothing: fsync was never called');
  });

  it.skipIf(!hasScript)('is coloured on a terminal (the warning yellow), and not with NO_COLOR', () => {
    expect(onTerminal(['run', '--fault', 'fsync=EIO', '--', 'true'])).toContain(`${ESC}33m  warning: rule rule-0 matched nothing`);
    expect(onTerminal(['run', '--fault', 'fsync=EIO', '--', 'true'], { NO_COLOR: '1' })).not.toContain(ESC);
  });

  it.skipIf(!hasScript)('a sweep shows a progress bar with the ETA on a terminal', () => {
    const out = onTerminal(['sweep', '--calls', 'fsync', '--verify', 'true', '--', fixture('rust/fileio'), '.', '3']);
    expect(out).toMatch(/sweep \[#{40}\] 3\/3 \| ETA 0s/);
    expect(out).toContain('sweep: 3 crash points, 3 tried, 0 failed');
  });
});
