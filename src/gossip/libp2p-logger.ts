// libp2p's own debug logging, off unless asked for. Its default component logger builds two `debug`
// loggers (each a tty check and a scan of the enabled names) for every component, connection and
// stream it creates, whether or not any output is enabled: in an idle 9-node cluster that was 1-5%
// of the nodes' CPU (`node:tty` isatty and weald's createDebug in a CPU profile). Our own logging
// is pino's and unaffected. With `DEBUG` set (e.g. `DEBUG=libp2p:*`) libp2p keeps its default.
import type { createLibp2p } from 'libp2p';

type ComponentLogger = NonNullable<NonNullable<Parameters<typeof createLibp2p>[0]>['logger']>;
type Logger = ReturnType<ComponentLogger['forComponent']>;

const QUIET: Logger = Object.assign(() => {}, {
  enabled: false,
  error: Object.assign(() => {}, { enabled: false }),
  trace: Object.assign(() => {}, { enabled: false }),
  newScope: (): Logger => QUIET,
});

/** A component logger whose every logger does nothing (and says it is disabled). */
export const quietComponentLogger: ComponentLogger = { forComponent: () => QUIET };

/** The logger to give libp2p: undefined (its default, `debug`-based) when `DEBUG` is set, else the quiet one. */
export function libp2pLogger(env: NodeJS.ProcessEnv = process.env): ComponentLogger | undefined {
  return env.DEBUG ? undefined : quietComponentLogger;
}
