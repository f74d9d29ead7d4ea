import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout; `silent` for tests. */
export function createLogger(options: { level: string; name?: string }): Logger {
  return pino({ name: options.name ?? 'baton-relay', level: options.level });
}
