// Pure naming rules: which namespace, interface and cgroup names are accepted,
// and how the topology derives short interface names from a prefix.
import { InvalidArgumentError } from './errors.js';

/** Linux IFNAMSIZ minus the terminating NUL. */
export const MAX_IFNAME = 15;

const NETNS_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const IFNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Throws InvalidArgumentError unless `name` is a safe netns name (no slashes, no leading dot). */
export function checkNetnsName(name: string): string {
  if (!NETNS_RE.test(name)) {
    throw new InvalidArgumentError('netns name', name, 'use 1-64 characters [A-Za-z0-9_.-], starting alphanumeric');
  }
  return name;
}

/** Throws InvalidArgumentError unless `name` is a valid interface name (≤ 15 chars). */
export function checkIfName(name: string): string {
  if (name.length > MAX_IFNAME || !IFNAME_RE.test(name)) {
    throw new InvalidArgumentError('interface name', name, `use 1-${MAX_IFNAME} characters [A-Za-z0-9_.-]`);
  }
  return name;
}

/**
 * The node-side veth name for pod `index`: the prefix's alphanumerics,
 * truncated so that prefix + index fits in 15 characters.
 */
export function hostIfName(prefix: string, index: number): string {
  if (!Number.isInteger(index) || index < 0) {
    throw new InvalidArgumentError('pod index', String(index), 'must be a non-negative integer');
  }
  const suffix = String(index);
  let short = prefix.replace(/[^A-Za-z0-9]/g, '').slice(0, MAX_IFNAME - suffix.length);
  if (short === '') short = 'v'.slice(0, MAX_IFNAME - suffix.length);
  return short + suffix;
}

/** The namespace name of a pod in a topology: `<prefix>-<pod>`. */
export function podNetnsName(prefix: string, pod: string): string {
  return checkNetnsName(`${prefix}-${pod}`);
}

/** The namespace name of the node in a topology: `<prefix>-node`. */
export function nodeNetnsName(prefix: string): string {
  return checkNetnsName(`${prefix}-node`);
}
