// Helpers for the serve tests and the serve benchmark: requests over loopback HTTP, server-sent
// events read as a stock client reads them, the reference ids from a lone `generate()`.
import { readdirSync, readFileSync } from 'node:fs';
import { generate } from '../../src/api/generate.js';

export interface Completion {
  status: number;
  body: {
    id?: string;
    object?: string;
    created?: number;
    model?: string;
    choices?: { index: number; text: string; token_ids: number[]; finish_reason: string | null }[];
    usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    error?: { message: string; type: string; code: number };
  };
}

/** POST /v1/completions with a JSON body (or raw text, for malformed bodies). */
export async function complete(url: string, body: unknown, raw?: string): Promise<Completion> {
  const r = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: raw ?? JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Completion['body'] };
}

export interface StreamEvent {
  data: string;
  at: number;
}

/** A streamed completion: every `data:` line of the event stream, in order, with when it arrived. */
export async function streamEvents(
  url: string,
  body: object,
  opts: { signal?: AbortSignal; onEvent?: (e: StreamEvent) => void } = {},
): Promise<{ status: number; events: StreamEvent[] }> {
  const r = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
    signal: opts.signal,
  });
  const events: StreamEvent[] = [];
  if (!r.body) return { status: r.status, events };
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of r.body) {
    pending += decoder.decode(chunk as Uint8Array, { stream: true });
    let end;
    while ((end = pending.indexOf('\n\n')) >= 0) {
      const block = pending.slice(0, end);
      pending = pending.slice(end + 2);
      for (const line of block.split('\n'))
        if (line.startsWith('data: ')) {
          const e = { data: line.slice(6), at: performance.now() };
          events.push(e);
          opts.onEvent?.(e);
        }
    }
  }
  return { status: r.status, events };
}

/** The token ids of a stream (every chunk before [DONE]). */
export function streamedIds(events: StreamEvent[]): number[] {
  return events
    .filter((e) => e.data !== '[DONE]')
    .flatMap((e) => (JSON.parse(e.data) as { choices: { token_ids: number[] }[] }).choices[0]!.token_ids);
}

export interface Sampling {
  temperature?: number;
  topP?: number;
  seed?: number;
}

/** The ids a lone `fleetc generate` of each prompt gives (one engine per prompt); greedy unless sampling is given. */
export async function loneGenerate(
  build: string,
  prompts: number[][],
  maxNewTokens: number,
  sampling: (Sampling | undefined)[] = [],
): Promise<number[][]> {
  const out: number[][] = [];
  for (const [i, p] of prompts.entries())
    out.push((await generate(build, { promptIds: [p], maxNewTokens, ...sampling[i] })).sequences[0]!);
  return out;
}

/** A metric's value from the Prometheus text (first sample whose labels include `labels`). */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_:]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return undefined;
}

export async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

/** Prompts of different lengths with ids inside `vocab`. */
export function prompts(n: number, vocab: number, base = 3): number[][] {
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: base + ((i * 5) % 11) }, (_, k) => (i * 131 + k * 17 + 1) % vocab),
  );
}

export async function waitFor(what: string, ok: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const until = performance.now() + ms;
  while (!(await ok())) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The processes whose parent is `pid` (Linux /proc). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

/** The pid of MPI rank `rank` among the descendants of `root` (an mpirun), by its OMPI_COMM_WORLD_RANK. */
export function mpiRankPid(root: number, rank: number): number | undefined {
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    for (const c of childrenOf(pid)) {
      try {
        const env = readFileSync(`/proc/${c}/environ`, 'utf8').split('\0');
        if (env.includes(`OMPI_COMM_WORLD_RANK=${rank}`)) return c;
      } catch {
        // gone
      }
      queue.push(c);
    }
  }
  return undefined;
}
