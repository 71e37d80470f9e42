// A diverged replica's data directory is emptied before it resyncs (docs/REPLICAS.md "Divergence"),
// except its vote state: a replica must never forget the term it voted in.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { VOTE_FILE } from './vote-store.js';

export function wipeDataDir(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (name === VOTE_FILE) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
  }
}
