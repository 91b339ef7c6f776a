// The partition report: text, JSON and the HTML page rendered in headless Chromium.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadOnnx } from '../../src/frontends/onnx/index.js';
import { loadFleet } from '../../src/fleet/index.js';
import { resolvePipeline, runPipeline } from '../../passes/driver.js';
import { partition } from '../../passes/partition/index.js';
import { newPassContext } from '../../passes/pass.js';
import { buildReport, readReport, renderReportText, writeReport, type Report } from '../../src/report/index.js';
import { foldPath } from '../../src/report/text.js';
import { REPO } from '../paths.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const PIPELINE = 'infer-shapes,fold,dce,cse,partition{objective=latency}';

function reportFor(model: string, fleetName: string): Report {
  const graph = loadOnnx(join(REPO, 'fixtures/models', model, 'model.onnx'));
  const ctx = newPassContext();
  runPipeline(graph, resolvePipeline('infer-shapes,fold,dce,cse'), ctx);
  const fleet = loadFleet(join(REPO, 'fixtures/fleets', `${fleetName}.yaml`));
  const r = partition(graph, fleet, ctx.dims, 'latency');
  return buildReport({ graph, fleet, partition: r, model, pipeline: PIPELINE, dims: ctx.dims });
}

describe('partition report', () => {
  let report: Report;
  let dir: string;
  beforeAll(async () => {
    // A model the cost model splits (tiny_vit and the tiny GPT decoder stay on the cpu:
    // per-message costs outweigh what the accelerators would save on them).
    report = reportFor('llama_kv_gqa', 'cpu-gpu-ipu');
    dir = mkdtempSync(join(tmpdir(), 'fleetc-report-'));
    await writeReport(dir, report);
  });

  it('accounts for every op, device and cut edge', () => {
    const ops = report.devices.reduce((s, d) => s + d.ops, 0);
    expect(ops).toBe(report.ops.length);
    const cuts = report.edges.filter((e) => e.cut);
    expect(cuts.length).toBeGreaterThan(0);
    for (const e of cuts) expect(report.channels.some((c) => c.value === e.value || c.from !== c.to)).toBe(true);
    expect(report.criticalPath.length).toBeGreaterThan(0);
    for (const o of report.ops) expect(['compute', 'memory', 'latency']).toContain(o.bound);
  });

  it('prints devices, links, the critical path and names emulated devices', () => {
    const text = renderReportText(report);
    for (const d of report.devices) expect(text).toContain(d.id);
    expect(text).toMatch(/emulated\s+.*gpu0.*ipu0/);
    expect(text).toContain('critical path');
    for (const l of report.links) expect(text).toContain(l.id);
  });

  it('folds a long critical path by scope and elides its middle', () => {
    const block = (b: number, n: number): string[] => Array.from({ length: n }, (_, i) => `/blocks.${b}/op_${i}`);
    expect(foldPath(['/Shape', ...block(0, 40), '/a/x', '/a/y', '/a/z', 'Conv_3', ...block(1, 4)])).toEqual([
      '/Shape',
      '/blocks.0/… (40 segments)',
      '/a/x',
      '/a/y',
      '/a/z',
      'Conv_3',
      '/blocks.1/… (4 segments)',
    ]);
    const flat = Array.from({ length: 30 }, (_, i) => `node_${i}`);
    const folded = foldPath(flat);
    expect(folded).toEqual([...flat.slice(0, 16), '… 8 more …', ...flat.slice(24)]);
    expect(renderReportText(report)).toMatch(/critical path \(\d+ segments, \d+ ops\)/);
  });

  it('round-trips through report.json', () => {
    expect(readReport(dir)).toEqual(JSON.parse(JSON.stringify(report)));
  });

  it.skipIf(!existsSync(CHROMIUM))('renders in headless Chromium (needs Debian chromium)', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(join(dir, 'report.html')).href);
      expect(await page.locator('#graph g.node').count()).toBe(report.ops.length);
      expect(await page.locator('#graph polyline.cut').count()).toBeGreaterThan(0);
      const classes = new Set(report.devices.map((d) => d.class));
      expect(await page.locator('svg.roofline').count()).toBe(classes.size);
      expect(await page.locator('#timeline rect.task').count()).toBe(report.timeline.segments.length);
      const box = await page.locator('#graph').boundingBox();
      expect(box!.width).toBeGreaterThan(100);
      const title = await page.locator('#graph g.node title').first().textContent();
      expect(title).toMatch(/ on (cpu0|gpu0|ipu0): /);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
