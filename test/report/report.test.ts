/// <reference lib="dom" />
// The HTML reports, opened in real headless Chromium from disk: what a person sees of a real sweep (the Go
// store with its planted ack-before-fsync bug), a real scenario catalogue and a real topology run (the example
// Go API in front of the Rust store, killed and restarted mid-load). Screenshots are kept in test/.output/report.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crashSweep, runCatalogue, runTopology, samplePoints, type CatalogueReport, type SweepReport, type TopologyResult } from '../../src/index.js';
import { renderCataloguePage } from '../../src/report/catalogue-page.js';
import { renderSweepPage } from '../../src/report/sweep-page.js';
import { renderTopologyPage } from '../../src/report/topology-page.js';
import { browserSkipReason, openPage, outputDir } from './browser.js';
import { fixture } from '../helpers.js';

const root = join(import.meta.dirname, '..', '..');
const out = outputDir('report');

/** Writes a page, opens it, runs `check`, keeps a full-page screenshot, and checks it fetched nothing. */
async function inBrowser(name: string, html: string, check: (page: Awaited<ReturnType<typeof openPage>>['page']) => Promise<void>): Promise<void> {
  const file = join(out, `${name}.html`);
  writeFileSync(file, html);
  const opened = await openPage(file);
  try {
    await check(opened.page);
    await opened.page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
    expect(opened.foreignRequests).toEqual([]);
    expect(opened.errors).toEqual([]);
  } finally {
    await opened.close();
  }
}

describe.skipIf(browserSkipReason !== undefined)(`HTML reports in Chromium${browserSkipReason ? ` (skipped: ${browserSkipReason})` : ''}`, () => {
  let sweep: SweepReport;
  let stateSweep: SweepReport;
  let catalogue: CatalogueReport;
  let topology: TopologyResult;

  beforeAll(async () => {
    const binary = fixture('go/walkv-static');
    const tornwal = fixture('go/tornwal-static');
    [sweep, stateSweep, catalogue, topology] = await Promise.all([
      crashSweep({
        command: binary,
        args: ['work', '.', '8', '--bug', 'ack-before-fsync'],
        verify: `${binary} check . "$SYSFAULT_SWEEP_STDOUT"`,
        calls: ['fsync'],
        powercut: '*',
        sample: 10,
        seed: 5,
        jobs: 2,
      }),
      // crash states (docs/crash-consistency.md): strict recovery of a torn log record fails, explained
      crashSweep({
        command: tornwal,
        args: ['work', '.', '4'],
        verify: `${tornwal} check . "$SYSFAULT_SWEEP_STDOUT" --recovery strict`,
        calls: ['fsync'],
        powercut: '*',
        states: 16,
        seed: 7,
        engine: 'seccomp',
        jobs: 2,
      }),
      runCatalogue([join(root, 'examples', 'scenarios'), join(root, 'test', 'fixtures', 'scenarios', 'wrong-expectation.yaml')], { jobs: 2 }),
      runTopology(join(root, 'examples', 'topology', 'kv.yaml'), { timeoutMs: 30_000 }),
    ]);
  });

  afterAll(async () => {
    const { rmSync } = await import('node:fs');
    for (const r of catalogue?.scenarios ?? []) if (r.keptDir) rmSync(r.keptDir, { recursive: true, force: true });
    if (topology?.dir) rmSync(topology.dir, { recursive: true, force: true });
  });

  it('a sweep: the crash points as a grid coloured by verdict; a failed cell opens its verify output and replay', async () => {
    const failedPoints = sweep.failed.map((f) => f.point);
    expect(failedPoints).toEqual([3, 4, 9, 14, 15]);
    const tried = new Set(samplePoints(15, 10, 5n));
    await inBrowser('sweep', renderSweepPage(sweep), async (page) => {
      expect(await page.locator('#verdict').textContent()).toBe('5 of 10 crash points did not recover');
      const cells = await page.locator('#grid rect.cell').evaluateAll((rects) =>
        rects.map((r) => {
          const box = r.getBoundingClientRect();
          const seen = document.elementFromPoint(box.x + 3, box.y + 3);
          return { point: Number(r.getAttribute('data-point')), fill: getComputedStyle(r).fill, visible: seen === r || r.parentNode?.contains(seen) === true };
        }),
      );
      expect(cells).toHaveLength(15);
      for (const c of cells) {
        const expected = failedPoints.includes(c.point) ? 'rgb(214, 40, 40)' : tried.has(c.point) ? 'rgb(43, 147, 72)' : 'rgb(213, 219, 225)';
        expect({ point: c.point, fill: c.fill, visible: c.visible }).toEqual({ point: c.point, fill: expected, visible: true });
      }
      // the failures are listed, closed; clicking point 9's cell opens it
      expect(await page.locator('details.failure').count()).toBe(5);
      expect(await page.locator('details.failure[open]').count()).toBe(0);
      await page.locator('#grid a[href="#point-9"]').click();
      const opened = page.locator('details#point-9');
      await expect.poll(() => opened.getAttribute('open')).toBe('');
      const failure = sweep.failed.find((f) => f.point === 9);
      expect(await opened.locator('pre.verify-output').textContent()).toBe(failure?.verifyOutput);
      expect(await opened.locator('pre.command').innerText()).toBe(failure?.replay);
      expect(await opened.locator('pre.command').isVisible()).toBe(true);
      expect(await opened.locator('table.faults td').allInnerTexts()).toEqual(expect.arrayContaining(['fsync', 'kill:SIGKILL', 'crash-at-9']));
      expect(await opened.innerText()).toContain('restored to their last sync');
    });
  });

  it('a sweep with crash states: the state, what persisted and was dropped, the culprit and the explanation are shown', async () => {
    const torn = stateSweep.failed.find((f) => f.state?.kind === 'torn');
    if (!torn?.state || !torn.explanation) throw new Error(`no explained torn state among ${stateSweep.failed.length} failures`);
    expect(stateSweep.states).toBeGreaterThan(stateSweep.tried);
    await inBrowser('sweep-states', renderSweepPage(stateSweep), async (page) => {
      expect(await page.locator('[data-card="crash states verified"] .v').innerText()).toBe(String(stateSweep.states));
      expect(await page.locator('[data-card="file-system model"] .v').innerText()).toBe('posix');
      const failedCells = await page.locator('#grid rect.cell[data-verdict="fail"]').evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('data-point'))));
      expect(failedCells).toEqual([...new Set(stateSweep.failed.map((f) => f.point))]);
      const details = page.locator(`details.failure[data-point="${torn.point}"]`, { hasText: `state ${torn.state?.index}: torn` });
      await details.locator('summary').click();
      const text = await details.innerText();
      expect(text).toContain(torn.explanation ?? '');
      expect(text).toMatch(/kind\s+torn/);
      for (const change of [...(torn.state?.dropped ?? []), ...(torn.state?.culprit ?? [])]) expect(text).toContain(change);
      expect(text).toContain(torn.replay);
      expect(torn.replay).toContain(`--state ${torn.state?.index}`);
    });
  });

  it('a catalogue: the scenario x seed matrix and the table; a failed run opens what differed', async () => {
    const failed = catalogue.scenarios.map((r, i) => ({ r, i })).filter(({ r }) => !r.passed);
    expect(failed.map(({ r }) => r.name)).toEqual(['wrong-expectation']);
    await inBrowser('catalogue', renderCataloguePage(catalogue), async (page) => {
      expect(await page.locator('#verdict').textContent()).toBe(`1 of ${catalogue.scenarios.length} runs failed`);
      const cells = await page.locator('#matrix rect.run-cell').evaluateAll((rects) => rects.map((r) => ({ result: r.getAttribute('data-result'), fill: getComputedStyle(r).fill })));
      expect(cells).toHaveLength(catalogue.scenarios.length);
      expect(cells.filter((c) => c.fill === 'rgb(214, 40, 40)').map((c) => c.result)).toEqual(['fail']);
      expect(cells.filter((c) => c.fill === 'rgb(43, 147, 72)')).toHaveLength(catalogue.scenarios.length - 1);
      expect(await page.locator('table.runs tbody tr').count()).toBe(catalogue.scenarios.length);
      expect(await page.locator('table.runs tr.row-fail').innerText()).toMatch(/^wrong-expectation\s+3\s+FAIL/);
      const index = failed[0]?.i;
      await page.locator(`#matrix a[href="#run-${index}"]`).click();
      const details = page.locator(`details#run-${index}`);
      await expect.poll(() => details.getAttribute('open')).toBe('');
      const rows = await details.locator('table.checks tbody tr').allInnerTexts();
      expect(rows).toEqual(expect.arrayContaining([expect.stringMatching(/^differs\s+exit\s+exit 0\s+exit 1$/), expect.stringMatching(/^differs\s+counts fsync\.faulted\s+== 0\s+1$/)]));
      expect(await details.locator('pre.command').innerText()).toBe(failed[0]?.r.rerun);
      expect(await details.innerText()).toContain('fsync data-0.bin err EIO');
    });
  });

  it('a topology: lanes for the services and the workload, fault, kill and restart markers, errors and latency', async () => {
    const faults = topology.timeline.filter((e) => e.kind === 'fault');
    const errors = topology.samples.filter((s) => !s.ok).length;
    expect(faults.length).toBeGreaterThan(0);
    await inBrowser('topology', renderTopologyPage(topology), async (page) => {
      expect(await page.locator('#timeline g.lane').evaluateAll((lanes) => lanes.map((l) => l.getAttribute('data-service')))).toEqual(['store.0', 'api.0', 'workload']);
      expect(await page.locator('#timeline g.lane[data-service="store.0"] rect.incarnation:not(.starting)').count()).toBe(2);
      const markers = await page.locator('#timeline path.marker.fault').evaluateAll((ms) => ms.map((m) => `${m.getAttribute('data-service')} ${m.getAttribute('data-action')}`));
      expect(markers).toEqual(faults.map((e) => `${e.serviceId} ${e.fault?.action}`));
      expect(markers.every((m) => m === 'store.0 errno:EIO')).toBe(true);
      expect(await page.locator('#timeline .marker.kill[data-service="store.0"]').count()).toBe(1);
      expect(await page.locator('#timeline .marker.restart[data-service="store.0"]').count()).toBe(1);
      const barErrors = await page.locator('#timeline rect.err-bar').evaluateAll((bars) => bars.reduce((n, b) => n + Number(b.getAttribute('data-errors')), 0));
      expect(barErrors).toBe(errors);
      expect(await page.locator('#timeline circle.req-error').count()).toBe(errors);
      expect(await page.locator('#timeline rect.window').count()).toBe(topology.metrics.windows.length);
      const box = await page.locator('#timeline').boundingBox();
      expect(box?.width).toBeGreaterThan(1000);
      expect(await page.locator('table.services tbody tr').count()).toBe(3);
      expect(await page.locator('[data-card="faults injected"] .v').innerText()).toBe(String(faults.length));
    });
  });
});
