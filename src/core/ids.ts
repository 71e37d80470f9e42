// Names in the Sierpinski hierarchy. A network of depth D has 3^D shards, each named by D ternary
// digits ("01"); a triad is named by a shorter prefix ("0"); the apex is "". Shard index = the
// digits read as a base-3 number, so shard "01" has index 1 and "21" has index 7.

export type ShardId = string & { readonly __brand: 'ShardId' };
export type TriadPath = string & { readonly __brand: 'TriadPath' };

export class InvalidIdError extends Error {
  override name = 'InvalidIdError';
}

const TRITS = /^[012]*$/;

export function shardCount(depth: number): number {
  return 3 ** depth;
}

export function parseShardId(s: string, depth: number): ShardId {
  if (s.length !== depth || !TRITS.test(s)) {
    throw new InvalidIdError(`invalid shard id ${JSON.stringify(s)}: want ${depth} digits from {0,1,2}`);
  }
  return s as ShardId;
}

export function parseTriadPath(s: string, depth: number): TriadPath {
  if (s.length >= depth || !TRITS.test(s)) {
    throw new InvalidIdError(`invalid triad path ${JSON.stringify(s)}: want fewer than ${depth} digits from {0,1,2}`);
  }
  return s as TriadPath;
}

export function shardIndex(id: ShardId): number {
  let n = 0;
  for (const c of id) n = n * 3 + (c.charCodeAt(0) - 48);
  return n;
}

export function shardFromIndex(index: number, depth: number): ShardId {
  if (!Number.isInteger(index) || index < 0 || index >= 3 ** depth) throw new InvalidIdError(`shard index ${index} out of range for depth ${depth}`);
  let s = '';
  for (let i = 0; i < depth; i++) {
    s = String(index % 3) + s;
    index = Math.floor(index / 3);
  }
  return s as ShardId;
}

export function allShards(depth: number): ShardId[] {
  return Array.from({ length: 3 ** depth }, (_, i) => shardFromIndex(i, depth));
}

/** The triad a node (shard or triad) belongs to: its path minus the last digit. */
export function parentOf(path: string): TriadPath {
  if (path.length === 0) throw new InvalidIdError('the apex has no parent');
  return path.slice(0, -1) as TriadPath;
}

/** Position (0..2) of a node within its parent triad. */
export function positionInParent(path: string): number {
  if (path.length === 0) throw new InvalidIdError('the apex has no position');
  return path.charCodeAt(path.length - 1) - 48;
}

/** The three children of a triad path. */
export function childrenOf(path: TriadPath): [string, string, string] {
  return [path + '0', path + '1', path + '2'];
}

/** Ancestors of a shard, nearest first, ending with the apex "". */
export function ancestorsOf(shard: ShardId): TriadPath[] {
  const out: TriadPath[] = [];
  for (let i = shard.length - 1; i >= 0; i--) out.push(shard.slice(0, i) as TriadPath);
  return out;
}
