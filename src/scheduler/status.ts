// Plugin verdicts and kube-scheduler's unschedulable message:
// "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated
// taint {k: v}. preemption: 0/5 nodes are available: ..."

export type Code = 'Success' | 'Unschedulable' | 'UnschedulableAndUnresolvable' | 'Skip' | 'Error';

/** A failed or skipped verdict; success is represented by null. */
export interface Status {
  readonly code: Code;
  readonly reasons: string[];
  /** Plugin that produced the verdict. */
  plugin?: string;
}

export function unschedulable(...reasons: string[]): Status {
  return { code: 'Unschedulable', reasons };
}

export function unresolvable(...reasons: string[]): Status {
  return { code: 'UnschedulableAndUnresolvable', reasons };
}

/** A shared, immutable verdict for a plugin's fixed reason (no allocation per node). */
export function constant(code: 'Unschedulable' | 'UnschedulableAndUnresolvable', plugin: string, reason: string): Status {
  return Object.freeze({ code, reasons: Object.freeze([reason]) as string[], plugin });
}

export const skip: Status = Object.freeze({ code: 'Skip', reasons: [] }) as Status;

/** Why a pod fits nowhere: the verdict for every node that was tried. */
export interface Diagnosis {
  numAllNodes: number;
  /** Node name -> verdict. */
  nodeStatus: Map<string, Status>;
  /** Applied to every node without an entry in nodeStatus (PreFilter rejection or restriction). */
  absentStatus?: Status;
  /** Plugins that rejected at least one node. */
  unschedulablePlugins: Set<string>;
}

function histogram(d: Diagnosis, reasonOf: (s: Status) => string[]): string[] {
  const counts = new Map<string, number>();
  const bump = (s: Status, n: number) => {
    for (const r of reasonOf(s)) counts.set(r, (counts.get(r) ?? 0) + n);
  };
  for (const s of d.nodeStatus.values()) bump(s, 1);
  const absent = d.numAllNodes - d.nodeStatus.size;
  if (d.absentStatus && absent > 0) bump(d.absentStatus, absent);
  // kube-scheduler sorts the "<count> <reason>" strings as plain strings.
  return [...counts].map(([r, n]) => `${n} ${r}`).sort();
}

/** kube-scheduler's FitError message, optionally with the preemption sentence. */
export function unschedulableMessage(d: Diagnosis, withPreemption = true): string {
  const head = `0/${d.numAllNodes} nodes are available`;
  let msg = `${head}: ${histogram(d, (s) => s.reasons).join(', ')}.`;
  if (withPreemption) {
    // This scheduler never evicts pods, which is what DefaultPreemption reports
    // when it finds no victims; unresolvable rejections cannot be helped at all.
    const pre = histogram(d, (s) => [s.code === 'UnschedulableAndUnresolvable' ? 'Preemption is not helpful for scheduling' : 'No preemption victims found for incoming pod']);
    msg += ` preemption: ${head}: ${pre.join(', ')}.`;
  }
  return msg;
}

/** Reason counts as a map, for callers that want structure rather than text. */
export function reasonCounts(d: Diagnosis): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of histogram(d, (s) => s.reasons)) {
    const i = line.indexOf(' ');
    out[line.slice(i + 1)] = Number(line.slice(0, i));
  }
  return out;
}
