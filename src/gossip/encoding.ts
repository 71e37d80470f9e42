// Gossip wire format: every message is one envelope {version, kind, network, payload}, canonical
// binary, refused above MAX_GOSSIP_BYTES before any decoding. Message ids are content hashes, so
// the same bytes on the same topic are one message however many peers publish or forward them.
import { createHash } from 'node:crypto';
import { ByteReader, ByteWriter, DecodeError } from '../core/bytes.js';
import { domainPrefix } from '../core/hash.js';
import { SIGNATURE_BYTES } from '../core/ed25519.js';
import { encodeAggregate, readAggregate, type TriadAggregate } from '../hierarchy/aggregate.js';
import { decodeFinalAggregate, encodeFinalAggregate, type FinalAggregate, type MemberSignature } from '../hierarchy/finality.js';
import { decodeSignedSnapshot, encodeSignedSnapshot, type SignedSnapshot } from '../shard/snapshot.js';

export const ENVELOPE_VERSION = 1;
/** Application-level cap on one gossip message (the envelope as published). */
export const MAX_GOSSIP_BYTES = 1 << 20;
export const MSG_ID_BYTES = 20;

// proof: src/gossip/proof-messages.ts; receipts: src/shard/receipts.ts batch, on the destination's tx
// topic; lowestFinal: a lowest triad's final with its children's snapshots, on the apex topic
export const GossipKind = { txBatch: 1, snapshot: 2, aggregateSig: 3, finalAggregate: 4, proof: 5, receipts: 6, lowestFinal: 7 } as const;
export type GossipKind = (typeof GossipKind)[keyof typeof GossipKind];
const KINDS = new Set<number>(Object.values(GossipKind));

export function kindName(k: GossipKind): string {
  return Object.entries(GossipKind).find(([, v]) => v === k)?.[0] ?? `kind-${k}`;
}

export interface Envelope {
  kind: GossipKind;
  network: string;
  payload: Uint8Array;
}

export class OversizedError extends DecodeError {
  override name = 'OversizedError';
}

export function encodeEnvelope(e: Envelope): Uint8Array {
  const out = new ByteWriter(e.payload.length + 48).u8(ENVELOPE_VERSION).u8(e.kind).string(e.network).bytes(e.payload).finish();
  if (out.length > MAX_GOSSIP_BYTES) throw new RangeError(`gossip message of ${out.length} bytes exceeds ${MAX_GOSSIP_BYTES}`);
  return out;
}

export function decodeEnvelope(b: Uint8Array): Envelope {
  if (b.length > MAX_GOSSIP_BYTES) throw new OversizedError(`gossip message of ${b.length} bytes exceeds ${MAX_GOSSIP_BYTES}`);
  const r = new ByteReader(b, 'gossip envelope');
  const version = r.u8();
  if (version !== ENVELOPE_VERSION) throw new DecodeError(`gossip envelope: unknown version ${version}`);
  const kind = r.u8();
  if (!KINDS.has(kind)) throw new DecodeError(`gossip envelope: unknown kind ${kind}`);
  const network = r.string(64);
  const payload = r.bytes(MAX_GOSSIP_BYTES);
  r.end();
  return { kind: kind as GossipKind, network, payload };
}

/** The spec'd message id: H_gossip-msg(topic || data), first 20 bytes. The topic is included so a
 * message relevant to two topics is not deduplicated away from one of their meshes. */
export function messageId(topic: string, data: Uint8Array): Uint8Array {
  const t = new ByteWriter(topic.length + 4).string(topic).finish();
  // taggedHash's bytes with node's SHA-256 rather than the JS one: gossipsub computes this for every
  // message published or received (~1% of an idle node's CPU in JS)
  const d = createHash('sha256').update(domainPrefix('gossip-msg')).update(t).update(data).digest();
  return new Uint8Array(d.buffer, d.byteOffset, MSG_ID_BYTES);
}

/** A local-only id of a message on a topic (the simulator's duplicate check; nodes use the message id). */
export function fastMessageId(topic: string, data: Uint8Array | undefined): string {
  return createHash('sha256').update(topic).update('\0').update(data ?? new Uint8Array()).digest('base64');
}

// Payloads.

/** A batch of signed transactions (opaque bytes here; the shard decodes them). */
export function encodeTxBatch(txs: Uint8Array[]): Uint8Array {
  const w = new ByteWriter(txs.reduce((n, t) => n + t.length + 4, 4)).u32(txs.length);
  for (const t of txs) w.bytes(t);
  return w.finish();
}

export function decodeTxBatch(b: Uint8Array, maxTxBytes = 4096): Uint8Array[] {
  const r = new ByteReader(b, 'tx batch');
  const n = r.u32();
  if (n === 0) throw new DecodeError('tx batch: empty');
  if (n > b.length / 4) throw new DecodeError(`tx batch: count ${n} larger than the payload allows`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(r.bytes(maxTxBytes));
  r.end();
  return out;
}

/** A member's signature over a triad aggregate, with the aggregate so anyone can check and assemble. */
export interface AggregateSigMessage {
  aggregate: TriadAggregate;
  signature: MemberSignature;
}

export function encodeAggregateSig(m: AggregateSigMessage): Uint8Array {
  return new ByteWriter(400).bytes(encodeAggregate(m.aggregate)).u8(m.signature.position).u8(m.signature.attempt).fixed(m.signature.signature, SIGNATURE_BYTES).finish();
}

export function decodeAggregateSig(b: Uint8Array): AggregateSigMessage {
  const r = new ByteReader(b, 'aggregate signature');
  const inner = new ByteReader(r.bytes(4096), 'aggregate');
  const aggregate = readAggregate(inner);
  inner.end();
  const position = r.u8();
  const attempt = r.u8();
  if (position > 2 || attempt > 2) throw new DecodeError('aggregate signature: position or attempt out of range');
  const signature = r.fixed(SIGNATURE_BYTES);
  r.end();
  return { aggregate, signature: { position, attempt, signature } };
}

/** At most this many signatures in a `roundSigs` fetch answer (3 positions, first + upgrade each). */
export const MAX_ROUND_SIGS = 6;

/** A `roundSigs` fetch answer: the member signatures a node holds for one round, `u8 n | n x bytes(aggregateSig)`. */
export function encodeRoundSigs(ms: readonly AggregateSigMessage[]): Uint8Array {
  if (ms.length > MAX_ROUND_SIGS) throw new RangeError(`at most ${MAX_ROUND_SIGS} round signatures, got ${ms.length}`);
  const w = new ByteWriter(400 * ms.length + 1).u8(ms.length);
  for (const m of ms) w.bytes(encodeAggregateSig(m));
  return w.finish();
}

export function decodeRoundSigs(b: Uint8Array): AggregateSigMessage[] {
  const r = new ByteReader(b, 'round signatures');
  const n = r.u8();
  if (n > MAX_ROUND_SIGS) throw new DecodeError(`round signatures: ${n}, at most ${MAX_ROUND_SIGS}`);
  const out: AggregateSigMessage[] = [];
  for (let i = 0; i < n; i++) out.push(decodeAggregateSig(r.bytes(4096 + 80)));
  r.end();
  return out;
}

/**
 * A lowest triad's final aggregate with the signed snapshots of its children that it includes
 * (kind lowestFinal): the one message that brings a triad's three snapshots to the nodes outside it
 * (their proving layers' commitment trees), instead of one message per snapshot to every node.
 * `bytes final | u8 n (<= 3) | n x bytes signed snapshot`, snapshots in strictly increasing child
 * position. What binds each snapshot to the final (shard, epoch, the aggregate's commitment) is the
 * receiver's check (network.ts), not the codec's.
 */
export interface LowestFinalMessage {
  final: FinalAggregate;
  snapshots: SignedSnapshot[];
}

export function encodeLowestFinal(m: LowestFinalMessage): Uint8Array {
  if (m.snapshots.length > 3) throw new RangeError(`at most 3 snapshots with a final, got ${m.snapshots.length}`);
  const w = new ByteWriter(2048).bytes(encodeFinalAggregate(m.final)).u8(m.snapshots.length);
  for (const ss of m.snapshots) w.bytes(encodeSignedSnapshot(ss));
  return w.finish();
}

export function decodeLowestFinal(b: Uint8Array): LowestFinalMessage {
  const r = new ByteReader(b, 'lowest final');
  const final = decodeFinalAggregate(r.bytes(MAX_GOSSIP_BYTES));
  const n = r.u8();
  if (n > 3) throw new DecodeError(`lowest final: ${n} snapshots, at most 3`);
  const snapshots: SignedSnapshot[] = [];
  for (let i = 0; i < n; i++) snapshots.push(decodeSignedSnapshot(r.bytes(MAX_GOSSIP_BYTES)));
  r.end();
  return { final, snapshots };
}
