// A source keeps no copy of its receipt rows (store.ts): a group's row is rebuilt from the tx
// records of the epoch that emitted it. They hold the same txids, recipients and amounts, in the
// same order (the record's index), since the engine (engine.ts) turns every applied transfer whose
// recipient is homed on another shard into that shard's next receipt. Accounts held on a shard are
// homed there (genesis allocates by home, credits are checked against it), so "homed on dst" is the
// engine's test too. A destination checks any row against the proven chain head, so a wrong
// rebuild could not be credited; the count check here reports it at the source first. Pure.
import { homeShard } from '../core/address.js';
import type { ShardId } from '../core/ids.js';
import { decodeTxRecord, newReceiptRow, writeReceiptEntry, RECEIPT_ENTRY_BYTES, type ReceiptGroup } from './records.js';
import { decodeSignedTx } from './tx.js';

/** The row of the group `src` emitted to `dst` at `epoch` (seqs first .. first + n - 1), from that epoch's tx records (txid -> record). */
export function groupFromTxRecords(src: ShardId, dst: ShardId, depth: number, epoch: number, first: bigint, n: number, records: Iterable<readonly [txid: Uint8Array, record: Uint8Array]>): ReceiptGroup {
  const picked: { index: number; txid: Uint8Array; to: Uint8Array; amount: bigint }[] = [];
  for (const [txid, value] of records) {
    const r = decodeTxRecord(value);
    if (r.epoch !== epoch) throw new Error(`receipt group ${src}->${dst}@${epoch}: a tx record of the epoch says epoch ${r.epoch}`);
    const tx = decodeSignedTx(r.signedTx).tx;
    if (homeShard(tx.to, depth) === dst) picked.push({ index: r.index, txid, to: tx.to, amount: tx.amount });
  }
  if (picked.length !== n) throw new Error(`receipt group ${src}->${dst}@${epoch}: the epoch's tx records hold ${picked.length} transfers to ${dst}, the group ${n}`);
  picked.sort((a, b) => a.index - b.index);
  const g = newReceiptRow(src, dst, epoch, first, n);
  for (let i = 0; i < n; i++) {
    const p = picked[i]!;
    writeReceiptEntry(g.row, g.view, g.body + i * RECEIPT_ENTRY_BYTES, p.txid, p.to, p.amount);
  }
  return { src, dst, epoch, first, n, row: g.row, body: g.body };
}
