// One wake-up a second for the network layer's periodic work instead of three. Gossipsub runs its
// heartbeat (a timer re-armed on a fixed grid) and, apart from it, its peer score's refresh and
// decay (a setInterval at decayInterval, 1 s as well, at an unrelated phase), and the node's dialer
// and gossipsub-stream check had a 1 s interval of its own: each timer woke an idle node's event
// loop once a second, at ~0.1-0.2 ms of CPU per wake-up on a 2-core machine, mostly to find
// nothing to do. Here the score refresh and the node's own tasks run at the start of each heartbeat.
// Applied to one gossipsub instance (own properties shadow the class method and its score's timer
// is cleared; no file of the library is changed); if the instance lacks what this relies on,
// nothing is changed and the caller keeps its own timer.

/** The gossipsub internals this relies on (@libp2p/gossipsub 17: GossipSub and PeerScore fields). */
interface HeartbeatInternals {
  heartbeat?: unknown;
  opts?: { heartbeatInterval?: unknown };
  score?: {
    _backgroundInterval?: unknown;
    background?: unknown;
    params?: { decayInterval?: unknown };
  };
}

/**
 * Runs `tasks` at the start of every gossipsub heartbeat of `pubsub` (a @libp2p/gossipsub instance
 * that has started), and its score refresh there too when the score decays once per heartbeat (the
 * refresh then runs at the same cadence, just before the heartbeat reads the scores). False (and
 * nothing changed) if the instance lacks the internals this relies on.
 */
export function runOnHeartbeat(pubsub: object, tasks: () => void): boolean {
  const g = pubsub as HeartbeatInternals;
  const beat = g.heartbeat;
  if (typeof beat !== 'function' || typeof g.opts?.heartbeatInterval !== 'number') return false;
  const score = g.score;
  let refresh: (() => void) | undefined;
  if (score && typeof score.background === 'function' && score._backgroundInterval !== undefined && score.params?.decayInterval === g.opts.heartbeatInterval) {
    clearInterval(score._backgroundInterval as NodeJS.Timeout); // PeerScore.stop() clears it again: harmless
    const background = score.background as () => void;
    refresh = () => background.call(score);
  }
  g.heartbeat = function (this: unknown): Promise<void> {
    try {
      refresh?.();
      tasks();
    } catch {
      // the library's own heartbeat still runs; a task reports its own failures
    }
    return (beat as () => Promise<void>).call(this);
  };
  return true;
}
