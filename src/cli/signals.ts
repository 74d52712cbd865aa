// Long-running subcommands stay up until SIGTERM or SIGINT (or another
// signal they ask for, such as the agent's SIGUSR2 "stop and remove pods").

/** Resolves with the first of `signals` received; keeps the event loop alive until then
 * (signal handlers alone do not). */
export function untilStopSignal(signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): Promise<NodeJS.Signals> {
  const keepAlive = setInterval(() => {}, 1 << 30);
  return new Promise((resolve) => {
    const done = (sig: NodeJS.Signals) => {
      clearInterval(keepAlive);
      for (const s of signals) process.off(s, done);
      resolve(sig);
    };
    for (const s of signals) process.once(s, done);
  });
}
