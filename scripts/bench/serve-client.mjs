// The serve benchmark's load client, in a worker thread of its own so that reading the streams
// does not share an event loop with the server it measures. workerData: { url, prompts,
// maxTokens, mode: 'together' | 'one-at-a-time' }. Posts { begun: true } once every request has
// its first token, then { result: { ids, statuses, wallMs, ttft, itl, maxGap } }. Loopback only;
// every request is bounded by maxTokens and a 120 s timeout.
/* global fetch, AbortSignal, TextDecoder */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

const { url, prompts, maxTokens, mode } = workerData;
if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(url))
  throw new Error(`not a loopback address: ${url}`);

async function one(prompt, onFirst, out) {
  const sent = performance.now();
  const r = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, max_tokens: maxTokens, stream: true }),
    signal: AbortSignal.timeout(120_000),
  });
  const ids = [];
  let last;
  let pending = '';
  const decoder = new TextDecoder();
  for await (const chunk of r.body) {
    const at = performance.now();
    pending += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = pending.indexOf('\n\n')) >= 0) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 2);
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const e = JSON.parse(line.slice(6));
      if (e.error || !e.choices[0].token_ids.length) continue;
      ids.push(...e.choices[0].token_ids);
      if (last === undefined) {
        out.ttft.push(at - sent);
        onFirst();
      } else {
        out.itl.push(at - last);
        out.maxGap = Math.max(out.maxGap, at - last);
      }
      last = at;
    }
  }
  return { ids, status: r.status };
}

const out = { ttft: [], itl: [], maxGap: 0 };
let begun = 0;
const onFirst = () => {
  if (++begun === prompts.length) parentPort.postMessage({ begun: true });
};
const t0 = performance.now();
let results;
if (mode === 'one-at-a-time') {
  results = [];
  for (const p of prompts) results.push(await one(p, onFirst, out));
} else results = await Promise.all(prompts.map((p) => one(p, onFirst, out)));
parentPort.postMessage({
  result: {
    ids: results.map((r) => r.ids),
    statuses: results.map((r) => r.status),
    wallMs: performance.now() - t0,
    ...out,
  },
});
