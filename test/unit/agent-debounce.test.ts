// debounce(): bursts coalesce; one run at a time; a request during a run
// makes exactly one more; `leading` runs an idle request without the delay.
import { describe, expect, it } from 'vitest';
import { debounce } from '../../src/agent/debounce.js';

describe('debounce', () => {
  it('merges a burst into one run after the delay, and one more for requests during a run', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const d = debounce(async () => {
      runs++;
      await new Promise<void>((r) => (release = r));
    }, 20, () => undefined);
    for (let i = 0; i < 5; i++) d.request();
    await new Promise((r) => setTimeout(r, 5));
    expect(runs).toBe(0); // still waiting out the delay
    await new Promise((r) => setTimeout(r, 30));
    expect(runs).toBe(1);
    d.request();
    d.request();
    release();
    await new Promise((r) => setTimeout(r, 40));
    expect(runs).toBe(2);
    release();
    await d.idle();
    expect(runs).toBe(2);
    d.stop();
  });

  it('with leading, an idle request runs on the next turn instead of after the delay', async () => {
    let runs = 0;
    const d = debounce(async () => void runs++, 10_000, () => undefined, { leading: true });
    d.request();
    d.request();
    await new Promise((r) => setImmediate(r));
    await d.idle();
    expect(runs).toBe(1);
    d.stop();
    d.request();
    await d.idle();
    expect(runs).toBe(1);
  });
});
