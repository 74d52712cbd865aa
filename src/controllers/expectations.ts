// Controller expectations: after a controller creates or deletes pods it
// waits until its informer has seen those changes before acting on the
// same owner again, so a stale cache never causes double creates.
import type { Clock } from '../client/clock.js';

interface Expectation {
  adds: number;
  dels: Set<string>;
  at: number;
}

/** Expectations expire after this long, so a lost event cannot wedge an owner. */
const TTL_MS = 5 * 60_000;

export class Expectations {
  private items = new Map<string, Expectation>();
  constructor(private readonly clock: Clock) {}

  /** True when nothing is outstanding (or the record expired). */
  satisfied(owner: string): boolean {
    const e = this.items.get(owner);
    if (!e) return true;
    if ((e.adds <= 0 && e.dels.size === 0) || this.clock.now() - e.at > TTL_MS) return true;
    return false;
  }
  expect(owner: string, adds: number, dels: string[]): void {
    this.items.set(owner, { adds, dels: new Set(dels), at: this.clock.now() });
  }
  creationObserved(owner: string): void {
    const e = this.items.get(owner);
    if (e) e.adds--;
  }
  deletionObserved(owner: string, podKey: string): void {
    this.items.get(owner)?.dels.delete(podKey);
  }
  forget(owner: string): void {
    this.items.delete(owner);
  }
}
