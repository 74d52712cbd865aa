// TaintToleration: Filter rejects nodes with a NoSchedule/NoExecute taint
// the pod does not tolerate; Score prefers nodes with fewer untolerated
// PreferNoSchedule taints.
import { defaultNormalize, type Plugin } from '../framework.js';
import { firstUntolerated, tolerates } from '../selectors.js';
import { skip, unresolvable } from '../status.js';
import type { Taint, Toleration } from '../types.js';

export const Name = 'TaintToleration';

/** kube-scheduler's wording for a rejected taint. */
export function reasonUntoleratedTaint(t: Taint): string {
  return `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`;
}

const hard = (t: Taint) => t.effect === 'NoSchedule' || t.effect === 'NoExecute';
const stateKey = 'TaintToleration/prefer';

export function taintToleration(): Plugin {
  return {
    name: Name,
    filter(_state, pod, node) {
      if (node.taints.length === 0) return null;
      const t = firstUntolerated(node.taints, pod.tolerations, hard);
      return t ? unresolvable(reasonUntoleratedTaint(t)) : null;
    },
    preScore(state, pod, nodes) {
      let any = false;
      for (const n of nodes) {
        if (n.taints.length === 0) continue;
        if (n.taints.some((t) => t.effect === 'PreferNoSchedule')) {
          any = true;
          break;
        }
      }
      if (!any) return skip;
      state.set(stateKey, pod.tolerations.filter((t) => !t.effect || t.effect === 'PreferNoSchedule'));
      return null;
    },
    score(state, _pod, node) {
      const tols = state.get(stateKey) as Toleration[];
      let n = 0;
      for (const taint of node.taints) {
        if (taint.effect !== 'PreferNoSchedule') continue;
        if (!tols.some((t) => tolerates(t, taint))) n++;
      }
      return n;
    },
    normalizeScore(_state, _pod, _nodes, scores) {
      defaultNormalize(scores, true);
    },
  };
}
