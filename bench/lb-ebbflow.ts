// The ebbflow column of bench/lb.ts. Placeholder: returns null (mode skipped)
// until the eBPF dataplane is wired in here.
import type { LbBenchContext, LbMode } from './lib/types.js';

export type { LbBenchContext, LbMode };

/** Builds the ebbflow load-balancing mode, or null when it is not available. */
export async function createEbbflowMode(_ctx: LbBenchContext): Promise<LbMode | null> {
  return null;
}
