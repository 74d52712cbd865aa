// Wires the scheduler core to the cluster: informers on pods, nodes and
// namespaces become its event source; a decision becomes POST
// pods/<name>/binding; an unschedulable pod gets PodScheduled=False
// (reason Unschedulable) with the scheduler's message on its status.
import type { KubeObject } from '../api/meta.js';
import { resources } from '../client/resources.js';
import { start as startScheduler, type ClusterEvent, type EventSource, type SchedulerConfig, type Handle as SchedulerHandle } from '../scheduler/scheduler.js';
import type { Pod } from '../scheduler/types.js';
import { isoNow, type ControllerContext, type Handle } from './controller.js';

export type SchedulerOptions = Omit<SchedulerConfig, 'bind' | 'markUnschedulable' | 'events' | 'logger'>;

export interface SchedulerBindingHandle extends Handle {
  readonly scheduler: SchedulerHandle;
}

export async function start(ctx: ControllerContext, opts: SchedulerOptions = {}): Promise<SchedulerBindingHandle> {
  const pods = ctx.informers.get<KubeObject>(resources.pods);
  const nodes = ctx.informers.get<KubeObject>(resources.nodes);
  const namespaces = ctx.informers.get<KubeObject>(resources.namespaces);
  const informers = [namespaces, nodes, pods];
  for (const i of informers) i.start();
  await Promise.all(informers.map((i) => i.waitForSync()));

  const events: EventSource = {
    subscribe(handler) {
      const wire = (kind: ClusterEvent['kind'], inf: typeof pods) =>
        inf.on({
          add: (o) => handler({ kind, type: 'ADDED', object: o as never } as ClusterEvent),
          update: (_, o) => handler({ kind, type: 'MODIFIED', object: o as never } as ClusterEvent),
          delete: (o) => handler({ kind, type: 'DELETED', object: o as never } as ClusterEvent),
        });
      // Namespaces and nodes first, so pods arrive to a populated snapshot.
      const offs = [wire('Namespace', namespaces), wire('Node', nodes), wire('Pod', pods)];
      return () => offs.forEach((f) => f());
    },
  };

  const scheduler = await startScheduler({
    ...opts,
    logger: ctx.logger,
    events,
    async bind(pod: Pod, nodeName: string) {
      await ctx.client.post(resources.pods, pod.metadata.namespace, pod.metadata.name, 'binding', {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}) },
        target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
      });
      ctx.recorder.event(pod as unknown as KubeObject, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`);
    },
    async markUnschedulable(pod: Pod, message: string) {
      const cur = pods.store.getBy(pod.metadata.namespace, pod.metadata.name) as (KubeObject & { status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } }) | undefined;
      const prev = cur?.status?.conditions?.find((c) => c.type === 'PodScheduled');
      if (prev && prev.status === 'False' && prev.reason === 'Unschedulable' && prev.message === message) return;
      const conditions = (cur?.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
      conditions.push({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: isoNow(ctx.clock) } as never);
      await ctx.client.patch(resources.pods, pod.metadata.namespace, pod.metadata.name, { status: { conditions } }, 'merge', 'status');
      ctx.recorder.event(pod as unknown as KubeObject, 'Warning', 'FailedScheduling', message);
    },
  });
  return {
    scheduler,
    stop: () => scheduler.stop(),
  };
}

