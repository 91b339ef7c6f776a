import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FleetcError } from '../diagnostics/index.js';
import { renderReportHtml } from './html.js';
import { REPORT_VERSION, type Report } from './model.js';
import { renderReportText } from './text.js';

export { buildReport, REPORT_VERSION, type Report, type ReportInput } from './model.js';
export { renderReportText, type Style } from './text.js';
export { renderReportHtml } from './html.js';

/** Writes report.json, report.txt and report.html into a build folder; returns their paths. */
export async function writeReport(dir: string, report: Report): Promise<string[]> {
  const files: [string, string][] = [
    ['report.json', JSON.stringify(report, null, 2) + '\n'],
    ['report.txt', renderReportText(report)],
    ['report.html', await renderReportHtml(report)],
  ];
  for (const [name, text] of files) writeFileSync(path.join(dir, name), text);
  return files.map(([name]) => path.join(dir, name));
}

/** Reads a build folder's report.json (written by compile). */
export function readReport(dir: string): Report {
  const file = path.join(dir, 'report.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new FleetcError(
      'E0501',
      `no report in '${dir}': report.json is missing (is it a fleetc compile output folder?)`,
      { file },
    );
  }
  let r: Report;
  try {
    r = JSON.parse(text) as Report;
  } catch (e) {
    throw new FleetcError('E0501', `report.json is not valid JSON: ${(e as Error).message}`, { file });
  }
  if (r.version !== REPORT_VERSION)
    throw new FleetcError(
      'E0501',
      `report.json has version ${String(r.version)}; this fleetc reads version ${REPORT_VERSION}`,
      { file },
    );
  return r;
}
