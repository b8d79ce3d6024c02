// The report: headline checks, markdown tables, and the vega-lite chart rendered to SVG.
import * as vega from 'vega';
import { compile } from 'vega-lite';

export const CHART_VARIANTS = ['preload', 'seccomp', 'seccomp-unnamed', 'seccomp-floor', 'strace', 'strace-bpf', 'fiu'];
const COLUMNS = ['bare', ...CHART_VARIANTS];
const COLUMN_TITLES = {
  bare: 'bare',
  preload: 'preload (rule never fires)',
  seccomp: 'seccomp notified (rule never fires)',
  'seccomp-unnamed': 'seccomp, syscall not named',
  'seccomp-floor': 'a seccomp filter alone, no sysfault (kernel floor)',
  strace: 'strace -f (ptrace)',
  'strace-bpf': 'strace -f --seccomp-bpf',
  fiu: 'fiu-run -x',
};
const SHORT = {
  preload: 'preload',
  seccomp: 'seccomp notified',
  'seccomp-unnamed': 'seccomp, not named',
  'seccomp-floor': 'seccomp filter alone',
  strace: 'strace (ptrace)',
  'strace-bpf': 'strace --seccomp-bpf',
  fiu: 'fiu-run -x',
};

/** 312 ns, 7.31 µs, 1.20 ms */
export function fmtNs(ns) {
  if (ns === null || ns === undefined || !Number.isFinite(ns)) return 'n/a';
  if (ns < 1000) return `${ns.toFixed(0)} ns`;
  if (ns < 1e6) return `${(ns / 1000).toPrecision(3)} µs`;
  return `${(ns / 1e6).toPrecision(3)} ms`;
}

export function fmtRatio(r) {
  if (r === null || r === undefined || !Number.isFinite(r)) return 'n/a';
  if (r < 10) return `${r.toFixed(2)}x`;
  if (r < 100) return `${r.toFixed(1)}x`;
  return `${r.toFixed(0)}x`;
}

function cell(rec) {
  if (!rec) return 'n/a';
  if (rec.skipped) return 'skipped';
  if (rec.median === null) return 'failed';
  if (rec.variant === 'bare') return fmtNs(rec.median);
  return `${fmtNs(rec.median)} (${fmtRatio(rec.ratio)})`;
}

function find(records, caseId, variant) {
  return records.find((r) => r.case === caseId && r.variant === variant);
}

function caseTitle(c) {
  return c.group === 'syscalls' ? c.sys : `${c.lang} ${c.op}`;
}

/** The issue's figures, checked on one case (the C write loop by default). */
function checksFor(records, caseId) {
  const get = (v) => find(records, caseId, v);
  const bare = get('bare');
  const out = [];
  const ok = (r) => r && !r.skipped && r.median !== null;
  const preload = get('preload');
  const fiu = get('fiu');
  const seccomp = get('seccomp');
  const strace = get('strace');
  const unnamed = get('seccomp-unnamed');
  const clip = (t) => (t.length > 90 ? `${t.slice(0, 87)}...` : t);
  const missing = (r, v) => (!r ? `${v} not run` : r.skipped ? `${v} skipped: ${clip(r.skipped)}` : `${v} failed: ${clip(r.failures.at(-1) ?? '?')}`);
  const notIntercepted = (r) => r.intercepted !== null && r.intercepted < r.iters * r.threads;

  if (preload) {
    if (!ok(preload) || !ok(bare)) out.push({ id: 'preload-1.05', pass: false, detail: missing(ok(bare) ? preload : bare, ok(bare) ? 'preload' : 'bare') });
    else if (notIntercepted(preload)) out.push({ id: 'preload-1.05', pass: false, detail: `the rule was not exercised: ${preload.intercepted} of ${preload.iters} calls intercepted` });
    else out.push({ id: 'preload-1.05', pass: preload.ratio <= 1.05, value: preload.ratio, detail: `preload ${fmtNs(preload.median)} vs bare ${fmtNs(bare.median)}: ${preload.ratio.toFixed(3)}x (ratio of the medians: ${preload.ratioOfMedians.toFixed(3)}x); limit 1.05x` });
  }
  if (preload && fiu) {
    if (!ok(preload) || !ok(fiu)) out.push({ id: 'preload-fiu', pass: false, detail: missing(ok(fiu) ? preload : fiu, ok(fiu) ? 'preload' : 'fiu-run') });
    else out.push({ id: 'preload-fiu', pass: preload.median < fiu.median, detail: `preload ${fmtNs(preload.median)} vs fiu-run -x ${fmtNs(fiu.median)} per call (fiu-run / preload: ${fmtRatio(fiu.median / preload.median)})`, value: fiu.median / preload.median });
  }
  if (seccomp && strace) {
    if (!ok(seccomp) || !ok(strace)) out.push({ id: 'seccomp-strace', pass: false, detail: missing(ok(strace) ? seccomp : strace, ok(strace) ? 'seccomp' : 'strace') });
    else if (notIntercepted(seccomp)) out.push({ id: 'seccomp-strace', pass: false, detail: `the rule was not exercised: ${seccomp.intercepted} of ${seccomp.iters} calls intercepted` });
    else {
      const x = strace.median / seccomp.median;
      const added = seccomp.median - bare.median;
      const ov = added > 0 && strace.median > bare.median ? `${((strace.median - bare.median) / added).toFixed(1)}x` : 'n/a';
      out.push({ id: 'seccomp-strace', pass: x >= 20, detail: `seccomp notified ${fmtNs(seccomp.median)} vs strace ${fmtNs(strace.median)} per call: ${x.toFixed(1)}x cheaper (added cost only: ${ov}); limit 20x`, value: x });
    }
  }
  if (unnamed) {
    if (!ok(unnamed) || !ok(bare)) out.push({ id: 'unnamed-1.05', pass: false, detail: missing(ok(bare) ? unnamed : bare, ok(bare) ? 'seccomp-unnamed' : 'bare') });
    else {
      const floor = get('seccomp-floor');
      const floorText = ok(floor) ? `; a seccomp filter alone, without sysfault: ${fmtNs(floor.median)} (${fmtRatio(floor.ratio)})` : '';
      out.push({ id: 'unnamed-1.05', pass: unnamed.ratio <= 1.05, value: unnamed.ratio, detail: `not named ${fmtNs(unnamed.median)} vs bare ${fmtNs(bare.median)}: ${unnamed.ratio.toFixed(3)}x (ratio of the medians: ${unnamed.ratioOfMedians.toFixed(3)}x)${floorText}; limit 1.05x` });
    }
  }
  return out;
}

const CHECK_TITLES = {
  'preload-1.05': 'preload pass-through ≤ 1.05x bare',
  'preload-fiu': 'preload pass-through faster than fiu-run -x',
  'seccomp-strace': 'seccomp notified ≥ 20x cheaper than strace (ptrace)',
  'unnamed-1.05': 'syscall the plan does not name ≤ 1.05x bare (seccomp)',
};

/** Headline checks (C write) and the same checks on every other loop. */
export function computeChecks(micro) {
  const headline = checksFor(micro.records, 'c-write').map((c) => ({ ...c, title: CHECK_TITLES[c.id], case: 'c-write' }));
  const others = [];
  for (const c of micro.cases) {
    if (c.id === 'c-write' || (c.group !== 'syscalls' && c.group !== 'langs')) continue;
    for (const chk of checksFor(micro.records, c.id)) others.push({ ...chk, title: CHECK_TITLES[chk.id], case: c.id, caseTitle: `${c.lang} ${c.op}` });
  }
  return { headline, others };
}

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function passFail(p) {
  return p ? '**PASS**' : '**FAIL**';
}

function machineLine(m) {
  return `${m.cpu ?? 'unknown CPU'}, ${m.cores} cores, ${m.memoryGiB} GiB; Linux ${m.kernel}; Node ${m.node}, Go ${m.go ?? 'n/a'}, rustc ${m.rustc ?? 'n/a'}, strace ${m.strace ?? 'n/a'}, fiu-utils ${m.fiu ?? 'n/a'}`;
}

/** The markdown report. `svgName`: the chart's file name beside the markdown, or null. */
export function markdown(report, { svgName = 'overhead.svg' } = {}) {
  const { micro, workload, checks, machine } = report;
  const r = micro.records;
  const out = [];
  out.push(`Measured ${report.date} with \`${report.command}\` (${report.rounds} alternated rounds; median of rounds).`);
  out.push('');
  out.push(`Machine: ${machineLine(machine)}.`);
  out.push('');
  const bg = report.background ?? {};
  const bgText = Object.entries(bg)
    .map(([k, v]) => `${(v * 100).toFixed(0)}% during the ${k === 'micro' ? 'loops' : 'workload'}`)
    .join(', ');
  if (bgText) {
    out.push(`Other processes on the machine used ${bgText} (share of all CPU time).`);
    out.push('');
  }
  if (Object.values(bg).some((v) => v > 0.1)) {
    out.push(
      '**Note:** the machine was not idle during this run. On this VM the cost of waking another task ' +
        '(ptrace stops, seccomp notifications without a same-CPU wake-up) depends on whether the other CPU is idle: ' +
        'strace measures several times cheaper when the CPUs are kept busy by other work. Figures are noisier than on an idle machine.',
    );
    out.push('');
  }
  out.push('### Headline checks (C loop, one-byte `write` to /dev/null)');
  out.push('');
  out.push(table(['check', 'figures', 'result'], checks.headline.map((c) => [c.title, c.detail, passFail(c.pass)])));
  out.push('');
  if (svgName) {
    out.push(`![overhead ratios per engine and syscall](${svgName})`);
    out.push('');
  }
  out.push('### Pass-through cost per syscall (C loop, 1 thread)');
  out.push('');
  out.push('Time per call measured inside the target (start-up excluded), median of the rounds; in brackets the ratio to bare (median over the rounds of the variant / the same round\'s bare figure).');
  out.push('');
  const header = ['syscall', ...COLUMNS.map((v) => COLUMN_TITLES[v])];
  out.push(table(header, micro.cases.filter((c) => c.group === 'syscalls').map((c) => [`\`${c.sys}\``, ...COLUMNS.map((v) => cell(find(r, c.id, v)))])));
  out.push('');
  out.push('### The same on other programs (`write` to /dev/null)');
  out.push('');
  out.push(table(['program', ...COLUMNS.map((v) => COLUMN_TITLES[v])], micro.cases.filter((c) => c.group === 'langs').map((c) => [`${c.lang} (\`${c.program}\`)`, ...COLUMNS.map((v) => cell(find(r, c.id, v)))])));
  out.push('');
  out.push('n/a: not applicable (LD_PRELOAD never sees Go or static binaries, so neither preload nor fiu-run can act on them). skipped: the tool or engine was not available (see latest.json).');
  out.push('');
  const firing = micro.cases.find((c) => c.group === 'firing');
  if (firing) {
    out.push('### Cost of a rule that fires on every call (C loop, `write`)');
    out.push('');
    out.push(table(['variant', 'per call', 'ratio to bare'], firing.variants.map((v) => {
      const rec = find(r, firing.id, v);
      return [rec.label, rec.skipped ? `n/a (${rec.skipped})` : rec.median === null ? 'failed' : fmtNs(rec.median), v === 'bare' ? '1.00x' : fmtRatio(rec.ratio)];
    })));
    out.push('');
    out.push('errno: the call fails with EIO without reaching the kernel; delayMs 0: the delay path is taken and the call proceeds. Every fault is counted and logged (the fault log drops entries past its capacity; counts stay exact).');
    out.push('');
  }
  const scaling = micro.cases.filter((c) => c.group === 'scaling');
  if (scaling.length) {
    out.push('### Thread scaling (C loop, `write`, rule never fires)');
    out.push('');
    out.push('Per call, per thread (each thread times its own loop; 2 cores, so past 2 threads the threads share them).');
    out.push('');
    const total = (rec) => (rec?.median ? `${((c) => (c >= 1e6 ? `${(c / 1e6).toPrecision(3)}M` : `${Math.round(c / 1000)}k`))((rec.threads * 1e9) / rec.median)} calls/s` : 'n/a');
    out.push(
      table(
        ['threads', 'bare', 'preload', 'seccomp notified', 'seccomp notified, all threads together'],
        scaling.map((c) => [String(c.threads), ...['bare', 'preload', 'seccomp'].map((v) => cell(find(r, c.id, v))), total(find(r, c.id, 'seccomp'))]),
      ),
    );
    out.push('');
    out.push('The seccomp engine answers a run\'s notifications from one supervisor thread, so notified calls are served one at a time: their total rate stays flat as threads are added.');
    out.push('');
  }
  if (workload) {
    out.push(`### Workload: Go net/http server under load (seccomp engine)`);
    out.push('');
    if (workload.skipped) {
      out.push(`Not run: ${workload.skipped}`);
    } else {
      out.push(
        `${workload.server}; autocannon, ${workload.connections} connections, loopback; phases alternated for ` +
          `${workload.rounds ?? 1} round(s) of ${workload.phaseSec} s, a fresh server each time; req/s: median of the rounds, ` +
          'latencies: all responses of the phase pooled.',
      );
      out.push('');
      const bare = workload.phases.find((p) => p.name === 'bare' && !p.error);
      const rows = workload.phases.map((p) =>
        p.error
          ? [p.name, planText(p.plan), 'failed', '', '', '', p.error]
          : [
              p.name,
              planText(p.plan),
              `${p.reqPerSec.toLocaleString('en-US')}${bare ? ` (${fmtRatio(p.reqPerSec / bare.reqPerSec)})` : ''}`,
              `${p.p50Ms.toFixed(2)} ms`,
              `${p.p99Ms.toFixed(2)} ms`,
              `${p.non2xx} (${(p.errorRate * 100).toFixed(2)}%)`,
              faultsText(p),
            ],
      );
      out.push(table(['phase', 'plan', 'req/s (vs bare)', 'p50', 'p99', 'non-2xx', 'intercepted by sysfault (last run)'], rows));
      out.push('');
      out.push(
        'unnamed: the plan names only fsync, which the server never makes. pass-through: every read and write is ' +
          'notified to the supervisor and proceeds. error: a request reads item.json twice (data, then end of file), ' +
          'so about 1 - 0.95² ≈ 9.75% of requests see EIO and answer 500.',
      );
      out.push('');
      const rec = workload.recovery;
      if (rec?.error) out.push(`Recovery after disarm: failed: ${rec.error}`);
      else if (rec)
        out.push(
          `Recovery after \`handle.disarm()\` (plan: ${planText(rec.plan)}): p99 was ${rec.p99BeforeDisarmMs.toFixed(1)} ms under faults. ` +
            `The last response delayed by a fault decided before the disarm completed **${rec.lastDelayedResponseMs.toFixed(0)} ms** after it; ` +
            `p99 per 100 ms window was back under ${rec.thresholdMs.toFixed(2)} ms (1.5x the ${rec.baseline} phase's p99, at least +1 ms) ` +
            `from **${rec.recoveryMs.toFixed(0)} ms** after the disarm on (${rec.p99AfterRecoveryMs.toFixed(2)} ms from then on); ` +
            `delays decided after the disarm: ${rec.delayedAfterDisarm ?? 'n/a'}.`,
        );
      out.push('');
    }
  }
  if (checks.others.length) {
    out.push('### The same checks on the other loops');
    out.push('');
    const ids = Object.keys(CHECK_TITLES);
    const loops = [...new Set(checks.others.map((c) => c.case))];
    const short = { 'preload-1.05': 'x', 'preload-fiu': 'x fiu/preload', 'seccomp-strace': 'x cheaper', 'unnamed-1.05': 'x' };
    out.push(
      table(
        ['loop', ...ids.map((id) => CHECK_TITLES[id])],
        loops.map((id) => {
          const row = checks.others.filter((c) => c.case === id);
          return [
            row[0].caseTitle,
            ...ids.map((cid) => {
              const c = row.find((x) => x.id === cid);
              if (!c) return 'n/a';
              const digits = { 'preload-1.05': 3, 'preload-fiu': 2, 'seccomp-strace': 1, 'unnamed-1.05': 3 }[cid];
              const v = c.value === undefined ? '' : ` (${c.value.toFixed(digits)}${short[cid]})`;
              return `${c.pass ? 'PASS' : 'FAIL'}${v}`;
            }),
          ];
        }),
      ),
    );
    out.push('');
    out.push(
      'Figures for each are in latest.json (`checks.others`). fsync and connect cost tens of µs per call: there preload, ' +
        'fiu-run and the not-named cases all sit within run-to-run noise of bare, and their PASS/FAIL follows the noise.',
    );
    out.push('');
  }
  out.push('### How it is measured');
  out.push('');
  out.push(
    [
      '- Each loop program times its own calls (`loop OP ok <ns per call>`), so process start-up and sysfault\'s set-up are excluded.',
      `- Variants run alternated (A B C A B C ...) for ${report.rounds} rounds; figures are medians of the rounds; a ratio is the median over the rounds of (variant / bare of the same round). latest.json also has every run, the per-round ratios and the ratio of the medians.`,
      '- Iteration counts are calibrated so a run takes about ' + report.targetMs + ' ms; variants costing about as much as bare run exactly the bare count.',
      '- "rule never fires": a rule on the loop\'s syscall whose filter never matches (`path: "**/never-matches"`; for connect `addr: "127.0.0.2:9"`), so every call goes through the engine\'s matching and counting and proceeds.',
      '- "syscall not named": the plan names only `fdatasync`, which the loop never calls. "a seccomp filter alone": bench/tools/seccomp-floor.c installs a filter of the same shape (arch check, syscall list naming fdatasync, allow the rest) and execs the loop, without sysfault: what the kernel charges any seccomp-filtered process per syscall.',
      '- strace: `strace -f -e trace=<syscall> -o /dev/null` (with `--seccomp-bpf` for the second column). fiu-run: `fiu-run -x -f "" -c "enable_random name=<posix point>,probability=0"`: the wrapper is on and checks its failure point on every call but never fails.',
      '- strace here is 6.1: with `--seccomp-bpf -f`, threads created after start are stopped on every syscall, so it is no cheaper than plain ptrace on these loops (their calls run in a pthread/goroutine).',
    ].join('\n'),
  );
  out.push('');
  return out.join('\n');
}

function planText(plan) {
  if (!plan) return 'none';
  return plan.rules
    .map((rule) => {
      const parts = [rule.syscalls.join('/')];
      if (rule.path) parts.push(`path ${rule.path}`);
      if (rule.fd) parts.push(`fd ${rule.fd}`);
      if (rule.probability !== undefined) parts.push(`p=${rule.probability}`);
      const [k, v] = Object.entries(rule.action)[0];
      parts.push(`${k} ${v}`);
      return `\`${parts.join(', ')}\``;
    })
    .join('; ');
}

function faultsText(p) {
  const counts = p.sysfault?.counts;
  if (!counts) return p.sysfault?.error ? `(result: ${p.sysfault.error})` : '';
  return Object.entries(counts)
    .map(([sys, c]) => `${sys}: ${c.calls.toLocaleString('en-US')} calls, ${c.faulted} faulted, ${c.delayed} delayed`)
    .join('; ');
}

/** The vega-lite spec of the overhead chart. */
export function chartSpec(report) {
  const { micro, machine } = report;
  const cases = micro.cases.filter((c) => c.group === 'syscalls' || c.group === 'langs');
  const values = [];
  for (const c of cases) {
    for (const v of CHART_VARIANTS) {
      const rec = find(micro.records, c.id, v);
      if (!rec || rec.ratio === null || !Number.isFinite(rec.ratio)) continue;
      values.push({ loop: caseTitle(c), variant: SHORT[v], ratio: rec.ratio, ns: rec.median, label: fmtRatio(rec.ratio) });
    }
  }
  const loops = cases.map(caseTitle);
  const top = 10 ** Math.ceil(Math.log10(Math.max(2, ...values.map((v) => v.ratio))));
  const ticks = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000].filter((t) => t <= top);
  const variants = CHART_VARIANTS.map((v) => SHORT[v]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'sysfault: time per syscall relative to the bare program (log scale, lower is better)',
      subtitle: `${machine.cpu ?? ''}, ${machine.cores} cores, Linux ${machine.kernel}; ${report.date.slice(0, 10)}; C loop unless named`,
      anchor: 'start',
    },
    width: 980,
    height: 380,
    data: { values },
    encoding: {
      x: { field: 'loop', type: 'nominal', sort: loops, title: null, axis: { labelAngle: 0, labelFontSize: 11 } },
      xOffset: { field: 'variant', sort: variants },
      y: {
        field: 'ratio',
        type: 'quantitative',
        scale: { type: 'log', domain: [0.5, top], clamp: true, nice: false },
        title: 'time per call / bare',
        axis: { grid: true, format: '~g', values: ticks },
      },
      color: {
        field: 'variant',
        sort: variants,
        title: null,
        scale: { domain: variants, range: ['#2b8a3e', '#1c7ed6', '#74c0fc', '#adb5bd', '#e03131', '#ff8787', '#f59f00'] },
        legend: { orient: 'bottom', columns: 7, symbolType: 'square', labelLimit: 220 },
      },
    },
    layer: [
      {
        mark: { type: 'bar' },
        // bars start at the bottom of the log axis (a log scale has no zero)
        encoding: { y2: { datum: 0.5 }, tooltip: [{ field: 'loop' }, { field: 'variant' }, { field: 'label' }] },
      },
      {
        mark: { type: 'text', angle: 270, align: 'left', dx: 3, fontSize: 8 },
        encoding: { text: { field: 'label' } },
      },
      {
        data: { values: [{ y: 1 }] },
        mark: { type: 'rule', strokeDash: [4, 3], color: '#495057' },
        encoding: { y: { field: 'y', type: 'quantitative' }, x: null, xOffset: null, color: null },
      },
    ],
    config: { font: 'sans-serif', view: { stroke: null } },
  };
}

/** Renders the chart to an SVG string with vega's headless (renderer 'none') view. */
export async function chartSvg(report) {
  const vgSpec = compile(chartSpec(report)).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
