// The protocol table: for every gossip message, its kind, the topic it travels on, its codec, its
// validator and its handler, declared in one place per layer (the triad network: network.ts; the
// proofs topic: src/node/proving/gossip.ts) and installed the same way: installRoutes is the only
// place a node subscribes to a topic. The payload is decoded once: the validator's decoding is kept
// (keyed by the message's data object, which gossipsub hands to the validator and to the handler
// alike) and passed to the handler.
import type { GossipKind } from './encoding.js';
import type { P2PNode } from './p2p.js';
import { makeTopicValidator, type OutcomeListener, type PayloadChecks, type PayloadContext, type ValidationOutcome } from './validation.js';
import { decodeEnvelope } from './encoding.js';

/** One row of the table: kind `kind` on `topic`, decoded by `decode`, checked by `validate`, then `handle`d. */
export interface GossipRoute<T> {
  topic: string;
  kind: GossipKind;
  decode(payload: Uint8Array): T;
  /** Runs before the message is relayed; a throw of DecodeError is Rejected as undecodable. */
  validate(msg: T, ctx: PayloadContext): ValidationOutcome | Promise<ValidationOutcome>;
  /** Runs for each accepted message (relayed or not). */
  handle(msg: T, from: string): void;
}

/** Any route, for tables mixing message types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = GossipRoute<any>;

export function route<T>(r: GossipRoute<T>): GossipRoute<T> {
  return r;
}

const installed = new WeakMap<P2PNode, Map<string, GossipKind[]>>();

/** The topics installRoutes subscribed `p2p` to, each with the kinds its table carries there. */
export function routedTopics(p2p: P2PNode): ReadonlyMap<string, readonly GossipKind[]> {
  return installed.get(p2p) ?? new Map();
}

/**
 * Installs `routes` on `p2p`: one topic validator and one subscription per topic. A kind not in
 * the table for a topic is rejected as wrong-topic (validation.ts). Returns the topics subscribed.
 */
export function installRoutes(p2p: P2PNode, networkId: string, routes: readonly AnyRoute[], onOutcome?: OutcomeListener, onMessage?: (data: Uint8Array) => void): string[] {
  const byTopic = new Map<string, Map<GossipKind, AnyRoute>>();
  for (const r of routes) {
    let m = byTopic.get(r.topic);
    if (!m) byTopic.set(r.topic, (m = new Map()));
    if (m.has(r.kind)) throw new Error(`two routes for kind ${r.kind} on ${r.topic}`);
    m.set(r.kind, r);
  }
  let mine = installed.get(p2p);
  if (!mine) installed.set(p2p, (mine = new Map()));
  for (const [topic, kinds] of byTopic) {
    if (mine.has(topic)) throw new Error(`routes for ${topic} installed twice`);
    mine.set(topic, [...kinds.keys()]);
  }
  for (const [topic, kinds] of byTopic) {
    const decoded = new WeakMap<Uint8Array, unknown>();
    const checks: PayloadChecks = {};
    for (const [kind, r] of kinds) {
      checks[kind] = (payload, ctx) => {
        const msg: unknown = r.decode(payload);
        decoded.set(ctx.data, msg);
        return r.validate(msg, ctx);
      };
    }
    p2p.setTopicValidator(topic, makeTopicValidator(networkId, checks, onOutcome));
    p2p.subscribe(topic, (data, info) => {
      onMessage?.(data);
      let msg = decoded.get(data);
      const env = decodeEnvelope(data); // envelope only (cheap); validated already
      const r = kinds.get(env.kind);
      if (!r) return;
      if (msg === undefined) msg = r.decode(env.payload); // a transport that copies the data between validator and handler
      decoded.delete(data);
      r.handle(msg, info.from);
    });
  }
  return [...byTopic.keys()];
}

/** Unsubscribes `p2p` from `topics` installed by installRoutes (a layer closing). */
export function uninstallRoutes(p2p: P2PNode, topics: Iterable<string>): void {
  const mine = installed.get(p2p);
  for (const t of topics) {
    p2p.unsubscribe(t);
    mine?.delete(t);
  }
}
