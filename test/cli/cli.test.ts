import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../paths.js';
import { tinyDecoder } from '../analysis/graphs.js';
import { cli, writeGraph } from './helpers.js';

const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

describe('fleetc CLI', () => {
  it('--version and --help exit 0', async () => {
    const v = await cli(['--version']);
    expect([v.code, v.stdout.trim()]).toEqual([0, version]);
    const h = await cli(['inspect', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/--dim <name=value>/);
    expect(h.stdout).toMatch(/--json/);
    const top = await cli([]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/inspect/);
  });
  it('bad flags and unknown commands are user errors: exit 1, one line', async () => {
    for (const args of [
      ['inspect', 'x.json', '--bogus'],
      ['frobnicate'],
      ['inspect'],
      ['inspect', 'x.json', '--dim', 'batch'],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/^error\[E0901\]: /);
    }
  });
  it('a missing or malformed model file is a user error naming the file', async () => {
    const r = await cli(['inspect', '/nonexistent/model.json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('/nonexistent/model.json: error[E0101]: cannot read: ENOENT\n');
    const bad = writeGraph(tinyDecoder(), 'bad.json');
    writeFileSync(bad, '{"values": [');
    const m = await cli(['inspect', bad]);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/^\S+bad\.json: error\[E0102\]: not valid JSON/);
  });
  it('inspect --json has the contract field names and evaluates with the bound dims', async () => {
    const p = writeGraph(tinyDecoder());
    const r = await cli(['inspect', p, '--json', '--dim', 'seq=1', '--dim', 'past_seq=127']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    for (const k of ['format', 'nodes', 'ops', 'params', 'weightBytes', 'flops', 'inputs', 'outputs', 'state'])
      expect(j, k).toHaveProperty(k);
    expect(j.format).toBe('ir');
    expect(j.nodes).toBe(18);
    expect(j.ops).toMatchObject({ MatMul: 6, Transpose: 5, Reshape: 4, Concat: 2, Softmax: 1 });
    expect(j.params).toBe(4 * 64 * 64 + 4 + 3);
    expect(j.weightBytes).toBe(4 * 64 * 64 * 4 + 7 * 8);
    expect(j.inputs[1]).toEqual({
      name: 'past_key_values.0.key',
      dtype: 'float32',
      shape: ['batch', 4, 'past_seq', 16],
    });
    expect(j.outputs[1].shape).toEqual(['batch', 4, 'past_seq + seq', 16]);
    expect(j.dims).toEqual({ batch: 1, past_seq: 127, seq: 1 });
    expect(j.defaulted).toEqual(['batch']);
    // 3 projections + output: 4·2·64·64; QK^T and PV: 2·(2·4·1·128·16); softmax: 4·128·(4+4)
    expect(j.flops).toBe(4 * 2 * 64 * 64 + 2 * (2 * 4 * 128 * 16) + 4 * 128 * 8);
    expect(j.flopsExpr).toBe('288*batch*past_seq*seq + 288*batch*seq*seq + 32768*batch*seq');
    expect(j.state).toHaveLength(2);
    expect(j.state[0]).toMatchObject({
      input: 'past_key_values.0.key',
      output: 'present.0.key',
      axis: 2,
      growth: 'seq',
      bytes: 4 * 128 * 16 * 4,
    });
  });
  it('inspect --ops classifies ops and marks the critical path; --ir prints the IR', async () => {
    const p = writeGraph(tinyDecoder());
    const r = await cli([
      'inspect',
      p,
      '--ops',
      '--json',
      '--device-class',
      'gpu',
      '--dim',
      'batch=64',
      '--dim',
      'seq=512',
      '--dim',
      'past_seq=0',
    ]);
    const j = JSON.parse(r.stdout);
    const row = (n: string) => j.opRows.find((o: { name: string }) => o.name === n);
    expect(j.device.name).toBe('gpu');
    expect(row('q_mm').bound).toBe('memory');
    expect(row('qk').critical).toBe(true);
    expect(row('q_mm').critical).toBe(false);
    expect(j.opTypes.find((t: { opType: string }) => t.opType === 'MatMul').count).toBe(6);
    const text = await cli(['inspect', p, '--ops', '--no-color']);
    expect(text.stdout).toMatch(/per op type/);
    expect(text.stdout).toMatch(/\*\s+qk\s+MatMul/);
    const ir = await cli(['inspect', p, '--ir']);
    expect(ir.stdout).toMatch(/^graph tiny_decoder/);
    expect(ir.stdout).toMatch(/%present\.0\.key: float32\[batch, 4, past_seq \+ seq, 16\] = Concat/);
  });
  it('colour only on a terminal without NO_COLOR or --no-color', async () => {
    const p = writeGraph(tinyDecoder());
    const esc = new RegExp(`${String.fromCharCode(27)}\\[`);
    expect((await cli(['inspect', p], { tty: true })).stdout).toMatch(esc);
    expect((await cli(['inspect', p], { tty: false })).stdout).not.toMatch(esc);
    expect((await cli(['inspect', p], { tty: true, env: { NO_COLOR: '1' } })).stdout).not.toMatch(esc);
    expect((await cli(['--no-color', 'inspect', p], { tty: true })).stdout).not.toMatch(esc);
    expect((await cli(['inspect', p, '--no-color'], { tty: true })).stdout).not.toMatch(esc);
  });
  it('runs as a real process with the documented exit codes', () => {
    const p = writeGraph(tinyDecoder());
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/entry.ts'), ...args], {
        encoding: 'utf8',
        env: { ...process.env, FORCE_COLOR: '' },
      });
    const ok = run(['inspect', p, '--json']);
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout).nodes).toBe(18);
    const bad = run(['inspect', p, '--nope']);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});
