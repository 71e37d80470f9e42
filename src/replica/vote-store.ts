// A replica's durable vote state (term, votedFor): fsynced before any answer that depends on it
// (docs/REPLICAS.md "Lease and terms"). A small binary file beside the shard's store:
//   u8 version (=1) | u64 term | u8 votedFor (255 = none)
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { VoteState } from './lease.js';

export const VOTE_FILE = 'replica-vote';
/**
 * Present while a replica that discarded its epochs (after diverging) must not vote: it may have
 * acknowledged some of them as durable (src/replica/amnesia.ts). Written before anything is
 * discarded, removed once it holds a writer's epochs again; empty.
 */
export const CATCH_UP_FILE = 'replica-catch-up';

/** Is there a vote record? (None: a new replica, or one whose data dir was lost: src/replica/amnesia.ts.) */
export function hasVoteState(dataDir: string): boolean {
  return existsSync(join(dataDir, VOTE_FILE));
}

export function readVoteState(dataDir: string): VoteState {
  let b: Buffer;
  try {
    b = readFileSync(join(dataDir, VOTE_FILE));
  } catch {
    return { term: 0n, votedFor: null };
  }
  if (b.length !== 10 || b[0] !== 1) throw new Error(`${join(dataDir, VOTE_FILE)} is damaged (${b.length} bytes)`);
  const v = b[9]!;
  return { term: b.readBigUInt64BE(1), votedFor: v === 255 ? null : v };
}

export function hasCatchUpMark(dataDir: string): boolean {
  return existsSync(join(dataDir, CATCH_UP_FILE));
}

/** Sets (durably) or clears the catch-up mark. */
export function setCatchUpMark(dataDir: string, on: boolean): void {
  if (on) {
    const fd = openSync(join(dataDir, CATCH_UP_FILE), 'w', 0o600);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } else {
    rmSync(join(dataDir, CATCH_UP_FILE), { force: true });
  }
  syncDir(dataDir);
}

function syncDir(dataDir: string): void {
  const dir = openSync(dataDir, 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

export function writeVoteState(dataDir: string, s: VoteState): void {
  const b = Buffer.alloc(10);
  b[0] = 1;
  b.writeBigUInt64BE(s.term, 1);
  b[9] = s.votedFor ?? 255;
  const tmp = join(dataDir, `${VOTE_FILE}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, b);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dataDir, VOTE_FILE));
  syncDir(dataDir);
}

/** The vote record of a replica's data directory (the node's VoteRecord). */
export function fileVoteRecord(dataDir: string): { has(): boolean; read(): VoteState; write(s: VoteState): void; catchUp(): boolean; clearCatchUp(): void } {
  return {
    has: () => hasVoteState(dataDir), read: () => readVoteState(dataDir), write: (s) => writeVoteState(dataDir, s),
    catchUp: () => hasCatchUpMark(dataDir), clearCatchUp: () => setCatchUpMark(dataDir, false),
  };
}
