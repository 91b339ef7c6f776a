// `fleetc report BUILD`: the partition report a compile wrote, optionally with a run's measured
// figures beside the predicted ones.
import { writeFileSync } from 'node:fs';
import { readReport, renderReportHtml, renderReportText, type Report, type Style } from '../report/index.js';
import { readMetrics, renderMeasured, type Metrics } from '../report/measured.js';

export interface ReportOptions {
  /** A run's metrics.json (fleetc run --metrics): predicted vs measured per device and link. */
  metrics?: string;
  /** Also write the self-contained HTML page to this file. */
  html?: string;
}

export interface ReportView {
  report: Report;
  measured?: Metrics;
  /** The terminal form (with `style` for colour). */
  text(style?: Style): string;
}

export async function report(build: string, opts: ReportOptions = {}): Promise<ReportView> {
  const r = readReport(build);
  if (opts.html) writeFileSync(opts.html, await renderReportHtml(r));
  const measured = opts.metrics ? readMetrics(opts.metrics) : undefined;
  return {
    report: r,
    ...(measured ? { measured } : {}),
    text: (style) => renderReportText(r, style) + (measured ? '\n' + renderMeasured(measured) : ''),
  };
}
