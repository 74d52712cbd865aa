// Errors the scheduler throws, each with a stable code. Only configuration
// mistakes throw; an unschedulable pod is a result value, not an error.

export class SchedulerConfigError extends Error {
  readonly code = 'SCHED_ERR_CONFIG';

  constructor(message: string) {
    super(message);
    this.name = 'SchedulerConfigError';
  }
}
