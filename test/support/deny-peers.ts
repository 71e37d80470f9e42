// Partitioning real node processes in tests: each node runs with its own deny-list file (the node's
// `--deny-peers` option, given here by its environment variable so that every way of starting a
// node passes it; src/gossip/deny-list.ts), and the test rewrites the files to cut and heal.
import { writeFileSync } from 'node:fs';

/** The environment variable of `smt node start --deny-peers` (src/cli/config.ts names it). */
export const DENY_PEERS_ENV = 'SMT_DENY_PEERS';

/** `base` with the node's deny list at `file`. */
export function withDenyList(file: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, [DENY_PEERS_ENV]: file };
}

/** Denies exactly `peerIds` from now on (an empty list heals). */
export function writeDenyList(file: string, peerIds: Iterable<string>): void {
  writeFileSync(file, [...peerIds].map((p) => p + '\n').join(''));
}
