// What this build is: the software version, the version byte of every canonical encoding on the wire
// and on disk, and the circuits' key (the hash of their sources and toolchain, which names the
// artifacts a node proves and verifies with). Shown by `smt version`, /v1/health and smt_build_info.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TX_VERSION } from '../shard/tx.js';
import { SNAPSHOT_VERSION } from '../shard/snapshot.js';
import { AGGREGATE_VERSION } from '../hierarchy/aggregate.js';
import { FINAL_VERSION } from '../hierarchy/finality.js';
import { ENVELOPE_VERSION } from '../gossip/encoding.js';
import { RECEIPT_BATCH_VERSION } from '../shard/receipts.js';
import { TRIAD_PROOF_VERSION } from '../proof/triad-proof.js';
import { GLOBAL_PROOF_VERSION } from '../proof/global.js';
import { circuitsBuilt, circuitsKey, REPO_ROOT } from '../proof/artifacts.js';

export interface BuildInfo {
  version: string;
  node: string;
  formats: Record<string, number>;
  circuits: { key: string; built: boolean };
}

let memo: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  memo ??= {
    version: (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    node: process.version,
    formats: {
      tx: TX_VERSION, snapshot: SNAPSHOT_VERSION, aggregate: AGGREGATE_VERSION, final: FINAL_VERSION, envelope: ENVELOPE_VERSION,
      receiptBatch: RECEIPT_BATCH_VERSION, triadProof: TRIAD_PROOF_VERSION, globalProof: GLOBAL_PROOF_VERSION,
    },
    circuits: { key: circuitsKey(), built: circuitsBuilt() },
  };
  return memo;
}

/** The lines `smt version` prints. */
export function buildInfoText(b = buildInfo()): string {
  return [
    `smt ${b.version} (Node.js ${b.node})`,
    `formats:  ${Object.entries(b.formats).map(([k, v]) => `${k} v${v}`).join(', ')}`,
    `circuits: key ${b.circuits.key}${b.circuits.built ? '' : ' (artifacts not built: npm run build:circuits)'}`,
  ].join('\n');
}
