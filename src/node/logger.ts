// One pino logger per process; modules take a child (`logger.child({ module: 'api' })`).
// JSON lines to stdout by default (or to a file descriptor given by the caller, e.g. 2 for stderr).
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function parseLogLevel(s: string): LevelWithSilent {
  if (!(LOG_LEVELS as readonly string[]).includes(s)) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  return s as LevelWithSilent;
}

export function createLogger(opts: { level?: LevelWithSilent; fd?: number; base?: Record<string, unknown> } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid, ...opts.base },
      // Key material never reaches a log line, even if an object holding it is logged by mistake.
      redact: { paths: ['secretKey', 'seed', '*.secretKey', '*.seed', 'keyPair', '*.keyPair', 'validatorKey'], censor: '[redacted]' },
    },
    // sync: a kill -9 or a forced exit must not lose the lines written just before it.
    pino.destination({ dest: opts.fd ?? 1, sync: true }),
  );
}
