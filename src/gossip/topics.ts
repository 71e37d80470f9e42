// Typed gossip topics <-> topic strings, both ways, under /smt/<network-id>/...
//   /smt/<net>/tx/<shard>     transactions for a shard (any node forwards to the home shard's topic)
//   /smt/<net>/triad/<path>   triad <path>: its children's snapshots / final aggregates and its own
//                             aggregate signatures (path non-empty)
//   /smt/<net>/apex           the apex triad "" (same role as triad/<path>; an empty path segment
//                             would be ambiguous in a topic string), plus the global snapshots
//   /smt/<net>/signers/<path|apex>/<phase>
//                             member signatures of an upper triad (above the lowest level) in the
//                             epochs with epoch mod 3 = phase: only that phase's three signers listen
import type { ShardId, TriadPath } from '../core/ids.js';

export type GossipTopic =
  | { kind: 'tx'; network: string; shard: ShardId }
  | { kind: 'triad'; network: string; path: TriadPath }
  | { kind: 'signers'; network: string; path: TriadPath; phase: number };

export class TopicError extends Error {
  override name = 'TopicError';
}

const NETWORK = /^[a-z0-9-]{1,32}$/;
const TRITS = /^[012]+$/;

export function topicToString(t: GossipTopic): string {
  if (!NETWORK.test(t.network)) throw new TopicError(`invalid network id ${JSON.stringify(t.network)}`);
  if (t.kind === 'tx') {
    if (!TRITS.test(t.shard) && t.shard !== '') throw new TopicError(`invalid shard ${JSON.stringify(t.shard)}`);
    return `/smt/${t.network}/tx/${t.shard}`;
  }
  if (t.path !== '' && !TRITS.test(t.path)) throw new TopicError(`invalid triad path ${JSON.stringify(t.path)}`);
  if (t.kind === 'signers') {
    if (!Number.isInteger(t.phase) || t.phase < 0 || t.phase > 2) throw new TopicError(`invalid phase ${t.phase}`);
    return `/smt/${t.network}/signers/${t.path === '' ? 'apex' : t.path}/${t.phase}`;
  }
  if (t.path === '') return `/smt/${t.network}/apex`;
  return `/smt/${t.network}/triad/${t.path}`;
}

/** Parses a topic string; `depth` (if given) also checks that shard and triad names fit the network. */
export function parseTopic(s: string, depth?: number): GossipTopic {
  const parts = s.split('/');
  if (parts.length < 4 || parts[0] !== '' || parts[1] !== 'smt' || !NETWORK.test(parts[2]!)) throw new TopicError(`not an smt topic: ${JSON.stringify(s.slice(0, 100))}`);
  const network = parts[2]!;
  if (parts.length === 4 && parts[3] === 'apex') return { kind: 'triad', network, path: '' as TriadPath };
  if (parts.length === 5 && parts[3] === 'tx' && (TRITS.test(parts[4]!) || parts[4] === '')) {
    if (depth !== undefined && parts[4]!.length !== depth) throw new TopicError(`shard ${parts[4]} does not fit depth ${depth}`);
    return { kind: 'tx', network, shard: parts[4] as ShardId };
  }
  if (parts.length === 5 && parts[3] === 'triad' && TRITS.test(parts[4]!)) {
    if (depth !== undefined && parts[4]!.length >= depth) throw new TopicError(`triad ${parts[4]} does not fit depth ${depth}`);
    return { kind: 'triad', network, path: parts[4] as TriadPath };
  }
  if (parts.length === 6 && parts[3] === 'signers' && (parts[4] === 'apex' || TRITS.test(parts[4]!)) && /^[012]$/.test(parts[5]!)) {
    const path = parts[4] === 'apex' ? '' : parts[4]!;
    // only upper triads have a signers topic: a lowest triad's members all sign, on its own topic
    if (depth !== undefined && path.length >= depth - 1) throw new TopicError(`triad ${JSON.stringify(path)} has no signers topic at depth ${depth}`);
    return { kind: 'signers', network, path: path as TriadPath, phase: Number(parts[5]) };
  }
  throw new TopicError(`unknown smt topic: ${JSON.stringify(s.slice(0, 100))}`);
}

export function txTopic(network: string, shard: ShardId): string {
  return topicToString({ kind: 'tx', network, shard });
}

export function triadTopic(network: string, path: TriadPath | string): string {
  return topicToString({ kind: 'triad', network, path: path as TriadPath });
}

/** Where the member signatures of upper triad `path` in epochs with `epoch mod 3 = phase` travel. */
export function signersTopic(network: string, path: TriadPath | string, phase: number): string {
  return topicToString({ kind: 'signers', network, path: path as TriadPath, phase });
}
