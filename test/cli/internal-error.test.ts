import { describe, expect, it, vi } from 'vitest';
import { cli } from './helpers.js';

vi.mock('../../src/api/inspect.js', () => ({
  inspect: () => {
    throw new TypeError('something broke');
  },
}));

describe('fleetc CLI internal errors', () => {
  it('exit 2 with one line and a FLEETC_DEBUG hint; the stack only with FLEETC_DEBUG=1', async () => {
    const r = await cli(['inspect', 'x.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('fleetc: internal error: something broke (re-run with FLEETC_DEBUG=1 for the stack trace)\n');
    const d = await cli(['inspect', 'x.json'], { env: { FLEETC_DEBUG: '1' } });
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/TypeError: something broke\n\s+at /);
  });
});
