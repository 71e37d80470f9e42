// Emptying a replica's data directory before it resyncs (docs/REPLICAS.md "Divergence", "State sync").
// Its vote record always stays (a replica must never forget the term it voted in). After divergence
// the epochs discarded may include some this replica acknowledged as durable, so it first sets the
// catch-up mark (vote-store.ts): it withholds its vote until it holds a writer's epochs again
// (amnesia.ts). Before a state sync no mark is needed: everything discarded is below a committed
// snapshot that a majority without this replica holds.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CATCH_UP_FILE, setCatchUpMark, VOTE_FILE } from './vote-store.js';

export function wipeDataDir(dir: string, o: { catchUp: boolean }): void {
  if (o.catchUp) setCatchUpMark(dir, true); // durable before anything is discarded
  for (const name of readdirSync(dir)) {
    if (name === VOTE_FILE || name === CATCH_UP_FILE) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
  }
}
