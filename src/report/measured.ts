// Predicted against measured: the plan's figures next to a `fleetrt --metrics` file's.
import { readFileSync } from 'node:fs';
import { FleetcError } from '../diagnostics/index.js';
import { bytes, seconds, table } from '../util/format.js';

interface MetricsDevice {
  name: string;
  emulated: boolean;
  /** busyMsMedian: the median pass (fleetrt ≥ 0.2.1); older files have only the mean. */
  measured: { busyMsPerRequest: number; busyMsMedian?: number; peakBytes: number };
  predicted: { busyMs: number | null; memoryBytes: number | null };
}
export interface Metrics {
  latency: { p50: number };
  predicted: { latencyMs: number | null };
  devices: MetricsDevice[];
  links: { id: string; measuredBytesPerRequest: number; predictedBytes: number }[];
}

export function readMetrics(file: string): Metrics {
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as Metrics;
    if (!Array.isArray(m.devices) || !m.latency) throw new Error('no devices or latency');
    return m;
  } catch (e) {
    throw new FleetcError('E0501', `not a fleetrt metrics file: ${(e as Error).message}`, { file });
  }
}

const err = (measured: number, predicted: number | null): string =>
  predicted && predicted > 0
    ? `${measured >= predicted ? '+' : ''}${((measured / predicted - 1) * 100).toFixed(0)}%`
    : '—';

/**
 * A device's busy time per pass: the median pass where the file has it (as the latency is its p50;
 * a few passes pre-empted by the rest of the machine move the mean far), else the mean.
 */
export const busyMs = (m: { busyMsPerRequest: number; busyMsMedian?: number }): number =>
  m.busyMsMedian !== undefined && m.busyMsMedian > 0 ? m.busyMsMedian : m.busyMsPerRequest;

/** A table per device (busy time and memory per request) and per link, plus end-to-end latency. */
export function renderMeasured(m: Metrics): string {
  const out = ['predicted vs measured (per request)'];
  const lat = m.predicted.latencyMs;
  out.push(
    `  latency: predicted ${lat === null ? '—' : seconds(lat / 1e3)}, measured p50 ${seconds(m.latency.p50 / 1e3)} (${err(m.latency.p50, lat)})`,
  );
  const rows = m.devices.map((d) => [
    `  ${d.name}${d.emulated ? ' (emulated: host kernels)' : ''}`,
    d.predicted.busyMs === null ? '—' : seconds(d.predicted.busyMs / 1e3),
    seconds(busyMs(d.measured) / 1e3),
    err(busyMs(d.measured), d.predicted.busyMs),
    d.predicted.memoryBytes === null ? '—' : bytes(d.predicted.memoryBytes),
    bytes(d.measured.peakBytes),
  ]);
  out.push(
    ...table(['  device', 'busy pred.', 'busy meas.', 'error', 'memory pred.', 'peak meas.'], rows, [
      'l',
      'r',
      'r',
      'r',
      'r',
      'r',
    ]),
  );
  if (m.links.length)
    out.push(
      ...table(
        ['  link', 'bytes pred.', 'bytes meas.', 'error'],
        m.links.map((l) => [
          `  ${l.id}`,
          bytes(l.predictedBytes),
          bytes(l.measuredBytesPerRequest),
          err(l.measuredBytesPerRequest, l.predictedBytes),
        ]),
        ['l', 'r', 'r', 'r'],
      ),
    );
  return out.join('\n') + '\n';
}
