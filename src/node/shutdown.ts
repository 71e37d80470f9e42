// Graceful shutdown: the first SIGINT/SIGTERM closes everything cleanly (in reverse order of
// opening) and exits 0; a second one while closing forces an immediate exit.
import type { Logger } from './logger.js';

export function onShutdownSignals(close: () => Promise<void>, logger?: Logger): () => void {
  let closing = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (closing) {
      logger?.warn({ signal }, 'second signal: forcing exit');
      process.exit(130);
    }
    closing = true;
    logger?.info({ signal }, 'shutting down (send the signal again to force)');
    close().then(
      () => {
        logger?.info('shut down cleanly');
        process.exit(0);
      },
      (e: unknown) => {
        logger?.error({ err: e }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
