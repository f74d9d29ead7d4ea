import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'pretty' | 'json';

/** Pretty lines for a person at a terminal, one JSON object per line for everything else. */
export function defaultLogFormat(): LogFormat {
  return process.stdout.isTTY ? 'pretty' : 'json';
}

/**
 * Logs on stdout: JSON lines (`json`), or short readable lines (`pretty`: time, level, message,
 * then the fields); `silent` level for tests.
 */
export function createLogger(options: {
  level: string;
  name?: string;
  format?: LogFormat;
}): Logger {
  const settings = { name: options.name ?? 'baton-relay', level: options.level };
  if ((options.format ?? 'json') === 'json') return pino(settings);
  return pino(
    settings,
    pretty({
      colorize: Boolean(process.stdout.isTTY),
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname,name',
      sync: true,
    }),
  );
}
