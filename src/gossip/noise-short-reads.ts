// No new Error per TCP read. Noise splits what it reads into frames with a length-prefixed decoder
// whose 2-byte length reader throws a RangeError when fewer than 2 bytes are left, and the decoder
// catches it to stop: so every read of every connection, once its frames are taken, ended in a new
// RangeError, and building one captures a stack trace (the single most expensive function of nine
// idle nodes' network stack under the profiler, ~8% of it). The length reader of each encrypted
// connection is replaced by one that throws the same RangeError, built once: same bytes, same
// control flow, no stack capture. Applied per connection to the decoder noise creates for it; a
// connection of another shape is left as it is, and no library file is changed.

import { hookedEncrypter, type Encrypter } from './encrypter-hooks.js';

/** Thrown (never built anew) when fewer than 2 bytes are buffered: the decoder waits for more. */
const SHORT = new RangeError('Could not decode int16BE');

interface ByteList {
  length?: number;
  byteLength: number;
  get?(i: number): number;
  subarray?: unknown;
}

/** The noise frame length (2 bytes, big endian) at the start of `data`; throws the shared RangeError when it is not there yet. */
export function frameLength(data: ByteList | Uint8Array): number {
  if (data.byteLength < 2) throw SHORT;
  if (data instanceof Uint8Array) return (data[0]! << 8) | data[1]!;
  const l = data as { get(i: number): number };
  return (l.get(0) << 8) | l.get(1);
}
frameLength.bytes = 2;

/** Gives `conn` (what noise's secureInbound/secureOutbound return as `connection`) the length reader above. False (and nothing changed) when it lacks noise's decoder. */
export function quietShortReads(conn: unknown): boolean {
  const d = (conn as { decoder?: { lengthDecoder?: unknown } } | undefined)?.decoder;
  if (d === undefined || d === null || typeof d.lengthDecoder !== 'function') return false;
  d.lengthDecoder = frameLength;
  return true;
}

/** `factory` (a libp2p encrypter module, e.g. `noise()`), its encrypted connections reading frame lengths without a new Error per read. */
export function quietShortReadsEncrypter<A extends unknown[], E extends Encrypter>(factory: (...a: A) => E): (...a: A) => E {
  return hookedEncrypter(factory, { after: (secured) => void quietShortReads(secured) });
}
