// NodeAffinity: Filter applies spec.nodeSelector and the required
// nodeSelectorTerms (ORed; expressions and metadata.name fields ANDed);
// Score sums the weights of matching preferred terms.
import { defaultNormalize, type Plugin } from '../framework.js';
import { compileNodeTerm, type NodeTerm } from '../selectors.js';
import { constant, skip } from '../status.js';

export const Name = 'NodeAffinity';
export const ReasonNodeAffinity = "node(s) didn't match Pod's node affinity/selector";
const stateKey = 'NodeAffinity/preferred';
const rejected = constant('UnschedulableAndUnresolvable', Name, ReasonNodeAffinity);

export function nodeAffinity(): Plugin {
  return {
    name: Name,
    preFilter(_state, pod) {
      const req = pod.requiredNodeAffinity;
      if (req.trivial) return { status: skip };
      return req.names ? { nodeNames: req.names } : null;
    },
    filter(_state, pod, node) {
      return pod.requiredNodeAffinity.matches(node.node) ? null : rejected;
    },
    preScore(state, pod) {
      const pref = pod.pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
      const terms = pref.filter((p) => p.weight !== 0).map((p) => ({ weight: p.weight, term: compileNodeTerm(p.preference) }));
      if (terms.length === 0) return skip;
      state.set(stateKey, terms);
      return null;
    },
    score(state, _pod, node) {
      const terms = state.get(stateKey) as { weight: number; term: NodeTerm }[];
      let s = 0;
      for (const t of terms) if (t.term.matches(node.node)) s += t.weight;
      return s;
    },
    normalizeScore(_state, _pod, _nodes, scores) {
      defaultNormalize(scores, false);
    },
  };
}
