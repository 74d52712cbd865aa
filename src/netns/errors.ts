// Typed errors of the netns component. Each carries a stable `code` so callers
// match on it, never on message text.

export type NetnsErrorCode =
  | 'NETNS_COMMAND_FAILED'
  | 'NETNS_EXISTS'
  | 'NETNS_INVALID_ARGUMENT'
  | 'NETNS_CGROUP_BUSY'
  | 'NETNS_CGROUP_REFUSED';

/** Base class of every failure raised by src/netns. */
export class NetnsError extends Error {
  constructor(readonly code: NetnsErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** An external command (ip, sysctl, ...) exited non-zero or could not be started. */
export class CommandFailedError extends NetnsError {
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly stderr: string,
  ) {
    const why = exitCode !== null ? `exit code ${exitCode}` : signal !== null ? `signal ${signal}` : 'failed to start';
    const detail = stderr.trim() === '' ? '' : `: ${stderr.trim()}`;
    super('NETNS_COMMAND_FAILED', `${[command, ...args].join(' ')} failed (${why})${detail}`);
  }
}

/** createNetns found a namespace of that name and was not asked to reuse it. */
export class NetnsExistsError extends NetnsError {
  constructor(readonly netns: string) {
    super('NETNS_EXISTS', `network namespace already exists: ${netns}`);
  }
}

/** A name, address or path that the component refuses before running anything. */
export class InvalidArgumentError extends NetnsError {
  constructor(readonly argument: string, readonly value: string, reason: string) {
    super('NETNS_INVALID_ARGUMENT', `invalid ${argument} ${JSON.stringify(value)}: ${reason}`);
  }
}

/** rmdir of a cgroup failed because processes (or child cgroups) remain in it. */
export class CgroupBusyError extends NetnsError {
  constructor(readonly path: string) {
    super('NETNS_CGROUP_BUSY', `cgroup still has processes or children: ${path}`);
  }
}

/** A cgroup path outside the v2 mount, or the v2 root itself. */
export class CgroupRefusedError extends NetnsError {
  constructor(readonly path: string, reason: string) {
    super('NETNS_CGROUP_REFUSED', `refusing cgroup path ${path}: ${reason}`);
  }
}
