// Scenario catalogues: the file format's errors, the example catalogue from the CLI (table, JSON, JUnit) and
// from vitest, a deliberately wrong expectation, the vitest matchers, and setup (limits, stressors, workload,
// timeboxes). Scenario files written here use absolute fixture paths.
import { sysfaultInvocation } from '../../src/run/invocation.js';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { catalogueJUnit, loadScenario, runCatalogue, runScenario, type ScenarioRunReport } from '../../src/index.js';
import { xmlEscape } from '../../src/scenario/formats.js';
import { expectScenario, runPlan } from '../../src/vitest.js';
import { fixture, liveStart, runCli, scratch, type CliOutcome } from '../helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const examples = join(root, 'examples', 'scenarios');
const wrong = join(root, 'test', 'fixtures', 'scenarios', 'wrong-expectation.yaml');
const exampleFiles = readdirSync(examples).filter((f) => f.endsWith('.yaml')).sort();

function sysfault(args: readonly string[]): Promise<CliOutcome> {
  return runCli(args, { cwd: root });
}

/** Writes a scenario file into a fresh directory and returns its path. */
function scenarioFile(text: string, name = 'scenario.yaml', dir = scratch()): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function removeKept(reports: readonly ScenarioRunReport[]): void {
  for (const r of reports) if (r.keptDir) rmSync(r.keptDir, { recursive: true, force: true });
}

describe('scenario files', () => {
  it('the example catalogue is valid: six scenarios with expectations', () => {
    const names = exampleFiles.map((f) => loadScenario(join(examples, f)).name);
    expect(names).toEqual(['crash-at-commit', 'failing-fsync', 'full-disk', 'latency-spike', 'refused-dependency', 'slow-disk']);
  });

  const base = (extra: string): string =>
    `version: 1\nname: t\ncommand: [/bin/true]\nplan:\n  version: 1\n  rules:\n    - { id: eio, syscalls: [fsync], action: { errno: EIO } }\n${extra}`;

  it.each([
    ['an unknown field, with the allowed ones', `${base('expect: { exit: 0 }\n')}nmae: x\n`, /scenario\.yaml:9:1: nmae: unknown field "nmae" \(did you mean "name"\?\)$/],
    ['a bad exit', base('expect:\n  exit: zero\n'), /scenario\.yaml:9:9: expect\.exit: expected an exit code from 0 to 255 or \{signal: NAME\}, got "zero"$/],
    ['an unknown field inside expect', base('expect:\n  exit: 0\n  stdout: { match: [x] }\n'), /:10:13: expect\.stdout\.match: unknown field "match" \(did you mean "matches"\?\)$/],
    ['a bad signal', base('expect:\n  exit: { signal: SIGNOPE }\n'), /:9:19: expect\.exit\.signal: unknown signal "SIGNOPE"$/],
    ['a bad comparison', base('expect:\n  counts: { fsync.faulted: "~ 1" }\n'), /:9:28: expect\.counts\.fsync\.faulted: expected a comparison like ">= 1" .*got "~ 1"$/],
    ['a counts key for a syscall the plan does not name', base('expect:\n  counts: { write.faulted: 1 }\n'), /:9:13: expect\.counts\.write\.faulted: the plan names no syscall "write" \(it names: fsync\)/],
    ['a counts key for an unknown rule', base('expect:\n  counts: { nope.fired: 1 }\n'), /expect\.counts\.nope\.fired: the plan has no rule "nope" \(its rules: eio\)/],
    ['a bad regular expression', base('expect:\n  stdout: { matches: ["(unclosed"] }\n'), /:9:23: expect\.stdout\.matches\[0\]: bad regular expression "\(unclosed": Unterminated group$/],
    ['no expectations', base('expect: {}\n'), /:8:9: expect: expected at least one expectation/],
    ['a missing command', 'version: 1\nname: t\nplan: { version: 1, rules: [] }\nexpect: { exit: 0 }\n', /scenario\.yaml:1:1: command: required field is missing$/],
    [
      'an inline plan error, positioned in the scenario file',
      'version: 1\nname: t\ncommand: [/bin/true]\nplan:\n  version: 1\n  rules:\n    - syscalls: [fsync]\n      action: { errno: EIOO }\nexpect: { exit: 0 }\n',
      /scenario\.yaml:8:24: plan\.rules\[0\]\.action\.errno: unknown errno "EIOO" \(did you mean "EIO"\?\)$/,
    ],
    ['a missing snapshot', base('setup: { snapshot: nowhere }\nexpect: { exit: 0 }\n'), /:8:20: setup\.snapshot: no such directory "nowhere"/],
  ])('names file:line:col, the field and the value: %s', (_what, text, message) => {
    expect(() => loadScenario(scenarioFile(text))).toThrow(message);
  });

  it('a plan file is relative to the scenario, and its errors point into the plan file', () => {
    const dir = scratch();
    writeFileSync(join(dir, 'plan.yaml'), 'version: 1\nrules:\n  - syscalls: [fsnc]\n    action: { errno: EIO }\n');
    const file = scenarioFile('version: 1\nname: t\ncommand: [/bin/true]\nplan: plan.yaml\nexpect: { exit: 0 }\n', 's.yaml', dir);
    expect(() => loadScenario(file)).toThrow(/plan\.yaml:3:16: rules\[0\]\.syscalls\[0\]: unknown syscall "fsnc" \(did you mean "fsync"\?\)$/);
  });

  it('JSON scenarios are strict JSON with positions', () => {
    const file = scenarioFile('{"version": 1, "name": "t", "command": ["/bin/true"],\n "plan": {"version": 1, "rules": []},\n "expect": {"exit": 0}, }\n', 's.json');
    expect(() => loadScenario(file)).toThrow(/s\.json:3:\d+: invalid JSON/);
  });

  it('JUnit text is escaped (markup, quotes, control characters)', () => {
    expect(xmlEscape('a<b>&"c"\u0001', true)).toBe('a&lt;b&gt;&amp;&quot;c&quot;\uFFFD');
    expect(xmlEscape('x\ny "q"')).toBe('x\ny "q"');
  });
});

describe('sysfault scenario run (CLI)', () => {
  it('runs the example catalogue: a pass table, JSON and JUnit reports, exit 0', async () => {
    const dir = scratch();
    const json = join(dir, 'report.json');
    const junit = join(dir, 'junit.xml');
    const { status, stdout, stderr } = await sysfault(['scenario', 'run', '--json', json, '--junit', junit, '--jobs', '3', 'examples/scenarios']);
    expect(stderr).not.toMatch(/FAIL|ERROR/);
    expect(status, stdout).toBe(0);
    const rows = stdout.split('\n');
    expect(rows[0]).toMatch(/^scenario\s+seed\s+result\s+time\s+reason$/);
    for (const name of ['slow-disk', 'failing-fsync', 'full-disk', 'refused-dependency', 'latency-spike', 'crash-at-commit']) {
      expect(rows.some((r) => new RegExp(`^${name}\\s+\\d+\\s+pass\\s+.*all \\d+ expectations met$`).test(r)), `${name} in\n${stdout}`).toBe(true);
    }
    expect(stdout).toMatch(/^7 runs: 7 passed, 0 failed \(/m);

    const report = JSON.parse(readFileSync(json, 'utf8')) as { version: number; scenarios: Record<string, unknown>[] };
    expect(report.version).toBe(1);
    expect(report.scenarios).toHaveLength(7);
    for (const s of report.scenarios) {
      expect(s).toMatchObject({ name: expect.any(String), seed: expect.any(Number), passed: true, reason: expect.stringMatching(/expectations met/) });
    }
    expect(report.scenarios.filter((s) => s.name === 'failing-fsync').map((s) => s.seed)).toEqual([1, 2]);

    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="sysfault scenarios" tests="7" failures="0" errors="0" time="[\d.]+">/);
    expect(xml.match(/<testcase /g)).toHaveLength(7);
    expect(xml).toContain('<testcase name="failing-fsync (seed 2)" classname="failing-fsync"');
    if (hasPython()) execFileSync('python3', ['-c', 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])', junit]);
  });

  it('a wrong expectation fails (exit 1) saying what differed, keeps the run, and its rerun command reproduces it', async () => {
    const dir = scratch();
    const json = join(dir, 'report.json');
    const junit = join(dir, 'junit.xml');
    const first = await sysfault(['scenario', 'run', '-q', '--json', json, '--junit', junit, wrong]);
    expect(first.status, first.stdout + first.stderr).toBe(1);
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/^wrong-expectation\s+3\s+FAIL\s+\d+ ms\s+exit: expected exit 0, got exit 1; /m);
    expect(first.stdout).toContain('  exit: expected exit 0\n             got exit 1\n');
    expect(first.stdout).toContain('  counts fsync.faulted: expected == 0\n                             got 1\n');
    expect(first.stdout).toContain('  stdout: expected no line matching / err EIO /\n               got line 3: "fsync data-0.bin err EIO Input/output error (os error 5) kind=Uncategorized"\n');
    expect(first.stdout).toContain('  verify: expected exit 0\n               got exit 1\n');
    const kept = /^ {2}kept: {2}(.+)$/m.exec(first.stdout)?.[1] ?? '';
    const rerun = /^ {2}rerun: (.+)$/m.exec(first.stdout)?.[1] ?? '';
    expect(rerun).toBe(`${sysfaultInvocation()} scenario run --seed 3 test/fixtures/scenarios/wrong-expectation.yaml`);
    try {
      // The failed run's directory: the working directory as left, the outputs, the result with the fault log.
      expect(readdirSync(kept).sort()).toEqual(['report.json', 'result.json', 'stderr.txt', 'stdout.txt', 'summary.txt', 'verify.stderr.txt', 'verify.stdout.txt', 'work']);
      expect(readdirSync(join(kept, 'work')).sort()).toEqual(['data-0.bin', 'data-1.bin']);
      expect(readFileSync(join(kept, 'stdout.txt'), 'utf8')).toContain('fsync data-0.bin err EIO');
      const result = JSON.parse(readFileSync(join(kept, 'result.json'), 'utf8')) as { seed: number; faults: { rule: string; action: string; target: string }[] };
      expect(result.seed).toBe(3);
      expect(result.faults).toEqual([expect.objectContaining({ rule: 'first-fsync-eio', action: 'errno:EIO', target: join(kept, 'work', 'data-0.bin') })]);

      const report = JSON.parse(readFileSync(json, 'utf8')) as { scenarios: { name: string; seed: number; passed: boolean; reason: string; rerun: string; keptDir: string }[] };
      expect(report.scenarios).toEqual([
        expect.objectContaining({ name: 'wrong-expectation', seed: 3, passed: false, rerun, keptDir: kept, reason: expect.stringContaining('counts fsync.faulted: expected == 0, got 1') }),
      ]);
      const xml = readFileSync(junit, 'utf8');
      expect(xml).toContain('failures="1"');
      expect(xml).toMatch(/<failure message="exit: expected exit 0, got exit 1; [^"]*" type="ExpectationFailed">exit: expected exit 0, got exit 1\n/);
      expect(xml).toContain(`rerun: ${rerun}</failure>`);
      expect(xml).toContain('<system-out>open data-0.bin ok\n');
      if (hasPython()) execFileSync('python3', ['-c', 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])', junit]);
    } finally {
      rmSync(kept, { recursive: true, force: true });
    }

    // The one-line rerun command, run by a shell, gives the same failure with the same seed.
    const again = await sysfault(rerun.replace(/^.*? scenario /, 'scenario ').split(' '));
    expect(execFileSync('/bin/sh', ['-c', `${rerun} >/dev/null 2>&1; echo $?`], { encoding: 'utf8' }).trim()).toBe('1');
    expect(again.status).toBe(1);
    expect(again.stdout.split('\n')[1]).toMatch(/^wrong-expectation\s+3\s+FAIL\s/);
    const keptAgain = /^ {2}kept: {2}(.+)$/m.exec(again.stdout)?.[1];
    if (keptAgain) rmSync(keptAgain, { recursive: true, force: true });
  });

  it('exits 125 for its own errors: an invalid scenario (nothing runs), bad flags, a command not found', async () => {
    const dir = scratch();
    const marker = join(dir, 'ran');
    const bad = scenarioFile(`version: 1\nname: t\ncommand: [sh, -c, "touch ${marker}"]\nplan: { version: 1, rules: [] }\nexpect: { exit: zero }\n`, 'bad.yaml', dir);
    const invalid = await sysfault(['scenario', 'run', bad]);
    expect(invalid).toMatchObject({ status: 125, stdout: '' });
    expect(invalid.stderr).toBe(`sysfault: ${bad}:5:17: expect.exit: expected an exit code from 0 to 255 or {signal: NAME}, got "zero"\n`);
    expect(existsSync(marker)).toBe(false);

    expect(await sysfault(['scenario', 'run', '--jobs', '0', wrong])).toMatchObject({ status: 125, stderr: 'sysfault: --jobs: expected a whole number from 1 to 9999, got "0"\n' });
    expect((await sysfault(['scenario', 'run', '--nope', wrong])).status).toBe(125);
    expect((await sysfault(['scenario', 'run', join(dir, 'missing.yaml')])).stderr).toMatch(/missing\.yaml: no such file or directory\n$/);

    const missing = scenarioFile('version: 1\nname: missing-command\ncommand: [./no-such-program]\nplan: { version: 1, rules: [] }\nexpect: { exit: 0 }\n', 'm.yaml', dir);
    const ran = await sysfault(['scenario', 'run', '-q', missing]);
    expect(ran.status).toBe(125);
    expect(ran.stdout).toMatch(/^missing-command\s+\d+\s+ERROR\s+.*error: \/.*\/no-such-program: no such file or directory$/m);
    for (const m of ran.stdout.matchAll(/^ {2}kept: {2}(.+)$/gm)) rmSync(m[1] ?? '', { recursive: true, force: true });
  });
});

describe('from vitest', () => {
  it.each(exampleFiles)('examples/scenarios/%s passes', async (file) => {
    const reports = await expectScenario(join(examples, file), { tmpDir: scratch() });
    expect(reports.length).toBeGreaterThan(0);
    for (const r of reports) expect(r.keptDir).toBeNull();
  });

  it('expectScenario fails on the wrong expectation with expected vs actual for each', async () => {
    const tmpDir = scratch();
    const error = await expectScenario(wrong, { tmpDir }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toContain('expected scenario wrong-expectation to pass, but 1 of 1 run failed:\n  wrong-expectation (seed 3):\n');
    expect(error?.message).toContain('    exit: expected exit 0\n               got exit 1\n');
    expect(error?.message).toContain('    counts fsync.faulted: expected == 0\n                               got 1\n');
    expect(error?.message).toMatch(/ {4}kept: {2}\/.+\n {4}rerun: .+ scenario run --seed 3 test\/fixtures\/scenarios\/wrong-expectation\.yaml$/);
    expect(error?.message).toContain(`rerun: ${sysfaultInvocation()} scenario run`);
  });

  it('runPlan and the matchers: faulted, delayed, exit code, killed by', async () => {
    const dir = scratch();
    const run = await runPlan(fixture('rust/fileio'), [dir, '2'], {
      seed: 1,
      plan: { version: 1, rules: [{ syscalls: ['fsync'], limit: 1, action: { errno: 'EIO' } }, { syscalls: ['write'], fd: 'file', action: { delayMs: 10 } }] },
    });
    expect(run.lines[2]).toBe('fsync data-0.bin err EIO Input/output error (os error 5) kind=Uncategorized');
    expect(run).toHaveFaulted('fsync', { atLeast: 1 });
    expect(run).toHaveFaulted('fsync', { exactly: 1 });
    expect(run.result).toHaveDelayed('write', { exactly: 2 });
    expect(run).not.toHaveFaulted('write');
    expect(run).toHaveExitCode(1);
    expect(run).not.toHaveBeenKilledBy('SIGKILL');

    expect(() => expect(run).toHaveFaulted('fsync', { exactly: 0 })).toThrow(
      'expected fsync to have faulted exactly 0 times, but it faulted 1 time (fsync: 2 calls, 1 faulted, 0 delayed; faults: fsync ' +
        `${join(dir, 'data-0.bin')} -> errno:EIO (rule-0))`,
    );
    expect(() => expect(run).toHaveExitCode(0)).toThrow(/^expected the target to exit with code 0, but it ended: exit 1 \(faults: .*\)\nstdout \(last 5 of 9 lines\):\n {2}\| open data-1\.bin ok\n[^]*\| done$/);
    expect(() => expect(run).toHaveFaulted('connect')).toThrow('expected connect to have faulted at least 1 time, but the plan names no rule for connect (counts has: write, fsync)');

    const killed = await runPlan(fixture('rust/fileio'), [dir, '2'], { plan: { version: 1, rules: [{ syscalls: ['fsync'], action: { kill: 'SIGKILL' } }] } });
    expect(killed).toHaveBeenKilledBy('SIGKILL');
    expect(() => expect(killed).toHaveExitCode(1)).toThrow(/^expected the target to exit with code 1, but it ended: killed by SIGKILL/);
  });
});

describe('setup, workload and timeboxes', () => {
  it('limits are real (prlimit): with 4 open files the Go program gets EMFILE', async () => {
    const reports = await runScenario(
      {
        version: 1,
        name: 'few-files',
        setup: { limits: { openFiles: 4, addressSpaceMb: 4096 } },
        command: [fixture('go/fileio-static'), '.', '1'],
        plan: { version: 1, rules: [{ syscalls: ['fsync'], action: { delayMs: 1 } }] },
        expect: { exit: 1, stdout: { matches: ['^open data-0\\.bin err EMFILE '] }, counts: { 'fsync.calls': '== 0' } },
      },
      { tmpDir: scratch() },
    );
    expect(reports).toPassScenario();
    expect(reports[0]?.engine).toBe('seccomp'); // auto looked at the Go program, not at prlimit
  });

  it('stressors run alongside the target and are stopped after', async () => {
    const reports = await runScenario(
      {
        version: 1,
        name: 'stressed',
        setup: { stressors: { cpu: 2, io: 1 } },
        command: ['sh', '-c', 'sleep 0.3; echo cpu $(pgrep -fc "sysfault-stressor-[c]pu"); echo io $(pgrep -fc "sysfault-stressor-[i]o")'],
        plan: { version: 1, rules: [] },
        expect: { exit: 0, stdout: { matches: ['^cpu 2$', '^io 1$'] } },
      },
      { tmpDir: scratch() },
    );
    expect(reports).toPassScenario();
    const left = execFileSync('sh', ['-c', 'pgrep -fc "sysfault-stressor-[ci]" || true'], { encoding: 'utf8' }).trim();
    expect(left).toBe('0');
  });

  it('a workload can drive the target: it starts after the target is ready, and its end stops the target', async () => {
    const reports = await runScenario(
      {
        version: 1,
        name: 'driven-server',
        command: [fixture('rust/tokio_server'), '${port}'],
        workload: { command: [fixture('rust/tcpclient'), '127.0.0.1:${port}', '3'], startAfter: '^listening ', stopTarget: true, durationMs: 10_000 },
        plan: { version: 1, rules: [{ id: 'slow-server-reads', syscalls: ['read', 'recvfrom'], fd: 'socket', action: { delayMs: 20 } }] },
        expect: {
          exit: { signal: 'SIGTERM' },
          stdout: { matches: ['^listening \\d+$'] },
          faults: { min: 3 },
          workload: { exit: 0, stdout: { matches: ['^recv 2 ok ping 2$', '^done$'] } },
        },
      },
      { tmpDir: scratch() },
    );
    expect(reports).toPassScenario();
  });

  it('a workload or verify command that leaves a background process in its group leaves nothing running', async () => {
    // The workload's background sleep lets go of the output pipe; the verify command's keeps it (so waiting for
    // the output to close waits for it), and ends sooner, so that the workload's is still there to be seen.
    const t0 = Date.now();
    const [report] = await runScenario(
      {
        version: 1,
        name: 'leftovers',
        command: ['sh', '-c', 'sleep 0.3'],
        workload: { command: ['sh', '-c', 'sleep 60 >/dev/null 2>&1 & echo "background $!"'] },
        plan: { version: 1, rules: [] },
        expect: { exit: 0, workload: { exit: 0 }, verify: { command: ['sh', '-c', 'sleep 30 & echo "background $!"'], stdout: { matches: ['^background \\d+$'] } } },
      },
      { tmpDir: scratch(), keep: 'none' },
    );
    expect(report?.reason).toBe('all 4 expectations met');
    const pids = [report?.workload?.stdout, report?.verify?.stdout].map((text) => Number(/^background (\d+)$/m.exec(text ?? '')?.[1]));
    expect(pids.every((pid) => pid > 1)).toBe(true);
    for (const pid of pids) await expect.poll(() => liveStart(pid), { timeout: 2000 }).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('a run is timeboxed, and so is a catalogue: what runs is killed, the rest is reported not run', async () => {
    const dir = scratch();
    const sleeper = (name: string, timeoutMs: number): string =>
      scenarioFile(`version: 1\nname: ${name}\ncommand: [sleep, "5"]\nplan: { version: 1, rules: [] }\ntimeoutMs: ${timeoutMs}\nexpect: { exit: 0 }\n`, `${name}.yaml`, dir);
    const [one] = await runScenario(sleeper('sleepy', 300), { tmpDir: dir, keep: 'none' });
    expect(one).toMatchObject({ passed: false, timedOut: true, keptDir: null });
    expect(one?.reason).toMatch(/^timeout: expected to end within 300 ms, got timed out after \d+ ms \(killed\); exit: expected exit 0, got signal SIGKILL$/);

    sleeper('sleepy-2', 20_000);
    const t0 = Date.now();
    const report = await runCatalogue([dir], { jobs: 1, timeoutMs: 500, scenarioTimeoutMs: 20_000, tmpDir: dir, keep: 'none' });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(report).toMatchObject({ passed: 0, failed: 2, errors: 0 });
    expect(report.scenarios.map((r) => [r.name, r.reason])).toEqual([
      ['sleepy-2', 'run: expected to finish, got catalogue timebox of 500 ms exceeded'],
      ['sleepy', 'not finished: catalogue timebox of 500 ms exceeded'],
    ]);
    expect(catalogueJUnit(report)).toContain('tests="2" failures="2" errors="0"');
    removeKept(report.scenarios);
  });
});

let python: boolean | undefined;
function hasPython(): boolean {
  if (python === undefined) {
    try {
      execFileSync('python3', ['-c', 'import xml.etree.ElementTree'], { stdio: 'ignore' });
      python = true;
    } catch {
      python = false;
    }
  }
  return python;
}
