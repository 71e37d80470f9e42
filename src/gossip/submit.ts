// Direct submission protocol /smt/<network>/submit/1: a node that receives transactions of another
// shard hands them to that shard's node over one request/response stream and gets the home shard's
// own verdict per transaction (accepted, or rejected with its reason, e.g. mempool-full), so the
// client sees the real outcome instead of "forwarded". Gossip on the home shard's tx topic remains
// the fallback when no node of the home shard is reachable directly.
//
// Request: a tx batch (encoding.ts encodeTxBatch). Response: u32 n | n x (u8 ok | ok ? string txid :
// (string txid | u8 reason index | string message)). Not hashed or signed: it is only a reply.
import { ByteReader, ByteWriter, DecodeError } from '../core/bytes.js';
import { REJECT_REASONS } from '../shard/errors.js';
import type { SubmitResult } from '../shard/shard.js';

export function submitProtocol(networkId: string): string {
  return `/smt/${networkId}/submit/1`;
}

/** Largest submission request: FORWARD_CHUNK transactions of at most a few hundred bytes each. */
export const MAX_SUBMIT_REQUEST_BYTES = 1 << 20;
const MAX_TXID_CHARS = 64;
const MAX_MESSAGE_CHARS = 1024;

export function encodeSubmitResults(rs: readonly SubmitResult[]): Uint8Array {
  const w = new ByteWriter(16 + rs.length * 80).u32(rs.length);
  for (const r of rs) {
    if (r.ok) w.u8(1).string(r.txid);
    else w.u8(0).string(r.txid ?? '').u8(REJECT_REASONS.indexOf(r.reason)).string(r.message.slice(0, MAX_MESSAGE_CHARS));
  }
  return w.finish();
}

export function decodeSubmitResults(b: Uint8Array, expected: number): SubmitResult[] {
  const r = new ByteReader(b, 'submit results');
  const n = r.u32();
  if (n !== expected) throw new DecodeError(`submit results: ${n} results for ${expected} transactions`);
  const out: SubmitResult[] = [];
  for (let i = 0; i < n; i++) {
    const ok = r.u8();
    if (ok > 1) throw new DecodeError(`submit results: result ${i}: flag ${ok}`);
    const txid = r.string(MAX_TXID_CHARS);
    if (txid !== '' && !/^[0-9a-f]{64}$/.test(txid)) throw new DecodeError(`submit results: result ${i}: txid is not 32 bytes of hex`);
    if (ok === 1) {
      if (txid === '') throw new DecodeError(`submit results: result ${i}: accepted without a txid`);
      out.push({ ok: true, txid });
      continue;
    }
    const k = r.u8();
    const reason = REJECT_REASONS[k];
    if (reason === undefined) throw new DecodeError(`submit results: result ${i}: unknown reason ${k}`);
    const message = r.string(MAX_MESSAGE_CHARS * 4);
    out.push(txid ? { ok: false, txid, reason, message } : { ok: false, reason, message });
  }
  r.end();
  return out;
}
