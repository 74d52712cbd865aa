// The one structured logger: JSON lines on stderr, quiet (warn) by default,
// every line tagged with its component.
import { pino, type Logger } from 'pino';

export type { Logger };

export interface LogConfig {
  level?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

/** Creates the root logger; components derive theirs with forComponent. */
export function createLogger(config: LogConfig = {}): Logger {
  return pino({ level: config.level ?? 'warn', base: undefined }, pino.destination(2));
}

/** A child logger carrying the component name on every line. */
export function forComponent(root: Logger, component: string): Logger {
  return root.child({ component });
}
