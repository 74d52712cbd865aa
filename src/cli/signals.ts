// Long-running subcommands stay up until SIGTERM or SIGINT.

/** Resolves on the first SIGTERM/SIGINT; keeps the event loop alive until then
 * (signal handlers alone do not). */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  const keepAlive = setInterval(() => {}, 1 << 30);
  return new Promise((resolve) => {
    const done = (sig: NodeJS.Signals) => {
      clearInterval(keepAlive);
      process.off('SIGTERM', done);
      process.off('SIGINT', done);
      resolve(sig);
    };
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
}
