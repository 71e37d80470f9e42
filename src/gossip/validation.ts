// Gossip validation outcomes -> gossipsub Accept / Ignore / Reject, in one place.
// Reject (the sender's score drops; never forwarded): oversized, undecodable, wrong network, wrong
// topic for the kind, bad signature, invalid content. Ignore (not forwarded, no penalty): stale,
// duplicate, not yet checkable, internal errors. The payload checks are callbacks, so this layer
// knows nothing about shards or aggregates.
import { TopicValidatorResult, type Message, type TopicValidatorFn } from '@libp2p/gossipsub';
import { DecodeError } from '../core/bytes.js';
import { decodeEnvelope, kindName, MAX_GOSSIP_BYTES, OversizedError, type Envelope, type GossipKind } from './encoding.js';

export type RejectCode = 'oversized' | 'undecodable' | 'wrong-network' | 'wrong-topic' | 'bad-signature' | 'invalid' | 'unsigned';
export type IgnoreCode = 'stale' | 'duplicate' | 'unknown' | 'internal';

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
    return await check(envelope.payload, { topic, from, envelope });
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
    const from = peer.toString();
    const o = msg.type !== 'signed'
      ? reject('unsigned', 'StrictSign: unsigned message')
      : await validateGossip(msg.data, msg.topic, from, networkId, checks);
    onOutcome?.(o, msg.topic, from);
    return toTopicValidatorResult(o);
  };
}
