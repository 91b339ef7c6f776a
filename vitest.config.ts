import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // The cpu class describes the machine it runs on (targets/cpu/host.ts); tests price it with one
    // fixed host profile so that plans are the same on every machine (test/runtime/host.test.ts
    // measures the real one).
    env: { FLEETC_HOST_PROFILE: resolve(import.meta.dirname, 'test/host-profile.json') },
  },
});
