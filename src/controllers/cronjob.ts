// CronJob controller: creates a Job from the template at each scheduled
// time (UTC), honouring suspend, startingDeadlineSeconds and
// concurrencyPolicy (Allow / Forbid / Replace), keeps status.active and
// lastScheduleTime / lastSuccessfulTime, and prunes finished Jobs beyond the
// history limits.
import type { CronJob, Job } from '../api/apps.js';
import { objectKey, ownerUidIndex, splitKey } from '../client/cache.js';
import { isAlreadyExists, isNotFound } from '../client/errors.js';
import { resources } from '../client/resources.js';
import { controllerRef, createLoop, type ControllerContext, type Handle, type ReconcileResult } from './controller.js';
import { mostRecentRun, nextRun, parseSchedule } from './cron.js';
import { OWNER_INDEX } from './replicaset.js';

const SCHEDULED = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

const finishedAs = (j: Job): 'Complete' | 'Failed' | undefined => (j.status?.conditions ?? []).find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.type as 'Complete' | 'Failed' | undefined;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

export async function start(ctx: ControllerContext): Promise<Handle> {
  const cjInf = ctx.informers.get<CronJob>(resources.cronjobs);
  const jobInf = ctx.informers.get<Job>(resources.jobs);
  jobInf.store.addIndex(OWNER_INDEX, ownerUidIndex);
  const loop = createLoop(ctx, 'cronjob', reconcile);
  const { queue } = loop;
  const ownerKey = (j: Job) => {
    const ref = controllerRef(j);
    return ref?.kind === 'CronJob' ? `${j.metadata.namespace}/${ref.name}` : undefined;
  };
  cjInf.on({ add: (c) => queue.add(objectKey(c)), update: (_, c) => queue.add(objectKey(c)) });
  const jobChanged = (j: Job) => {
    const k = ownerKey(j);
    if (k) queue.add(k);
  };
  jobInf.on({ add: jobChanged, update: (_, j) => jobChanged(j), delete: jobChanged });

  async function reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cj = cjInf.store.getBy(namespace, name);
    if (!cj || cj.metadata.deletionTimestamp) return;
    let schedule;
    try {
      schedule = parseSchedule(cj.spec.schedule);
    } catch (err) {
      ctx.recorder.event(cj, 'Warning', 'UnparseableSchedule', `unparseable schedule: ${JSON.stringify(cj.spec.schedule)} : ${(err as Error).message}`);
      return;
    }
    const jobs = jobInf.store.byIndex(OWNER_INDEX, cj.metadata.uid!).filter((j) => controllerRef(j)?.uid === cj.metadata.uid);
    let active = jobs.filter((j) => !finishedAs(j) && !j.metadata.deletionTimestamp);
    const now = ctx.clock.now();
    let lastSchedule = cj.status?.lastScheduleTime;

    if (!cj.spec.suspend) {
      const since = Date.parse(lastSchedule ?? cj.metadata.creationTimestamp ?? iso(now));
      const { time, missed } = mostRecentRun(schedule, since, now);
      if (missed > 100) ctx.recorder.event(cj, 'Warning', 'TooManyMissedTimes', `too many missed start times: ${missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew`);
      const deadline = cj.spec.startingDeadlineSeconds;
      const tooLate = time !== undefined && deadline !== undefined && now - time > deadline * 1000;
      if (time !== undefined && tooLate) ctx.recorder.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${iso(time)}`);
      if (time !== undefined && !tooLate) {
        const policy = cj.spec.concurrencyPolicy ?? 'Allow';
        if (policy === 'Forbid' && active.length) {
          ctx.recorder.event(cj, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
        } else {
          if (policy === 'Replace') {
            for (const j of active) {
              await ctx.client.delete(resources.jobs, namespace, j.metadata.name!, { propagationPolicy: 'Background' }).catch((err: unknown) => {
                if (!isNotFound(err)) throw err;
              });
              ctx.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata.name}`);
            }
            active = [];
          }
          const jobName = `${name}-${Math.floor(time / 60_000)}`;
          const tmpl = cj.spec.jobTemplate;
          const job: Job = {
            metadata: {
              name: jobName,
              namespace,
              labels: { ...((tmpl.metadata?.labels as Record<string, string> | undefined) ?? {}) },
              annotations: { ...((tmpl.metadata?.annotations as Record<string, string> | undefined) ?? {}), [SCHEDULED]: iso(time) },
              ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name, uid: cj.metadata.uid!, controller: true, blockOwnerDeletion: true }],
            },
            spec: structuredClone(tmpl.spec),
          };
          try {
            const created = await ctx.client.create<Job>(resources.jobs, namespace, job);
            active.push(created);
            ctx.recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${jobName}`);
          } catch (err) {
            // Already created for this time (our cache lagged): nothing more to do for it.
            if (!isAlreadyExists(err)) throw err;
          }
          lastSchedule = iso(time);
        }
      }
    }

    await prune(cj, jobs);
    const succeeded = jobs.filter((j) => finishedAs(j) === 'Complete').map((j) => Date.parse(j.status?.completionTime ?? '') || 0);
    const lastSuccess = succeeded.length ? iso(Math.max(...succeeded)) : cj.status?.lastSuccessfulTime;
    const status: NonNullable<CronJob['status']> = {
      ...(active.length ? { active: active.map((j) => ({ apiVersion: 'batch/v1', kind: 'Job', name: j.metadata.name, namespace, uid: j.metadata.uid, resourceVersion: j.metadata.resourceVersion })) } : {}),
      ...(lastSchedule ? { lastScheduleTime: lastSchedule } : {}),
      ...(lastSuccess ? { lastSuccessfulTime: lastSuccess } : {}),
    };
    const view = (s: CronJob['status']) => JSON.stringify({ a: (s?.active ?? []).map((x) => (x as { name?: string }).name).sort(), l: s?.lastScheduleTime, ok: s?.lastSuccessfulTime });
    if (view(status) !== view(cj.status)) await ctx.client.update<CronJob>(resources.cronjobs, { ...cj, status }, 'status');
    const next = nextRun(schedule, now);
    return next !== undefined && !cj.spec.suspend ? { requeueAfterMs: Math.max(100, next - now + 100) } : undefined;
  }

  async function prune(cj: CronJob, jobs: Job[]): Promise<void> {
    const finishedAt = (j: Job) => Date.parse(j.status?.completionTime ?? j.metadata.creationTimestamp ?? '') || 0;
    for (const [kind, limit] of [['Complete', cj.spec.successfulJobsHistoryLimit ?? 3], ['Failed', cj.spec.failedJobsHistoryLimit ?? 1]] as const) {
      const done = jobs.filter((j) => finishedAs(j) === kind && !j.metadata.deletionTimestamp).sort((a, b) => finishedAt(a) - finishedAt(b));
      for (const j of done.slice(0, Math.max(0, done.length - limit))) {
        await ctx.client.delete(resources.jobs, j.metadata.namespace, j.metadata.name!, { propagationPolicy: 'Background' }).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      }
    }
  }

  return loop.run([cjInf, jobInf]);
}
