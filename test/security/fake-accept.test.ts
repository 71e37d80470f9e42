// Attack 3 of issue #22: censor transfers with fake "accepted" answers. A transfer is sent to a node
// that is not its sender's home; the home node is paused (SIGSTOP, ~8 s); an outside libp2p peer
// has connected to the entry node, subscribed to tx/<home> and answers every direct submission with
// "accepted". Property: the client never gets a third party's verdict. It gets the home validator's
// own verdict, or "forwarded" (no verdict) or "unroutable"; the outsider answers nothing; and a
// transfer the client was told "accepted" or "forwarded" for does reach the home node (committed
// there once it resumes). Before the fix the entry node asked whichever peer subscribed to
// tx/<home>, so the client got 202 "accepted" from the outsider and the transfer never existed.
// SMT_SEC_BIN=<checkout>/bin/smt.mjs runs the nodes of another checkout (the "before" run).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ShardId } from '../../src/core/ids.js';
import { decodeTxBatch } from '../../src/gossip/encoding.js';
import { submitProtocol, encodeSubmitResults } from '../../src/gossip/submit.js';
import { txTopic } from '../../src/gossip/topics.js';
import { decodeSignedTx, txIdHex } from '../../src/shard/tx.js';
import type { P2PNode } from '../../src/gossip/p2p.js';
import { getJson, outsider, postJson, signedTransfer, sleep, startCluster, until, type SecCluster } from './harness.js';

let c: SecCluster | undefined;
let x: P2PNode | undefined;
let stopped: number | undefined;
after(async () => {
  if (stopped !== undefined) try { process.kill(stopped, 'SIGCONT'); } catch { /* gone */ }
  await x?.close().catch(() => {});
  await c?.teardown();
});

test('a third party subscribed to tx/<home> cannot answer "accepted" for a paused home node', { timeout: 150_000 }, async () => {
  c = await startCluster({ depth: 1, smtBin: process.env.SMT_SEC_BIN });
  const HOME = '1' as ShardId, ENTRY = '0';
  const sender = c.accounts().find((a) => a.home === HOME)!;
  const to = c.accounts().find((a) => a.home === HOME && a.address !== sender.address)!.address;
  const nonce = BigInt((await getJson(`${c.url(HOME)}/v1/account/${sender.address}`)).body.nonce ?? 0);

  // the outsider: subscribes to the home's tx topic and says "accepted" to every submission
  x = await outsider(c, ENTRY, 'fake-home');
  let answered = 0;
  x.subscribe(txTopic(c.genesis.networkId, HOME), () => {});
  await x.handle(submitProtocol(c.genesis.networkId), async (req) => {
    answered++;
    const txs = decodeTxBatch(req);
    return encodeSubmitResults(txs.map((t) => ({ ok: true as const, txid: txIdHex(decodeSignedTx(t).tx) })));
  }, 1 << 20);
  const connected = await until('the outsider to connect to the entry node', 8000, () => (x!.connectedPeers().length > 0 ? true : undefined)).catch(() => false);
  if (connected) await sleep(1500); // subscriptions exchanged
  console.log(`outsider connected to the entry node (its own view; a gater closes it right after the handshake): ${connected}`);

  const { hex, txid } = signedTransfer(c, sender.file, to, 3n, nonce);
  stopped = c.pidOf(HOME);
  process.kill(stopped, 'SIGSTOP');
  const t0 = Date.now();
  let r: { status: number; body: any };
  try {
    r = await postJson(`${c.url(ENTRY)}/v1/tx`, { tx: hex }, 30_000);
    await sleep(Math.max(0, t0 + 8000 - Date.now())); // the home stays paused ~8 s in all
  } finally {
    process.kill(stopped, 'SIGCONT');
    stopped = undefined;
  }
  console.log(`entry node answered ${r.status} ${JSON.stringify(r.body)}; outsider answered ${answered} submission(s)`);
  assert.equal(answered, 0, 'the outsider was never asked for a verdict');
  if (r.status === 202) {
    assert.ok(['accepted', 'forwarded'].includes(r.body.status), JSON.stringify(r.body));
    // what the client was told was handed on must really be on the home node: it commits there
    const st = await until(`transfer ${txid.slice(0, 8)} committed on its home node`, 30_000, async () => {
      const s = await getJson(`${c!.url(HOME)}/v1/tx/${txid}`);
      return s.body?.status === 'committed' ? s.body : undefined;
    });
    assert.equal(st.status, 'committed');
  } else {
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'unroutable');
  }
});
