// `ebbflow demo <name>`: runs one of the built-in demos.
import { runLbDemo } from '../demo/lb-demo.js';

export async function runDemo(argv: string[]): Promise<number> {
  const which = argv[0] ?? 'lb';
  if (which !== 'lb') {
    process.stderr.write(`ebbflow demo: unknown demo "${which}" (available: lb)\n`);
    return 2;
  }
  await runLbDemo({ out: (line) => process.stdout.write(line + '\n') });
  return 0;
}
