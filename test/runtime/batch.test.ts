import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BatchProcess, type BatchJob } from '../../runtime/batch.js';

/** A stand-in for `fleetrt --batch`: passes every job, except 'crash' (SIGSEGV) and 'hang'. */
function fakeFleetrt(): string {
  const p = join(mkdtempSync(join(tmpdir(), 'fleetc-batch-')), 'fake-fleetrt');
  writeFileSync(
    p,
    `#!/usr/bin/env node
const rl = require('node:readline').createInterface({ input: process.stdin });
let hung = false;
rl.on('line', (line) => {
  const job = JSON.parse(line);
  if (hung) return;
  if (job.id === 'crash') process.kill(process.pid, 'SIGSEGV');
  if (job.id === 'hang') { hung = true; setInterval(() => {}, 1000); return; }
  process.stdout.write(JSON.stringify({ id: job.id, status: 'pass', ms: 1 }) + '\\n');
});
rl.on('close', () => {
  if (process.env.FAKE_LEAK) { process.stderr.write('SUMMARY: AddressSanitizer: 8 byte(s) leaked in 1 allocation(s).\\n'); process.exit(23); }
});
`,
  );
  chmodSync(p, 0o755);
  return p;
}

const job = (id: string): BatchJob => ({ id, plan: 'p', inputs: [], expected: [] });

describe('fleetrt batch process', () => {
  it('isolates a crash and a hang to their own job and restarts for the rest', async () => {
    const b = new BatchProcess({ fleetrt: fakeFleetrt(), timeoutMs: 1500 });
    const results = await Promise.all(['a', 'crash', 'b', 'hang', 'c'].map((id) => b.submit(job(id))));
    expect(await b.close()).toBeUndefined();
    expect(results.map((r) => [r.id, r.status])).toEqual([
      ['a', 'pass'],
      ['crash', 'crash'],
      ['b', 'pass'],
      ['hang', 'timeout'],
      ['c', 'pass'],
    ]);
    expect(results[1]!.message).toMatch(/killed by SIGSEGV/);
    expect(b.starts).toBe(3);
  });

  it('reports a process that does not end cleanly after the last job (a sanitizer report at exit)', async () => {
    process.env.FAKE_LEAK = '1';
    try {
      const b = new BatchProcess({ fleetrt: fakeFleetrt() });
      expect((await b.submit(job('a'))).status).toBe('pass');
      expect(await b.close()).toBe(
        'fleetrt exited with status 23 after the last case: SUMMARY: AddressSanitizer: 8 byte(s) leaked in 1 allocation(s).',
      );
    } finally {
      delete process.env.FAKE_LEAK;
    }
  });
});
