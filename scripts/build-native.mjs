#!/usr/bin/env node
// Builds native/ (fleetrt) with CMake into native/build. Run by `npm install` (prepare) and by CI.
// FLEETRT_SANITIZE=1 builds an ASan/UBSan variant into native/build-asan instead.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const sanitize = process.env.FLEETRT_SANITIZE === '1';
const buildDir = path.join(root, 'native', sanitize ? 'build-asan' : 'build');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root });
  if (r.error) {
    const hint = r.error.code === 'ENOENT' ? ` (install it: apt-get install -y cmake g++)` : '';
    console.error(`build-native: cannot run ${cmd}: ${r.error.message}${hint}`);
    process.exit(1);
  }
  if (r.status !== 0) {
    console.error(`build-native: '${cmd} ${args.join(' ')}' failed with exit code ${r.status}`);
    process.exit(r.status ?? 1);
  }
}

const configure = ['-S', path.join(root, 'native'), '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release'];
// Sanitizer builds: -O1 -g (quick to build, readable reports), and only fleetrt itself.
if (sanitize) configure.push('-DFLEETRT_SANITIZE=ON', '-DCMAKE_BUILD_TYPE=Debug', '-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g');
run('cmake', configure);
const build = ['--build', buildDir, '--parallel', String(Math.max(1, availableParallelism()))];
run('cmake', sanitize ? [...build, '--target', 'fleetrt'] : build);
