// Gossip validation outcomes -> gossipsub Accept / Ignore / Reject, in one place.
// Reject (the sender's score drops; never forwarded): oversized, undecodable, wrong network, wrong
// topic for the kind, bad signature, invalid content. Ignore (not forwarded, no penalty): stale,
// duplicate, not yet checkable, no capacity to check it now (busy), not needed here, internal errors. The payload checks are callbacks, so this layer
// knows nothing about shards or aggregates.
import { TopicValidatorResult, type Message, type TopicValidatorFn } from '@libp2p/gossipsub';
import { DecodeError } from '../core/bytes.js';
import { decodeEnvelope, kindName, MAX_GOSSIP_BYTES, OversizedError, type Envelope, type GossipKind } from './encoding.js';

export type RejectCode = 'oversized' | 'undecodable' | 'wrong-network' | 'wrong-topic' | 'bad-signature' | 'invalid';
export type IgnoreCode = 'stale' | 'duplicate' | 'unknown' | 'internal' | 'busy' | 'not-needed';

export type ValidationOutcome =
  | { action: 'accept' }
  | { action: 'ignore'; code: IgnoreCode; message?: string }
  | { action: 'reject'; code: RejectCode; message?: string };

export const ACCEPT: ValidationOutcome = { action: 'accept' };
export const reject = (code: RejectCode, message?: string): ValidationOutcome => ({ action: 'reject', code, message });
export const ignore = (code: IgnoreCode, message?: string): ValidationOutcome => ({ action: 'ignore', code, message });

/** Thrown by payload checks as an alternative to returning an outcome. */
export class GossipValidationError extends Error {
  override name = 'GossipValidationError';
  readonly outcome: ValidationOutcome;
  constructor(outcome: Exclude<ValidationOutcome, { action: 'accept' }>) {
    super(`${outcome.action} ${outcome.code}${outcome.message ? ': ' + outcome.message : ''}`);
    this.outcome = outcome;
  }
}

export function toTopicValidatorResult(o: ValidationOutcome): TopicValidatorResult {
  switch (o.action) {
    case 'accept': return TopicValidatorResult.Accept;
    case 'ignore': return TopicValidatorResult.Ignore;
    case 'reject': return TopicValidatorResult.Reject;
  }
}

export interface PayloadContext {
  topic: string;
  from: string; // propagation source peer id
  envelope: Envelope;
  /** The whole message as gossipsub delivers it (the same object reaches the topic's message handler). */
  data: Uint8Array;
}

/** Per kind: check the (already size-, network- and envelope-checked) payload. Kinds without a check are rejected as wrong-topic. */
export type PayloadChecks = Partial<Record<GossipKind, (payload: Uint8Array, ctx: PayloadContext) => ValidationOutcome | Promise<ValidationOutcome>>>;

/** The whole decision for one message's data, independent of gossipsub. */
export async function validateGossip(data: Uint8Array, topic: string, from: string, networkId: string, checks: PayloadChecks): Promise<ValidationOutcome> {
  if (data.length > MAX_GOSSIP_BYTES) return reject('oversized', `${data.length} bytes`);
  let envelope: Envelope;
  try {
    envelope = decodeEnvelope(data);
  } catch (e) {
    if (e instanceof OversizedError) return reject('oversized', e.message);
    return reject('undecodable', (e as Error).message);
  }
  if (envelope.network !== networkId) return reject('wrong-network', `${envelope.network} on ${networkId}`);
  const check = checks[envelope.kind];
  if (!check) return reject('wrong-topic', `${kindName(envelope.kind)} is not carried on ${topic}`);
  try {
    return await check(envelope.payload, { topic, from, envelope, data });
  } catch (e) {
    if (e instanceof GossipValidationError) return e.outcome;
    if (e instanceof DecodeError) return reject('undecodable', e.message);
    return ignore('internal', (e as Error).message);
  }
}

export type OutcomeListener = (o: ValidationOutcome, topic: string, from: string) => void;

/** A gossipsub topic validator for `topic` running `checks`; `onOutcome` sees every decision (metrics, logs, tests). */
export function makeTopicValidator(networkId: string, checks: PayloadChecks, onOutcome?: OutcomeListener): TopicValidatorFn {
  return async (peer: Parameters<TopicValidatorFn>[0], msg: Message) => {
    // gossipsub (StrictNoSign) has already Rejected any message carrying a libp2p signature
    const from = peer.toString();
    const o = await validateGossip(msg.data, msg.topic, from, networkId, checks);
    onOutcome?.(o, msg.topic, from);
    return toTopicValidatorResult(o);
  };
}

interface LogSink {
  warn(obj: object, msg: string): void;
}

/**
 * Warn lines for rejected gossip, rate-limited: the first rejection of each peer in an interval is
 * logged with its details (at most `perInterval` such lines), everything else is counted and
 * summarised in one line per interval (per code and per peer), so a flood of invalid messages costs
 * one line per interval instead of one per message.
 */
export class RejectLog {
  private readonly log: LogSink;
  private readonly what: string;
  private readonly intervalMs: number;
  private readonly perInterval: number;
  private readonly seen = new Set<string>();
  private suppressed = 0;
  private readonly byCode = new Map<string, number>();
  private readonly byPeer = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(log: LogSink, what: string, o: { intervalMs?: number; perInterval?: number } = {}) {
    this.log = log;
    this.what = what;
    this.intervalMs = o.intervalMs ?? 10_000;
    this.perInterval = o.perInterval ?? 16;
  }

  note(o: ValidationOutcome, topic: string, from: string): void {
    if (o.action !== 'reject') return;
    if (!this.seen.has(from) && this.seen.size < this.perInterval) {
      this.seen.add(from);
      this.log.warn({ topic, from, code: o.code, msg: o.message }, this.what);
    } else {
      this.suppressed++;
      this.byCode.set(o.code, (this.byCode.get(o.code) ?? 0) + 1);
      if (this.byPeer.has(from) || this.byPeer.size < 8) this.byPeer.set(from, (this.byPeer.get(from) ?? 0) + 1);
    }
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Logs the summary of the interval (if anything was suppressed) and starts a new interval. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.suppressed > 0) {
      this.log.warn({ count: this.suppressed, intervalMs: this.intervalMs, codes: Object.fromEntries(this.byCode), peers: Object.fromEntries(this.byPeer) }, `${this.what} (more, summarised)`);
    }
    this.seen.clear();
    this.suppressed = 0;
    this.byCode.clear();
    this.byPeer.clear();
  }
}
