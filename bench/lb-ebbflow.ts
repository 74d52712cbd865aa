// The ebbflow column of bench/lb.ts: the real eBPF dataplane (bench/lib/ebbflow-mode.ts).
import { createEbbflowLbMode } from './lib/ebbflow-mode.js';
import type { LbBenchContext, LbMode } from './lib/types.js';

export type { LbBenchContext, LbMode };

/** Builds the ebbflow load-balancing mode. */
export async function createEbbflowMode(ctx: LbBenchContext): Promise<LbMode | null> {
  return createEbbflowLbMode(ctx);
}
