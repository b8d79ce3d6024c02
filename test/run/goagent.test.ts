// The Go fast path (native/goagent): under `auto` a Go binary gets the in-process agent, which decides the calls
// it can and leaves the rest to the supervisor. Real programs, several toolchains and build modes: the agent must
// load (or say why not), the program must see exactly the decided faults, and the counts must be exact and the
// same as under the supervisor alone (same plan and seed).
import { chownSync, copyFileSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Engine, RunResult } from '../../src/index.js';
import { faultSignature, fixture, plan, runFixture, scratch } from '../helpers.js';
import { asNobody, NOBODY, nobodyHome, whyNotNobody } from '../nobody.js';

const STUB = Buffer.from('4989f24889fa4889ce4889df0f05483d01f0ffff', 'hex');

/** The program's own tally ("write ok=N err=M", "fsync ok=N err=M"). */
function tally(lines: string[]): Record<string, { ok: number; err: number }> {
  const out: Record<string, { ok: number; err: number }> = {};
  for (const line of lines) {
    const m = /^(\w+) ok=(\d+) err=(\d+)$/.exec(line);
    if (m?.[1]) out[m[1]] = { ok: Number(m[2]), err: Number(m[3]) };
  }
  return out;
}

const stormPlan = plan(
  [
    { id: 'sync', syscalls: ['fsync'], probability: 0.3, action: { errno: 'EIO' } },
    { id: 'data', syscalls: ['write'], path: '**/w*.bin', probability: 0.2, action: { errno: 'EIO' } },
  ],
  7,
);

async function storm(bin: string, engine: Engine | 'auto') {
  const dir = scratch();
  return runFixture(bin, ['storm', dir, '4', '200'], { plan: stormPlan, engine });
}

const variants = ['go1.19-static', 'go1.19-cgo', 'go1.20-static', 'go1.20-cgo', 'go1.22-static', 'go1.22-cgo', 'pie', 'stripped', 'cgo-pie-stripped'];

describe.each(variants)('Go fast path: agentstorm %s', (variant) => {
  const bin = `gotc/agentstorm-${variant}`;

  it('loads, and a storm (SIGPROF, preemption, GC) sees exactly the faults counted, as under the supervisor alone', async () => {
    // a "cgo" (or PIE) variant really is one: dynamically linked, on glibc's threads and TLS
    const dynamic = readFileSync(fixture(bin)).includes('/lib64/ld-linux-x86-64.so.2');
    expect(dynamic).toBe(variant.includes('cgo') || variant === 'pie');
    const fast = await storm(bin, 'auto');
    expect(fast.result.warnings).toEqual([]);
    expect(fast.result.fastPath).toHaveLength(1);
    expect(fast.result.fastPath[0]).toContain(variant.includes('stripped') ? 'pclntab' : 'symbol table');
    const seen = tally(fast.lines);
    expect(fast.result.counts.fsync).toEqual({ calls: 800, faulted: seen.fsync?.err, delayed: 0 });
    expect(seen.fsync?.ok).toBe(800 - (seen.fsync?.err ?? 0));
    expect(fast.result.rules).toEqual([
      { id: 'sync', matched: 800, fired: seen.fsync?.err },
      { id: 'data', matched: 800, fired: seen.write?.err },
    ]);
    const alone = await storm(bin, 'seccomp');
    expect(alone.result.fastPath).toEqual([]);
    expect(alone.result.rules).toEqual(fast.result.rules);
    expect(alone.result.counts.fsync).toEqual(fast.result.counts.fsync);
  });
});

describe('Go fast path', () => {
  it('engine agreement: same plan and seed, same faults, with and without the agent', async () => {
    for (const link of ['static', 'cgo']) {
      const rules = plan(
        [
          { syscalls: ['fsync'], after: 1, limit: 1, action: { errno: 'EIO' } },
          { syscalls: ['write'], path: '**/data-2.bin', action: { short: 7 } },
          { syscalls: ['read'], path: '**/data-0.bin', action: { delayMs: 30 } },
          // never fires: counts the reads of the program's own files (see below)
          { id: 'data-reads', syscalls: ['read'], path: '**/data-*.bin', after: 1_000_000, action: { errno: 'EIO' } },
        ],
        3,
      );
      const runs = [];
      for (const engine of ['auto', 'seccomp'] as const) {
        const dir = scratch();
        runs.push(await runFixture(`go/fileio-${link}`, [dir, '3'], { plan: rules, engine }));
      }
      const [fast, alone] = runs as [Awaited<ReturnType<typeof runFixture>>, Awaited<ReturnType<typeof runFixture>>];
      expect(fast.result.fastPath).toHaveLength(1);
      expect(faultSignature(fast.result)).toEqual(faultSignature(alone.result));
      expect(fast.result.rules).toEqual(alone.result.rules);
      if (link === 'static') expect(fast.result.counts).toEqual(alone.result.counts);
      else {
        // Before main, cgo's start-up has glibc read /proc/self/maps in 1 KiB chunks. The agent's mappings add
        // 7 lines to it (about 700 bytes), so with a long enough checkout path it takes one chunk more: a
        // real read the program makes, counted by both engines. Every other count, and the reads of the
        // program's own files (the data-reads rule's matches), are the same.
        const { read: fastRead, ...fastRest } = fast.result.counts;
        const { read: aloneRead, ...aloneRest } = alone.result.counts;
        expect(fastRest).toEqual(aloneRest);
        expect([fastRead?.faulted, fastRead?.delayed]).toEqual([aloneRead?.faulted, aloneRead?.delayed]);
        expect(fastRead!.calls - aloneRead!.calls).toBeGreaterThanOrEqual(0);
        expect(fastRead!.calls - aloneRead!.calls).toBeLessThanOrEqual(1);
      }
      // data-1.bin and data-2.bin: data, then EOF (data-0.bin's reads are taken by the delay rule before it)
      expect(fast.result.rules.find((r) => r.id === 'data-reads')?.matched).toBe(4);
      // (Go's File.Write carries on after a short write: the program still writes its 100 bytes)
      expect(faultSignature(fast.result)).toContain('rule-1 write short:7 <dir>/data-2.bin');
      expect(fast.result.counts.read?.delayed).toBe(2); // os.ReadFile: the data, then EOF
    }
  });

  it('a path rule on a name sees the file /proc shows: through a symlink, the target; both engines agree', async () => {
    // With globs that look only at a file's name the agent takes a descriptor's facts from the name it was
    // opened by (an lstat and an fstat at the open) unless that name is a symlink: then /proc/self/fd's path.
    const dir = scratch();
    writeFileSync(join(dir, 'real.bin'), Buffer.alloc(100, 7));
    symlinkSync('real.bin', join(dir, 'link.json'));
    const link = join(dir, 'link.json');
    const rules = plan([
      { id: 'target', syscalls: ['read'], path: '**/*.bin', action: { errno: 'EIO' } },
      { id: 'name', syscalls: ['read'], path: '*.json', action: { errno: 'ENOSPC' } },
    ]);
    for (const link_ of ['static', 'cgo']) {
      const runs = [];
      for (const engine of ['auto', 'seccomp'] as const) runs.push(await runFixture(`go/readfile-${link_}`, [link], { plan: rules, engine }));
      const [fast, alone] = runs as [Awaited<ReturnType<typeof runFixture>>, Awaited<ReturnType<typeof runFixture>>];
      expect(fast.result.fastPath).toHaveLength(1);
      for (const run of runs) {
        expect(run.lines).toEqual([`read ${link} err EIO read ${link}: input/output error`, 'done']);
        expect(run.result.rules).toEqual([
          { id: 'target', matched: 1, fired: 1 },
          { id: 'name', matched: 0, fired: 0 },
        ]);
      }
      expect(faultSignature(fast.result)).toEqual(faultSignature(alone.result));
      // and by its own name, the file is the same file: the name rule stays quiet, the target rule fires
      const direct = await runFixture(`go/readfile-${link_}`, [join(dir, 'real.bin')], { plan: rules });
      expect(direct.result.rules.map((r) => r.fired)).toEqual([1, 0]);
    }
  });

  it('a Go binary whose Syscall6 does not match is left to the supervisor, and the result says so', async () => {
    // the same instructions, another encoding (mov rdx, rdi as 48 8b d7): the program works, the agent refuses
    const dir = scratch();
    const copy = join(dir, 'agentstorm-odd');
    copyFileSync(fixture('gotc/agentstorm-go1.22-static'), copy);
    const bytes = readFileSync(copy);
    const at = bytes.indexOf(STUB);
    expect(at).toBeGreaterThan(0);
    bytes.set([0x48, 0x8b, 0xd7], at + 3);
    writeFileSync(copy, bytes, { mode: 0o755 });
    const out = await runFixture(copy, ['storm', dir, '2', '50'], { plan: stormPlan });
    expect(out.result.fastPath).toEqual([]);
    expect(out.result.warnings).toEqual([
      {
        code: 'fast-path-unavailable',
        message: expect.stringContaining('does not start with the instructions the agent replaces') as unknown as string,
      },
    ]);
    const seen = tally(out.lines);
    expect(out.result.counts.fsync).toEqual({ calls: 100, faulted: seen.fsync?.err, delayed: 0 });
  });

  it('fork/exec from Go: the Go child gets the fast path too (exec followed), counts exact', async () => {
    const dir = scratch();
    const out = await runFixture('gotc/agentstorm-go1.22-static', ['spawn', dir, '5'], { plan: stormPlan });
    expect(out.result.fastPath).toHaveLength(2);
    expect(out.result.fastPath[1]).toContain('exec followed');
    const seen = tally(out.lines);
    expect(out.lines.filter((l) => l.startsWith('parent line '))).toHaveLength(5);
    expect(out.result.counts.fsync).toEqual({ calls: 5, faulted: seen.fsync?.err, delayed: 0 });
    expect(out.result.rules[1]).toEqual({ id: 'data', matched: 5, fired: seen.write?.err });
  });

  it.each(['go1.22-static', 'go1.20-cgo'])(
    'a raw fork (no CLONE_VM) of %s: parent and child write at once, each counted in its own slot, exactly',
    async (variant) => {
      const n = 200_000;
      const forkPlan = plan([{ id: 'null', syscalls: ['write'], path: '/dev/null', probability: 0.0002, action: { errno: 'EIO' } }], 3);
      const out = await runFixture(`gotc/agentstorm-${variant}`, ['fork', scratch(), String(n)], { plan: forkPlan });
      expect(out.result.fastPath).toHaveLength(1);
      const m = /^fork parent failed=(\d+) child failed=(\d+)$/m.exec(out.lines.join('\n'));
      expect(m).not.toBeNull();
      const failed = Number(m?.[1]) + Number(m?.[2]);
      expect(Number(m?.[2])).toBeLessThan(255); // the child's exit status carries its tally
      // one write before the fork, n by each process, and the line above (not /dev/null)
      expect(out.result.counts.write).toEqual({ calls: 2 * n + 2, faulted: failed, delayed: 0 });
      expect(out.result.rules).toEqual([{ id: 'null', matched: 2 * n + 1, fired: failed }]);
    },
  );

  it('3000 threads one after another (each exits): the later ones go to the supervisor, nothing hangs, counts exact', async () => {
    const n = 3000;
    const churn = plan([{ id: 'null', syscalls: ['write'], path: '/dev/null', probability: 0.05, action: { errno: 'EIO' } }], 5);
    const out = await runFixture('gotc/agentstorm-go1.22-static', ['threads', scratch(), String(n)], { plan: churn, timeout: 30_000 });
    expect(out.result.timedOut).toBe(false); // before: the agent's thread map filled up at 1024 and a probe never ended
    expect(out.result.fastPath).toHaveLength(1);
    const m = /^threads (\d+) write err=(\d+)$/m.exec(out.lines.join('\n'));
    expect(Number(m?.[1])).toBe(n);
    expect(out.result.rules).toEqual([{ id: 'null', matched: n, fired: Number(m?.[2]) }]);
    expect(out.result.counts.write).toEqual({ calls: n + 1, faulted: Number(m?.[2]), delayed: 0 });
  });

  it('kill: a SIGKILL at the decided call ends the program there', async () => {
    const dir = scratch();
    const out = await runFixture('go/fileio-static', [dir, '3'], {
      plan: plan([{ syscalls: ['fsync'], after: 1, action: { kill: 'SIGKILL' } }]),
    });
    expect(out.result.fastPath).toHaveLength(1);
    expect(out.result.exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(out.lines).toContain('fsync data-0.bin ok');
    expect(out.lines).not.toContain('read data-1.bin ok 100');
    expect(out.result.counts.fsync).toEqual({ calls: 2, faulted: 1, delayed: 0 });
  });
});

const nobodySkip = whyNotNobody();
const STRIPPED = 'gotc/agentstorm-cgo-pie-stripped';

describe.skipIf(nobodySkip !== undefined)(`Go fast path as user nobody${nobodySkip ? ` [skipped: ${nobodySkip}]` : ''}`, () => {
  it('loads without privileges and counts exactly', async () => {
    const home = nobodyHome([STRIPPED]);
    const dir = scratch();
    chownSync(dir, NOBODY, NOBODY);
    const json = join(dir, 'result.json');
    const args = ['run', '-q', '--seed', '7', '--fault', 'fsync:p=0.3=EIO', '--json', json, '--', home.fixture(STRIPPED), 'storm', dir, '3', '100'];
    const out = await asNobody(home.cli, args, 60_000);
    home.dispose();
    expect(out.status).toBe(0);
    const result = JSON.parse(readFileSync(json, 'utf8')) as RunResult;
    expect(result.fastPath).toHaveLength(1);
    const seen = tally(out.stdout.split('\n'));
    expect(result.counts.fsync).toEqual({ calls: 300, faulted: seen.fsync?.err, delayed: 0 });
  });
});
