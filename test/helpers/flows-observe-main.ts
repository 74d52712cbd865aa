// Runs `ebbflow observe` as its own process (through vite-node) until the
// lead wires it into src/cli/main.ts; exit code and output as the CLI's.
import { runObserve } from '../../src/cli/observe.js';

process.exitCode = await runObserve(process.argv.slice(2));
