import type { DeviceClassRoofline } from '../analysis/roofline.js';
import type { Device, DeviceClass } from '../../src/fleet/types.js';

/** Lanes a device class must fill before an op stops being latency-bound (nominal). */
const LANES: Record<DeviceClass, number> = {
  cpu: 16,
  gpu: 132 * 128,
  ipu: 1472 * 6,
  hpu: 24 * 256,
  npu: 4096,
  dataflow: 8192,
};

/** A fleet device as the roofline sees it: its peaks, level-0 bandwidth and launch overhead. */
export function deviceRoofline(d: Device): DeviceClassRoofline {
  const peaks = Object.values(d.compute).filter((v): v is number => v !== undefined);
  return {
    name: d.id,
    description: `${d.class}${d.preset ? ` (${d.preset})` : ''}`,
    peakFlops: { ...d.compute, default: d.compute.float32 ?? Math.min(...peaks) },
    memBandwidth: d.memory[0]!.bandwidth,
    launchOverhead: d.launchOverhead,
    parallelism: d.class === 'cpu' ? LANES.cpu * d.threads : LANES[d.class],
  };
}
