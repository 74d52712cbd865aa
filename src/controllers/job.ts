// Job controller (NonIndexed): runs up to `parallelism` pods at a time until
// `completions` pods succeeded, recreating failed pods after an exponential
// delay until more than backoffLimit pods failed; then marks the Job
// Complete or Failed (BackoffLimitExceeded) and stops its active pods.
import type { Job } from '../api/apps.js';
import type { Pod } from '../api/core.js';
import type { Condition } from '../api/meta.js';
import { objectKey, ownerUidIndex, splitKey } from '../client/cache.js';
import { isNotFound } from '../client/errors.js';
import { resources } from '../client/resources.js';
import { controllerRef, createLoop, isoNow, type ControllerContext, type Handle, type ReconcileResult } from './controller.js';
import { Expectations } from './expectations.js';
import { OWNER_INDEX, podFromTemplate } from './replicaset.js';

const finished = (j: Job) => (j.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');

export async function start(ctx: ControllerContext): Promise<Handle> {
  const jobInf = ctx.informers.get<Job>(resources.jobs);
  const podInf = ctx.informers.get<Pod>(resources.pods);
  podInf.store.addIndex(OWNER_INDEX, ownerUidIndex);
  const expectations = new Expectations(ctx.clock);
  const base = ctx.settings?.jobBackoffBaseMs ?? 10_000;
  const max = ctx.settings?.jobBackoffMaxMs ?? 360_000;
  const loop = createLoop(ctx, 'job', reconcile);
  const { queue } = loop;

  const ownerKey = (p: Pod) => {
    const ref = controllerRef(p);
    return ref?.kind === 'Job' ? `${p.metadata.namespace}/${ref.name}` : undefined;
  };
  jobInf.on({ add: (j) => queue.add(objectKey(j)), update: (_, j) => queue.add(objectKey(j)), delete: (j) => expectations.forget(objectKey(j)) });
  podInf.on({
    add(p) {
      const k = ownerKey(p);
      if (!k) return;
      expectations.creationObserved(k);
      queue.add(k);
    },
    update(_, p) {
      const k = ownerKey(p);
      if (k) queue.add(k);
    },
    delete(p) {
      const k = ownerKey(p);
      if (!k) return;
      expectations.deletionObserved(k, objectKey(p));
      queue.add(k);
    },
  });

  async function reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const job = jobInf.store.getBy(namespace, name);
    if (!job || job.metadata.deletionTimestamp) return;
    const pods = podInf.store.byIndex(OWNER_INDEX, job.metadata.uid!).filter((p) => controllerRef(p)?.uid === job.metadata.uid);
    const active = pods.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded').length;
    const failedPods = pods.filter((p) => p.status?.phase === 'Failed');
    const failed = failedPods.length;
    const completions = job.spec.completions ?? 1;
    const parallelism = job.spec.parallelism ?? 1;
    const backoffLimit = job.spec.backoffLimit ?? 6;
    const now = isoNow(ctx.clock);
    let conditions: Condition[] = job.status?.conditions ?? [];
    let completionTime = job.status?.completionTime;
    let requeue: number | undefined;

    if (!finished(job)) {
      if (failed > backoffLimit) {
        conditions = [...conditions, { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastProbeTime: now, lastTransitionTime: now } as Condition, { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastProbeTime: now, lastTransitionTime: now } as Condition];
        ctx.recorder.event(job, 'Warning', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
        await deleteAll(key, active);
      } else if (succeeded >= completions) {
        conditions = [...conditions, { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: now, lastTransitionTime: now } as Condition, { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: now, lastTransitionTime: now } as Condition];
        completionTime = now;
        ctx.recorder.event(job, 'Normal', 'Completed', 'Job completed');
        await deleteAll(key, active);
      } else if (!job.spec.suspend && expectations.satisfied(key)) {
        const want = Math.min(parallelism, completions - succeeded);
        const missing = want - active.length;
        if (missing > 0) {
          // After failures, wait base * 2^(failures-1) since the newest failure before replacing.
          const lastFail = failedPods.reduce((t, p) => Math.max(t, Date.parse(p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '') || 0), 0);
          const delay = failed ? Math.min(max, base * 2 ** (failed - 1)) : 0;
          const wait = lastFail + delay - ctx.clock.now();
          if (failed && wait > 0) requeue = wait;
          else await create(job, key, missing);
        } else if (missing < 0) {
          await deleteAll(key, active.slice(0, -missing));
        }
      }
    }
    const status: NonNullable<Job['status']> = {
      ...(job.status ?? {}),
      startTime: job.status?.startTime ?? now,
      active: active.length,
      succeeded,
      failed,
      conditions,
      ...(completionTime ? { completionTime } : {}),
    };
    const strip = (s: unknown) => JSON.stringify(s);
    if (strip(status) !== strip(job.status)) await ctx.client.update<Job>(resources.jobs, { ...job, status }, 'status');
    return requeue !== undefined ? { requeueAfterMs: requeue } : undefined;
  }

  async function create(job: Job, key: string, n: number): Promise<void> {
    const pod = podFromTemplate(job, job.spec.template, 'Job', 'batch/v1');
    pod.metadata.labels = { ...pod.metadata.labels, 'batch.kubernetes.io/controller-uid': job.metadata.uid!, 'batch.kubernetes.io/job-name': job.metadata.name!, 'controller-uid': job.metadata.uid!, 'job-name': job.metadata.name! };
    expectations.expect(key, n, []);
    for (let i = 0; i < n; i++) {
      try {
        await ctx.client.create<Pod>(resources.pods, job.metadata.namespace, structuredClone(pod));
      } catch (err) {
        for (let k = i; k < n; k++) expectations.creationObserved(key);
        ctx.recorder.event(job, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
        throw err;
      }
    }
    ctx.recorder.event(job, 'Normal', 'SuccessfulCreate', `Created ${n} pod(s)`);
  }

  async function deleteAll(key: string, pods: Pod[]): Promise<void> {
    if (!pods.length) return;
    expectations.expect(key, 0, pods.map((p) => objectKey(p)));
    for (const p of pods) {
      await ctx.client.delete(resources.pods, p.metadata.namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } }).catch((err: unknown) => {
        expectations.deletionObserved(key, objectKey(p));
        if (!isNotFound(err)) throw err;
      });
    }
  }

  return loop.run([jobInf, podInf]);
}
