// An in-process EventSource: whoever holds it emits watch-style events
// (tests, the benchmark, or an adapter over client informers).
import type { ClusterEvent, EventSource } from './scheduler.js';

export class EventBus implements EventSource {
  private readonly handlers = new Set<(ev: ClusterEvent) => void>();

  subscribe(handler: (ev: ClusterEvent) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  emit(ev: ClusterEvent): void {
    for (const h of this.handlers) h(ev);
  }
}
