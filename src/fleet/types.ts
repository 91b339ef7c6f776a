// A fleet: devices of the target classes (targets/), where they sit (hosts), the links between
// them, and the user's pins.
import type { DeviceSpec } from '../../targets/device.js';
import type { Calibration } from './calibration-format.js';

export {
  DEVICE_CLASSES,
  type Backend,
  type DeviceClass,
  type DeviceSpec,
  type MemoryLevel,
  type OpSupport,
} from '../../targets/device.js';

export interface Device extends DeviceSpec {
  host: string;
  preset?: string;
  /** The device's attachment to its host (PCIe …); absent for a host CPU, whose memory is the host's. */
  hostLink?: { bandwidth: number; latency: number; kind: string };
}

export interface Link {
  id: string;
  /** Device ids or host names. */
  between: [string, string];
  /** Bytes per second, each direction. */
  bandwidth: number;
  /** Seconds. */
  latency: number;
  kind: string;
}

export interface Pin {
  /** Regular expression matched against op names and op types. */
  match: string;
  device: string;
  /** true: the op must NOT go to this device. */
  forbid: boolean;
  /** Where the pin was written (fleet file or command line). */
  origin: string;
}

export interface Fleet {
  name: string;
  /** The file it was read from ('' for the built-in local fleet). */
  file: string;
  hosts: string[];
  devices: Device[];
  links: Link[];
  pins: Pin[];
  /** Measured costs of these devices and links (`fleetc compile --calibration`); the datasheet's figures without. */
  calibration?: Calibration;
}
