// A follower replica hands a batch to its writer and answers with the writer's answer: the client's
// `Prefer: return=minimal` must reach the writer (the short answer: counts and only the refused
// transfers, `Preference-Applied` set), and without it the full answer (one result per transfer).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ReplicaSet } from './replica-set.js';
import { until } from '../support/wait.js';
import { loadKeyFile } from '../../src/core/keyfile.js';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { encodeSignedTx, signTransfer } from '../../src/shard/tx.js';

let set: ReplicaSet | undefined;
after(async () => set?.teardown());

test('a follower forwards Prefer: return=minimal to the writer and passes the short answer back', { timeout: 120_000 }, async () => {
  set = await ReplicaSet.create({ epochMs: 500, accounts: 4 });
  const s = set;
  s.startAll();
  const w = await until('a writer with a committed epoch', 60_000, () => s.writer());
  const follower = (w + 1) % s.urls.length;
  await until('the follower knows the writer', 30_000, async () => ((await s.status(follower))?.writer === w ? true : undefined));
  const accts = s.accounts();
  const kp = loadKeyFile(accts[0]!.keyFile).keyPair;
  const to = fromHex(accts[1]!.address, 20);
  // two good transfers (nonces 0, 1) and one over the balance: the short answer lists only the third
  const txs = [0n, 1n, 2n].map((nonce) => toHex(encodeSignedTx(signTransfer(
    { network: s.genesis.networkId, from: kp.publicKey, to, amount: nonce === 2n ? 2n ** 63n : 1n, fee: 1n, nonce, ts: 0n }, kp.secretKey))));
  const post = (prefer?: string) => fetch(`${s.urls[follower]}/v1/tx`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...(prefer ? { prefer } : {}) }, body: JSON.stringify({ txs }), signal: AbortSignal.timeout(10_000),
  });
  const short = await post('return=minimal');
  assert.equal(short.headers.get('preference-applied'), 'return=minimal', 'the writer applied the preference and the follower passed the header on');
  const body = (await short.json()) as { accepted: number; rejected: number; rejections?: { index: number; reason: string }[]; results?: unknown };
  assert.equal(body.results, undefined, 'the short answer has no per-transfer results');
  assert.equal(body.accepted, 2);
  assert.equal(body.rejected, 1);
  assert.deepEqual(body.rejections?.map((r) => r.index), [2], 'only the refused transfer, with its position');
  // the same batch again, without the header: the full answer, one result per transfer (all three
  // refused now: the first two are known, the third still over the balance)
  const full = await post();
  assert.equal(full.headers.get('preference-applied'), null);
  const fb = (await full.json()) as { results?: { status: string }[] };
  assert.equal(fb.results?.length, 3, 'the full answer lists every transfer');
});
