import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import type { IRGraph } from '../../src/ir/graph.js';
import { graphToJSON } from '../../src/ir/json.js';

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process with captured output. */
export async function cli(args: string[], opts: { tty?: boolean; env?: Record<string, string> } = {}): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    out: (t) => void (stdout += t),
    err: (t) => void (stderr += t),
    stdoutIsTTY: opts.tty ?? false,
    stderrIsTTY: false,
    env: opts.env ?? {},
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** Writes a graph as IR JSON into a fresh temporary folder and returns the path. */
export function writeGraph(g: IRGraph, name = 'model.json'): string {
  const dir = mkdtempSync(join(tmpdir(), 'fleetc-cli-'));
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(graphToJSON(g)));
  return p;
}
