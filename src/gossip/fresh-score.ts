// A peer's gossipsub score is computed afresh after each invalid message it sent, so its third
// invalid message graylists it at once. Gossipsub decides whether to read a peer's RPC (acceptFrom)
// from a score it caches for one heartbeat (1 s here), and a peer whose score was >= 0 is waved
// through for up to 128 RPCs or 1 s without a look at the score at all; neither is refreshed when a
// message is Rejected (the library leaves that as a TODO). Measured in test/security/gossip-flood:
// the score was computed at the flood's start (0), the first rejection came 35 ms later, and the next
// computation 1 s later found 295 rejected batches of 200 bad transactions, every one of them
// decoded and signature-checked (nothing else looked at the score in between).
// Here every invalid delivery the library counts also drops that peer's cached score and its
// accept-from pass, so its next RPC is admitted on a score that counts it: after three, below the
// graylist threshold, its RPCs are dropped unread (before decoding, message ids and the seen cache;
// a copy an honest peer sends later is read normally). What was already received is still
// validated: a burst in flight when the third rejection lands (in the flood test, up to about a
// dozen batches). A recomputation costs a pass over the peer's scored topics, once per invalid
// message, and an invalid message stops coming once its sender is graylisted.
// Applied to one gossipsub instance (own properties shadow the class method; no file of the library
// is changed); if the instance lacks what this relies on, nothing is changed.

/** The gossipsub internals this relies on (@libp2p/gossipsub 17: PeerScore and GossipSub fields). */
interface ScoreInternals {
  score?: {
    scoreCache?: unknown;
    markInvalidMessageDelivery?: unknown;
  };
  acceptFromWhitelist?: unknown;
}

/** Makes `pubsub` recompute a peer's score after each invalid message it counts from that peer.
 * False (and nothing changed) if the instance lacks the fields this relies on. */
export function freshScoreOnInvalid(pubsub: object): boolean {
  const g = pubsub as ScoreInternals;
  const score = g.score;
  const cache = score?.scoreCache;
  const pass = g.acceptFromWhitelist;
  const mark = score?.markInvalidMessageDelivery;
  if (!score || !(cache instanceof Map) || !(pass instanceof Map) || typeof mark !== 'function') return false;
  // every path that penalises an invalid message goes through here (a Rejected message, its
  // duplicates from other peers, an RPC message that failed before validation)
  score.markInvalidMessageDelivery = function (this: unknown, from: string, topic: string): void {
    mark.call(this, from, topic);
    cache.delete(from);
    pass.delete(from);
  };
  return true;
}
