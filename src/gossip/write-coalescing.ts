// One socket write per burst instead of one per buffer. libp2p's TCP connection writes every buffer
// it is handed with its own `socket.write`, and noise hands it two per encrypted frame (the 2-byte
// length, then the ciphertext): with `noDelay` on, each is a syscall (and a packet), so an idle
// 9-node cluster spent about a fifth of its CPU in socket writes. Corking the socket at the first
// write of a tick and uncorking it on the next tick (what Node's own HTTP server does) hands the
// kernel everything written in between as one writev: both halves of a frame, and every frame the
// muxer sends to that peer in the same burst (data, window updates, other streams).
// Done without patching the libraries: the connection encrypter is wrapped, and the raw TCP
// connection it is given (before any encryption) gets the corking write; a connection of another
// kind (no `socket`) is left as it is.
import { Socket } from 'node:net';
import { hookedEncrypter, type Encrypter } from './encrypter-hooks.js';

/** Corks `conn`'s socket from the first write of a tick to the next tick. False (and nothing changed) when `conn` is not a TCP connection of @libp2p/tcp's shape. */
export function coalesceWrites(conn: object): boolean {
  const c = conn as { socket?: unknown; sendData?: unknown };
  const socket = c.socket;
  const sendData = c.sendData;
  if (!(socket instanceof Socket) || typeof sendData !== 'function') return false;
  let corked = false;
  const flush = (): void => {
    corked = false;
    socket.uncork();
  };
  // an own property shadows the class method the connection's send queue calls
  c.sendData = function (this: unknown, data: unknown): unknown {
    if (!corked && socket.writable) {
      corked = true;
      socket.cork();
      process.nextTick(flush);
    }
    return sendData.call(this, data);
  };
  return true;
}

/** `factory` (what a libp2p encrypter module returns, e.g. `noise()`: components -> encrypter), its connections coalescing their socket writes. */
export function coalescingEncrypter<A extends unknown[], E extends Encrypter>(factory: (...a: A) => E): (...a: A) => E {
  return hookedEncrypter(factory, { before: (connection) => void coalesceWrites(connection) });
}
