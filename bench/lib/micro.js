// Per-syscall cost on the loop fixtures: each case (program, op, threads) runs under several variants (bare,
// sysfault's engines with several plans, strace, fiu-run), alternated round by round (A B C A B C ...). The figure
// is the loop's own "ns per call", timed inside the target, so process start-up is excluded.
import { execMeasured } from './exec.js';
import { median } from './stats.js';

/** The never-matching filters of a pass-through rule, per syscall (it is evaluated on every call, never fires). */
function neverFilter(sys) {
  return sys === 'connect' ? { addr: '127.0.0.2:9' } : { path: '**/never-matches' };
}

/** Plans by kind, for the loop's syscall `sys`. */
export function planFor(kind, sys) {
  switch (kind) {
    case 'pass':
      return { version: 1, seed: 1, rules: [{ id: 'never', syscalls: [sys], ...neverFilter(sys), action: { errno: 'EIO' } }] };
    case 'unnamed':
      // Names a syscall the loop never makes: the loop's own syscall must not be intercepted at all.
      return { version: 1, seed: 1, rules: [{ id: 'other', syscalls: ['fdatasync'], action: { errno: 'EIO' } }] };
    // Firing rules act on the loop's own fd only (/dev/null): under seccomp an unfiltered write rule would also
    // fail the loop's report on stdout.
    case 'errno':
      return { version: 1, seed: 1, rules: [{ id: 'fire', syscalls: [sys], path: '/dev/null', action: { errno: 'EIO' } }] };
    case 'delay0':
      return { version: 1, seed: 1, rules: [{ id: 'fire', syscalls: [sys], path: '/dev/null', action: { delayMs: 0 } }] };
    default:
      throw new Error(`unknown plan kind ${kind}`);
  }
}

const FIU_POINTS = {
  write: 'posix/io/rw/write',
  read: 'posix/io/rw/read',
  pread64: 'posix/io/rw/pread',
  fsync: 'posix/io/sync/fsync',
  connect: 'posix/io/net/connect',
};

/**
 * The variants. `engine`+`plan`: under sysfault; `tool`: under strace, fiu-run or the seccomp-floor helper;
 * neither: bare. `cheap`: costs about what bare does, so it runs the bare iteration count without calibrating.
 */
export const VARIANTS = {
  bare: { label: 'bare' },
  preload: { label: 'preload, rule never fires', engine: 'preload', plan: 'pass', cheap: true },
  seccomp: { label: 'seccomp notified, rule never fires', engine: 'seccomp', plan: 'pass' },
  'seccomp-unnamed': { label: 'seccomp, syscall not named', engine: 'seccomp', plan: 'unnamed', cheap: true },
  'seccomp-floor': { label: 'a seccomp filter alone (no sysfault)', tool: 'floor', cheap: true },
  strace: { label: 'strace -f (ptrace)', tool: 'strace' },
  'strace-bpf': { label: 'strace -f --seccomp-bpf', tool: 'strace-bpf' },
  fiu: { label: 'fiu-run -x (probability 0)', tool: 'fiu', cheap: true },
  'preload-errno': { label: 'preload, errno on every call', engine: 'preload', plan: 'errno', fires: true },
  'preload-delay0': { label: 'preload, delayMs 0 on every call', engine: 'preload', plan: 'delay0', fires: true },
  'seccomp-errno': { label: 'seccomp, errno on every call', engine: 'seccomp', plan: 'errno', fires: true },
  'seccomp-delay0': { label: 'seccomp, delayMs 0 on every call', engine: 'seccomp', plan: 'delay0', fires: true },
};

const ALL = ['bare', 'preload', 'seccomp', 'seccomp-unnamed', 'seccomp-floor', 'strace', 'strace-bpf', 'fiu'];
const NO_LIBC = ['bare', 'seccomp', 'seccomp-unnamed', 'seccomp-floor', 'strace', 'strace-bpf'];

/** The benchmark's cases. */
export function microCases({ quick }) {
  const cases = [];
  for (const [op, sys] of [
    ['write', 'write'],
    ['read', 'read'],
    ['pread', 'pread64'],
    ['fsync', 'fsync'],
    ['connect', 'connect'],
  ]) {
    cases.push({ id: `c-${op}`, group: 'syscalls', program: 'c/loop', lang: 'C', op, sys, threads: 1, variants: ALL });
  }
  cases.push({ id: 'rust-write', group: 'langs', program: 'rust/loop', lang: 'Rust', op: 'write', sys: 'write', threads: 1, variants: ALL });
  cases.push({ id: 'go-static-write', group: 'langs', program: 'go/loop-static', lang: 'Go (static)', op: 'write', sys: 'write', threads: 1, variants: NO_LIBC });
  if (!quick) {
    cases.push({ id: 'go-cgo-write', group: 'langs', program: 'go/loop-cgo', lang: 'Go (cgo)', op: 'write', sys: 'write', threads: 1, variants: ['bare', 'seccomp', 'seccomp-unnamed'] });
  }
  cases.push({ id: 'c-static-write', group: 'langs', program: 'c/static-loop', lang: 'C (static)', op: 'write', sys: 'write', threads: 1, variants: NO_LIBC });
  cases.push({
    id: 'c-write-firing',
    group: 'firing',
    program: 'c/loop',
    lang: 'C',
    op: 'write',
    sys: 'write',
    threads: 1,
    variants: ['bare', 'preload-errno', 'preload-delay0', 'seccomp-errno', 'seccomp-delay0'],
  });
  for (const threads of [1, 2, 4, 8]) {
    cases.push({ id: `c-write-t${threads}`, group: 'scaling', program: 'c/loop', lang: 'C', op: 'write', sys: 'write', threads, variants: ['bare', 'preload', 'seccomp'] });
  }
  return cases;
}

const LOOP_LINE = /^loop (\S+) ok ([\d.]+)(?: errors (\d+))?\s*$/m;

/** Helper programs of the bench (bench/tools), by name: set by runMicro. */
let tools = {};

function commandFor(variant, c, exe, iters) {
  const args = [c.op, String(iters)];
  if (c.threads > 1) args.push(String(c.threads));
  const v = VARIANTS[variant];
  if (v.engine) return { cmd: exe, args, sysfault: { engine: v.engine, plan: planFor(v.plan, c.sys) } };
  switch (v.tool) {
    case 'strace':
      return { cmd: 'strace', args: ['-f', '-e', `trace=${c.sys}`, '-o', '/dev/null', exe, ...args] };
    case 'strace-bpf':
      return { cmd: 'strace', args: ['--seccomp-bpf', '-f', '-e', `trace=${c.sys}`, '-o', '/dev/null', exe, ...args] };
    case 'floor':
      return { cmd: tools['seccomp-floor'], args: [exe, ...args] };
    case 'fiu':
      // -f '' : no remote-control fifo thread; enable_random with probability 0: the wrapper checks the
      // enabled failure point on every call and never fails (libfiu's pass-through).
      return {
        cmd: 'fiu-run',
        args: ['-x', '-f', '', '-c', `enable_random name=${FIU_POINTS[c.sys]},probability=0`, exe, ...args],
      };
    default:
      return { cmd: exe, args };
  }
}

/** Runs one variant of a case once: { ns, errors, intercepted, wallMs } or { error }. */
async function runOnce(variant, c, exe, iters) {
  const { cmd, args, sysfault } = commandFor(variant, c, exe, iters);
  const r = await execMeasured(cmd, args, { sysfault });
  if (r.error) return { error: r.error };
  const m = LOOP_LINE.exec(r.stdout);
  if (!m) {
    const why = r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
    const out = (r.stdout + r.stderr).trim().split('\n').slice(-3).join(' / ');
    return { error: `no "loop ${c.op} ok" line (${why}): ${out}` };
  }
  const errors = Number(m[3] ?? 0);
  const fires = VARIANTS[variant].fires === true;
  if (!fires && errors > 0) return { error: `${errors} of ${iters * c.threads} calls failed` };
  if (fires && errors === 0 && VARIANTS[variant].plan === 'errno') return { error: 'the errno rule never fired' };
  const intercepted = r.result?.counts?.[c.sys]?.calls ?? null;
  return { ns: Number(m[2]), errors, intercepted, wallMs: r.wallMs };
}

/** Picks an iteration count making a run last about targetMs (calls timed in the target). */
async function calibrate(variant, c, exe, targetMs, maxIters) {
  const par = Math.min(c.threads, 2);
  let iters = Math.max(50, Math.round(500 / c.threads));
  for (let step = 0; step < 5; step++) {
    const r = await runOnce(variant, c, exe, iters);
    if (r.error) return r;
    const estMs = (r.ns * iters * c.threads) / par / 1e6;
    const want = Math.max(1, Math.round((targetMs * 1e6 * par) / (r.ns * c.threads)));
    if (estMs >= targetMs / 8 || iters >= maxIters) return { ns: r.ns, iters: Math.min(want, maxIters) };
    iters = Math.min(maxIters, Math.max(iters * 2, Math.round(want / 4)));
  }
  return { error: 'calibration did not converge' };
}

/**
 * Runs every case: calibration (which also warms up), then `rounds` rounds, each running every case's
 * variants once in order. Returns one record per case and variant.
 */
export async function runMicro({ fixtures, tools: helperTools = {}, rounds, targetMs, available, log, only = null, quick = false }) {
  tools = helperTools;
  const cases = microCases({ quick }).filter((c) => !only || only.some((o) => c.id === o || c.id.startsWith(`${o}-`)));
  const records = [];
  for (const c of cases) {
    const exe = fixtures[c.program];
    for (const variant of c.variants) {
      records.push({
        case: c.id,
        group: c.group,
        program: c.program,
        lang: c.lang,
        op: c.op,
        syscall: c.sys,
        threads: c.threads,
        variant,
        label: VARIANTS[variant].label,
        iters: null,
        runs: [],
        errors: [],
        intercepted: null,
        failures: [],
        skipped: exe ? available(variant) : `fixture ${c.program} is not built`,
        median: null,
        ratio: null,
        ratioOfMedians: null,
        roundRatios: [],
      });
    }
  }
  const byCase = (id) => records.filter((r) => r.case === id);

  log(`calibrating ${records.length} variants (target ${targetMs} ms per run)`);
  for (const c of cases) {
    const recs = byCase(c.id);
    const bare = recs.find((r) => r.variant === 'bare');
    let bareIters = 5_000_000;
    let bareNs = null;
    if (!bare.skipped) {
      const cal = await calibrate('bare', c, fixtures[c.program], targetMs, bareIters);
      if (cal.error) bare.skipped = `bare run failed: ${cal.error}`;
      else [bareIters, bareNs, bare.iters] = [cal.iters, cal.ns, cal.iters];
    }
    for (const rec of recs) {
      if (rec.variant === 'bare' || rec.skipped) continue;
      if (bare.skipped) {
        rec.skipped = 'no bare figure';
        continue;
      }
      if (VARIANTS[rec.variant].cheap) {
        rec.iters = bareIters;
        continue;
      }
      const cal = await calibrate(rec.variant, c, fixtures[c.program], targetMs, bareIters);
      if (cal.error) {
        rec.skipped = cal.error;
        log(`  ${c.id} ${rec.variant}: skipped: ${cal.error}`);
        continue;
      }
      // Variants costing about the bare figure run the bare iteration count, so the comparison is exact.
      rec.iters = cal.ns <= 3 * bareNs ? bareIters : cal.iters;
    }
    log(`  ${c.id}: ${recs.map((r) => `${r.variant}=${r.skipped ? 'skip' : r.iters}`).join(' ')}`);
  }

  for (let round = 0; round < rounds; round++) {
    const t0 = Date.now();
    for (const c of cases) {
      for (const rec of byCase(c.id)) {
        if (rec.skipped) continue;
        const r = await runOnce(rec.variant, c, fixtures[c.program], rec.iters);
        if (r.error) {
          rec.failures.push(`round ${round + 1}: ${r.error}`);
          rec.runs.push(null);
          continue;
        }
        rec.runs.push(r.ns);
        rec.errors.push(r.errors);
        if (r.intercepted !== null) rec.intercepted = r.intercepted;
      }
    }
    log(`round ${round + 1}/${rounds} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  for (const c of cases) {
    const recs = byCase(c.id);
    const bare = recs.find((r) => r.variant === 'bare');
    for (const rec of recs) {
      const ok = rec.runs.filter((x) => x !== null);
      rec.median = ok.length ? median(ok) : null;
    }
    for (const rec of recs) {
      if (rec.median === null || !bare.median) continue;
      // The ratio: per round, this variant's figure over the same round's bare figure (run just before it, so
      // slow drift of the machine cancels), then the median over the rounds.
      const paired = rec.runs
        .map((x, i) => (x !== null && bare.runs[i] ? x / bare.runs[i] : null))
        .filter((x) => x !== null);
      rec.roundRatios = paired;
      rec.ratio = paired.length ? median(paired) : null;
      rec.ratioOfMedians = rec.median / bare.median;
    }
  }
  return { cases, records };
}
