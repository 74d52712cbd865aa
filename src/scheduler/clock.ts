// The scheduling queue reads time through the shared client clock (src/client/clock.ts),
// so tests drive backoff by hand with one FakeClock for every component.
export { FakeClock, realClock, type Clock } from '../client/clock.js';
