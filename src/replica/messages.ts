// The messages replicas of one shard exchange (docs/REPLICAS.md): pulls (a follower's ack and
// request for the next epoch) and their answers, vote requests and votes. Each is a canonical
// binary encoding signed by its author's replica key over H_<tag>(encoding), the tags distinct from
// every other signed object of the protocol. Pure: encode, decode (strict), sign, verify.
import { ByteReader, ByteWriter, DecodeError } from '../core/bytes.js';
import { taggedHash } from '../core/hash.js';
import { sign, verify, type KeyPair } from '../core/ed25519.js';

const MSG_VERSION = 1;

export interface PullRequest {
  network: string;
  shard: string;
  replica: number; // the follower
  term: bigint; // the term it follows
  have: number; // its latest durable epoch (-1: none): an ack of every epoch up to it
  haveHash: Uint8Array; // 32: its snapshot hash at `have` (zeros for -1)
  at: number; // unix ms when sent (a pull more than a few seconds off the writer's clock is refused: no replayed acks)
  want: number; // entries wanted (0: a heartbeat, answered at once)
}

export interface PullAnswer {
  network: string;
  shard: string;
  replica: number; // who answers
  term: bigint; // its current term
  writer: number; // the writer it knows for `term`, 255 if none
  isWriter: boolean;
  committed: number; // its committed epoch (-1: none)
  head: number; // its latest durable epoch
  diverged: boolean; // the asker's `haveHash` is not this writer's snapshot of `have`
  reqAt: number; // the request's `at` (binds the answer to it)
  entryHash: Uint8Array; // 32: H_replica-entry(entry) of the entry sent with it, zeros if none
}

export interface VoteRequest {
  network: string;
  shard: string;
  /** A pre-vote (Raft's): "would you vote for me in `term`?", answered without changing anything. */
  prevote: boolean;
  candidate: number;
  term: bigint;
  lastTerm: bigint;
  lastEpoch: number;
  at: number;
}

export interface Vote {
  network: string;
  shard: string;
  voter: number;
  candidate: number;
  term: bigint; // the voter's term after deciding
  granted: boolean;
  reqAt: number;
}

export const NO_WRITER = 255;

const ep = (e: number): bigint => BigInt(e + 1); // epochs -1.. as u64
const unep = (v: bigint): number => {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError('replica message: epoch too large');
  return Number(v) - 1;
};

export function encodePull(m: PullRequest): Uint8Array {
  return new ByteWriter(128).u8(MSG_VERSION).string(m.network).string(m.shard).u8(m.replica).u64(m.term).u64(ep(m.have)).fixed(m.haveHash, 32).u64(BigInt(m.at)).u8(m.want).finish();
}
export function decodePull(b: Uint8Array): PullRequest {
  const r = new ByteReader(b, 'pull request');
  version(r);
  const m = { network: r.string(64), shard: r.string(16), replica: r.u8(), term: r.u64(), have: unep(r.u64()), haveHash: r.fixed(32), at: Number(r.u64()), want: r.u8() };
  r.end();
  return m;
}

export function encodePullAnswer(m: PullAnswer): Uint8Array {
  return new ByteWriter(160).u8(MSG_VERSION).string(m.network).string(m.shard).u8(m.replica).u64(m.term).u8(m.writer).u8(m.isWriter ? 1 : 0)
    .u64(ep(m.committed)).u64(ep(m.head)).u8(m.diverged ? 1 : 0).u64(BigInt(m.reqAt)).fixed(m.entryHash, 32).finish();
}
export function decodePullAnswer(b: Uint8Array): PullAnswer {
  const r = new ByteReader(b, 'pull answer');
  version(r);
  const m = { network: r.string(64), shard: r.string(16), replica: r.u8(), term: r.u64(), writer: r.u8(), isWriter: flag(r), committed: unep(r.u64()), head: unep(r.u64()), diverged: flag(r), reqAt: Number(r.u64()), entryHash: r.fixed(32) };
  r.end();
  return m;
}

export function encodeVoteRequest(m: VoteRequest): Uint8Array {
  return new ByteWriter(96).u8(MSG_VERSION).string(m.network).string(m.shard).u8(m.prevote ? 1 : 0).u8(m.candidate).u64(m.term).u64(m.lastTerm).u64(ep(m.lastEpoch)).u64(BigInt(m.at)).finish();
}
export function decodeVoteRequest(b: Uint8Array): VoteRequest {
  const r = new ByteReader(b, 'vote request');
  version(r);
  const m = { network: r.string(64), shard: r.string(16), prevote: flag(r), candidate: r.u8(), term: r.u64(), lastTerm: r.u64(), lastEpoch: unep(r.u64()), at: Number(r.u64()) };
  r.end();
  return m;
}

export function encodeVote(m: Vote): Uint8Array {
  return new ByteWriter(96).u8(MSG_VERSION).string(m.network).string(m.shard).u8(m.voter).u8(m.candidate).u64(m.term).u8(m.granted ? 1 : 0).u64(BigInt(m.reqAt)).finish();
}
export function decodeVote(b: Uint8Array): Vote {
  const r = new ByteReader(b, 'vote');
  version(r);
  const m = { network: r.string(64), shard: r.string(16), voter: r.u8(), candidate: r.u8(), term: r.u64(), granted: flag(r), reqAt: Number(r.u64()) };
  r.end();
  return m;
}

export type MessageTag = 'replica-pull' | 'replica-pull-answer' | 'replica-vote-request' | 'replica-vote' | 'replica-state';

export function signMessage(tag: MessageTag, encoded: Uint8Array, key: KeyPair): Uint8Array {
  return sign(taggedHash(tag, encoded), key.secretKey);
}

export function verifyMessage(tag: MessageTag, encoded: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  return signature.length === 64 && verify(taggedHash(tag, encoded), signature, publicKey);
}

/** The hash a pull answer commits to for the entry it carries. */
export function entryHash(entry: Uint8Array): Uint8Array {
  return taggedHash('replica-entry', entry);
}

function version(r: ByteReader): void {
  const v = r.u8();
  if (v !== MSG_VERSION) throw new DecodeError(`replica message: unknown version ${v}`);
}

function flag(r: ByteReader): boolean {
  const v = r.u8();
  if (v > 1) throw new DecodeError('replica message: a flag is 0 or 1');
  return v === 1;
}
