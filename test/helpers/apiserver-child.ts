// Child-process entry for tests that must kill a real server process: runs
// `ebbflow server` with the given flags.
import { runServer } from '../../src/cli/server.js';

await runServer(process.argv.slice(2));
