// One pino logger per process; modules take a child (`logger.child({ module: 'api' })`).
// JSON lines to stdout by default (or to a file descriptor given by the caller, e.g. 2 for stderr, or
// appended to a file); "pretty" renders them for people (pino-pretty, in process, synchronously).
import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function parseLogLevel(s: string): LevelWithSilent {
  if (!(LOG_LEVELS as readonly string[]).includes(s)) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  return s as LevelWithSilent;
}

export type LogFormat = 'json' | 'pretty';

export function parseLogFormat(s: string): LogFormat {
  if (s !== 'json' && s !== 'pretty') throw new Error(`--log-format must be json or pretty, got ${JSON.stringify(s)}`);
  return s;
}

export function createLogger(opts: { level?: LevelWithSilent; fd?: number; file?: string; format?: LogFormat; base?: Record<string, unknown> } = {}): Logger {
  const dest = opts.file ?? opts.fd ?? 1;
  // sync: a kill -9 or a forced exit must not lose the lines written just before it.
  const stream = opts.format === 'pretty'
    ? pretty({ destination: dest, sync: true, mkdir: true, colorize: opts.file === undefined && process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
    : pino.destination({ dest, sync: true, mkdir: true, append: true });
  return pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid, ...opts.base },
      // Key material never reaches a log line, even if an object holding it is logged by mistake.
      redact: { paths: ['secretKey', 'seed', '*.secretKey', '*.seed', 'keyPair', '*.keyPair', 'validatorKey'], censor: '[redacted]' },
    },
    stream,
  );
}
