/**
 * The native intra-op thread pool (native/tests/pool_check.cpp): every index of a parallel_for
 * runs exactly once on 1, 2 and 4 threads (even and uneven chunk counts, nested calls), and a
 * polling pool whose two threads are pinned to one CPU stops polling once they keep waiting for
 * it (docs/runtime.md, "Devices in one process share the host's cores").
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findFleetrt, haveFleetrt } from '../../runtime/fleetrt.js';

const check = haveFleetrt() ? join(dirname(findFleetrt()), 'fleetrt_pool_check') : '';

describe.skipIf(!check || !existsSync(check))('intra-op thread pool', () => {
  it('covers every index once and stops polling when its threads share a CPU', () => {
    const r = spawnSync(check, [], { encoding: 'utf8', timeout: 60_000 });
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { case: string; ok: boolean; detail: string });
    expect(lines.length, r.stderr).toBe(18);
    for (const l of lines) expect(l.ok, `${l.case}: ${l.detail}`).toBe(true);
    expect(lines.at(-1)!.case).toBe('contention');
    expect(r.status).toBe(0);
  });
});
