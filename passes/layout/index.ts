import type { Pass, PassContext } from '../pass.js';
import { refusal } from '../../targets/index.js';
import { FLEETC_DOMAIN } from '../fuse/conv.js';
import { outerReferenced } from '../fuse/util.js';
import { convChains } from './chains.js';
import { blockChain } from './rewrite.js';

/**
 * Why the fleet cannot run blocked convs, or null when it can: every device is a cpu (fleetrt's
 * cpu kernels are the ones with a blocked layout) that takes fleetc FusedConv and Reorder, and
 * none is known to run fleetrt's AVX-512 kernels: the blocked loops are AVX2 (8 channels a
 * vector), and where the plain kernels are AVX-512 they are faster (MobileNetV2 224, 2 threads,
 * Zen 5 guest, builds alternated: 5.6–6.8 ms blocked, 4.1–4.7 ms plain). No fleet: this
 * machine's cpu.
 */
function fleetRefusal(ctx: PassContext): string | null {
  for (const d of ctx.target?.fleet.devices ?? []) {
    if (d.class !== 'cpu') return `${d.id} is no cpu`;
    if (d.described?.simd === 'avx512') return `${d.id} runs fleetrt's AVX-512 kernels, faster on the plain layout`;
    for (const op of ['FusedConv', 'Reorder']) {
      const why = refusal(d, op, ['float32'], FLEETC_DOMAIN);
      if (why !== null) return why;
    }
  }
  return null;
}

/**
 * Depthwise 3×3 and pointwise 1×1 convs run up to 1.8× and 1.3× faster with activations in the
 * blocked NCHW8c layout (passes/layout/reorder.ts; figures in docs/runtime.md, "Blocked layout").
 * Chains of such convs (and a stem of RGB input before them) that hold at least `min-depthwise`
 * depthwise convs run blocked, with Reorders where values enter or leave them; chains without one
 * (ResNet's 1×1s between dense 3×3s) gain too little to pay for the Reorders.
 */
export const blockLayoutPass: Pass = {
  name: 'block-layout',
  summary: 'run chains of depthwise and pointwise convs in the blocked NCHW8c layout (fleetc FusedConv, Reorder)',
  kind: 'transform',
  options: { 'min-depthwise': 1 },
  run(graph, ctx, options) {
    const refused = fleetRefusal(ctx);
    if (refused !== null) return { changed: false, summary: `skipped: ${refused}` };
    const minDepthwise = Number(options['min-depthwise']);
    const chains = convChains(graph).filter((c) => c.depthwise >= minDepthwise);
    const outer = outerReferenced(graph);
    const blockedCopies = new Map<string, string>();
    let convs = 0;
    let reorders = 0;
    for (const chain of chains) {
      reorders += blockChain(graph, chain.kinds, blockedCopies, outer);
      convs += chain.kinds.size;
    }
    return {
      changed: chains.length > 0,
      summary: `${chains.length} chains, ${convs} convs blocked, ${reorders} reorders`,
    };
  },
};
