// Node's HTTP server enforces its header and request timeouts from one interval timer
// (connectionsCheckingInterval) that runs from `listen` to `close`, with or without connections: at
// the 500 ms the node needs for a 5 s header timeout, two event-loop wake-ups a second in an idle
// node that nobody talks to. This runs the server's own check only while a connection is open.
// It reads two Node internals (the interval's symbol and its callback); if they are missing, the
// server keeps its own interval and this says so (timeouts are enforced either way).
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

const INTERVAL = 'http.server.connectionsCheckingInterval';

/**
 * Call before `listen`; `intervalMs` should be the server's connectionsCheckingInterval. When this
 * Node's server does not keep its check where expected, it changes nothing and calls `unsupported`.
 */
export function checkTimeoutsWhileConnected(server: Server, intervalMs: number, unsupported: () => void = () => {}): void {
  let check: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let open = 0;
  const start = (): void => {
    if (timer || !check) return;
    timer = setInterval(check, intervalMs);
    timer.unref();
  };
  const stop = (): void => {
    clearInterval(timer);
    timer = undefined;
  };
  // Node's own 'listening' listener (setupConnectionsTracking, added by the constructor) has made
  // the interval by the time this one runs
  server.on('listening', () => {
    const sym = Object.getOwnPropertySymbols(server).find((s) => s.description === INTERVAL);
    const t = sym ? (server as unknown as Record<symbol, { _onTimeout?: unknown } | undefined>)[sym] : undefined;
    if (!t || typeof t._onTimeout !== 'function') return unsupported(); // Node's own interval stays
    check = t._onTimeout as () => void;
    clearInterval(t as NodeJS.Timeout);
    if (open > 0) start();
  });
  server.on('connection', (socket: Socket) => {
    open++;
    start();
    socket.once('close', () => {
      if (--open === 0) stop();
    });
  });
  server.on('close', stop);
}
