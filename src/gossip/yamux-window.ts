// Yamux window updates once half the receive window is used, as go-yamux and rust-yamux send them,
// instead of one after every data frame. @chainsafe/libp2p-yamux answers each data frame it
// receives with a window-update frame (a yamux header of its own, noise-encrypted as a frame of its
// own, decrypted and parsed by the other side): for gossip, where every RPC is one small data frame,
// that doubled the frames on every connection. The receive window is 256 KiB and gossip messages a
// few hundred bytes, so the sender never waits for an update in practice; the accounting is the
// library's own (the sender stops at a zero window, a frame beyond the window is still refused).
// Frames that carry flags (SYN, ACK) and a paused stream go through the library unchanged.
// Applied to the library's stream class at run time (no file of the library is changed), once per
// process; if the class no longer has the shape this relies on, nothing is changed.
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';

interface WindowState {
  state: unknown;
  recvWindow: unknown;
  recvWindowCapacity: unknown;
}

let installed = false;

/** Whether `s` needs no window update yet: established, and more than half its receive window left. */
export function windowUpdateDue(s: WindowState): boolean {
  if (s.state !== StreamState.Established || typeof s.recvWindow !== 'number' || typeof s.recvWindowCapacity !== 'number') return true;
  return s.recvWindowCapacity * 2 <= s.recvWindow;
}

/** Makes every yamux stream of this process send window updates at half the window. False (and nothing changed) if the library's stream class lacks what this relies on. */
export function lazyWindowUpdates(): boolean {
  if (installed) return true;
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate?: unknown };
  const send = proto.sendWindowUpdate;
  if (typeof send !== 'function' || typeof StreamState?.Established !== 'number') return false;
  proto.sendWindowUpdate = function (this: WindowState): void {
    if (windowUpdateDue(this)) send.call(this);
  };
  installed = true;
  return true;
}
