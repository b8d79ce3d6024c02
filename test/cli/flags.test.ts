/**
 * The flag table (src/cli/flags.ts) is the one source of the parser, each command's help, the mapping to API
 * options and the shell completions: these check that each of those follows it, through the built CLI and
 * real shells.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandLine, parseCommandLine } from '../../src/cli/args.js';
import { COMMANDS, FLAGS, flagsOf } from '../../src/cli/flags.js';
import { runCli } from '../helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sysfault-flags-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hasShell = (shell: string): boolean => {
  try {
    execFileSync(shell, ['-c', 'true']);
    return true;
  } catch {
    return false;
  }
};

describe('the flag table', () => {
  it('declares each flag of a command once, with a value name for every string flag', () => {
    for (const c of COMMANDS) {
      const names = flagsOf(c.name).map((f) => f.name);
      expect(new Set(names).size, c.name).toBe(names.length);
    }
    for (const f of FLAGS) if (f.type === 'string') expect(f.value, f.name).toBeDefined();
  });

  it("every command's --help lists exactly its flags", async () => {
    for (const c of COMMANDS) {
      const out = await runCli([...c.name.split(' '), '--help']);
      expect(out.status, c.name).toBe(0);
      expect(out.stdout).toMatch(new RegExp(`^Usage: sysfault ${c.name}`));
      const listed = [...out.stdout.matchAll(/^ {2}(?:-\w, )?--([\w-]+)/gm)].map((m) => m[1]);
      expect(listed, c.name).toEqual(flagsOf(c.name).map((f) => f.name));
    }
  });

  it('maps flags to API options, converting and checking their values', () => {
    const line = parseCommandLine('scenario run', ['--timeout', '2s', '--scenario-timeout', '500', '--jobs', '3', '--keep', 'dir']);
    expect(line).toBeInstanceOf(CommandLine);
    expect(line.options()).toEqual({ timeoutMs: 2000, scenarioTimeoutMs: 500, jobs: 3 });
    expect(line.positionals).toEqual(['dir']);
    expect(parseCommandLine('run', ['--seed', '7', '--', 'true', '--seed']).options()).toEqual({ seed: '7', engine: 'auto' });
    expect(parseCommandLine('run', ['true', '--seed', '7']).positionals).toEqual(['true', '--seed', '7']);
    expect(() => parseCommandLine('sweep', ['--jobs', '0', '--', 'true']).options()).toThrow('--jobs: expected a positive integer, got "0"');
    expect(parseCommandLine('topology run', ['f.yaml']).value('max-entries')).toBe(60);
  });

  it('rejects an unknown flag with the closest known one, exit 125', async () => {
    const out = await runCli(['sweep', '--snapshto', 'x', '--', 'true']);
    expect(out.stderr.trim()).toBe('sysfault: sweep: unknown option --snapshto (did you mean --snapshot?) (see sysfault sweep --help)');
    expect(out.status).toBe(125);
    const cmd = await runCli(['swep']);
    expect(cmd.stderr.trim()).toBe('sysfault: unknown command "swep" (did you mean "sweep"?) (see sysfault --help)');
  });
});

describe('shell completion', () => {
  it('bash: completes commands, subcommands, flags and their values', async () => {
    const out = await runCli(['completion', 'bash']);
    expect(out.status).toBe(0);
    const script = join(dir, 'sysfault.bash');
    writeFileSync(script, out.stdout);
    const complete = (...words: string[]): string =>
      execFileSync('bash', ['-c', `source '${script}'; COMP_WORDS=(sysfault ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}; _sysfault; echo "\${COMPREPLY[*]}"`], {
        encoding: 'utf8',
      }).trim();
    expect(complete('sw')).toBe('sweep');
    expect(complete('scenario', 'c')).toBe('check');
    expect(complete('run', '--en')).toBe('--engine');
    expect(complete('run', '--engine', 's')).toBe('seccomp');
    expect(complete('sweep', '--calls', 'fda')).toBe('fdatasync');
    expect(complete('scenario', 'run', '--j').split(' ')).toEqual(['--jobs', '--json', '--junit']);
    expect(complete('completion', 'f')).toBe('fish');
  });

  it.skipIf(!hasShell('zsh'))('zsh: the script parses and defines the completion function', async () => {
    const out = await runCli(['completion', 'zsh']);
    const script = join(dir, '_sysfault');
    writeFileSync(script, out.stdout);
    execFileSync('zsh', ['-n', script]);
    const defined = execFileSync('zsh', ['-c', `autoload -U compinit; compinit -u -D; source '${script}'; whence -w _sysfault`], { encoding: 'utf8' });
    expect(defined.trim()).toBe('_sysfault: function');
  });

  it.skipIf(!hasShell('fish'))('fish: completes commands, flags and values', async () => {
    const out = await runCli(['completion', 'fish']);
    const script = join(dir, 'sysfault.fish');
    writeFileSync(script, out.stdout);
    const complete = (line: string): string[] =>
      execFileSync('fish', ['--no-config', '-c', `function sysfault; end; source '${script}'; complete -C '${line}'`], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((l) => l.split('\t')[0] ?? '');
    expect(complete('sysfault swe')).toEqual(['sweep']);
    expect(complete('sysfault run --engine=')).toEqual(['--engine=auto', '--engine=preload', '--engine=seccomp']);
    expect(complete('sysfault scenario run --ju')).toEqual(['--junit']);
  });

  it('rejects an unknown shell (125)', async () => {
    const out = await runCli(['completion', 'tcsh']);
    expect(out.stderr.trim()).toBe('sysfault: completion: expected one of bash, zsh or fish, got "tcsh"');
    expect(out.status).toBe(125);
  });
});
