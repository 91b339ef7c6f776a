/**
 * fleetc.PagedAttention, the kernel as the engine calls it, against a float64 reference
 * (native/tests/paged_check.cpp): decode steps whose long contexts are split over the threads and
 * merged (next to short sequences whose later ranges are empty), prefill chunks, shuffled page
 * tables, the three layouts, grouped query heads, head sizes with and without vector tails, and
 * float32/float16/bfloat16 caches, short decode contexts cut into groups of KV heads instead; with
 * each kernel-code variant, on 1, 2 and 4 threads (more threads: more ranges and head groups).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findFleetrt, haveFleetrt } from '../../runtime/fleetrt.js';
import { SIMD_VARIANTS } from '../helpers/simd-variants.js';

const check = haveFleetrt() ? join(dirname(findFleetrt()), 'fleetrt_paged_check') : '';

describe.skipIf(!check || !existsSync(check))('paged attention kernel against a float64 reference', () => {
  for (const [variant, env] of SIMD_VARIANTS)
    it(`${variant}: every case within its tolerance on 1, 2 and 4 threads`, () => {
      for (const threads of [1, 2, 4]) {
        const r = spawnSync(check, [String(threads)], { encoding: 'utf8', env: { ...process.env, ...env } });
        const lines = r.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { case: string; ok: boolean; max_abs_err: number; error?: string });
        expect(lines.length, r.stderr).toBe(8);
        for (const l of lines) expect(l.ok, `${l.case} on ${threads} threads: ${l.error ?? l.max_abs_err}`).toBe(true);
        expect(r.status).toBe(0);
      }
    });
});
