// Attack: a bad-signature transaction flood over gossip from a compromised validator. The attacker
// holds shard 2's validator key (its node is stopped and the attacker takes its libp2p identity, so
// a gater admitting only genesis validators lets it in) and publishes batches of 2,000 transfers on
// shard 0's tx topic, as fast as it can: funded senders of shard 0, nonces inside the window,
// garbage signatures, every transfer different. Counted: transactions sent (in messages gossipsub
// actually queued to the target, not those it dropped because the stream's buffer was full).
// Before: batches were Accepted unverified (and relayed); the shard verified every signature later.
// After: the gossip validator verifies them (workers, bounded), Rejects the batch, the attacker is
// graylisted within a few batches and everything after is dropped unread.
// The run includes the node working off what it queued (until its counters of handled gossip stop).
import { randomFillSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { privateKeyFromRaw, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { AbuseModule } from '../bench-abuse.js';
import type { SecCluster } from '../../test/security/harness.js';
import { getJson, sleep } from '../../test/security/harness.js';
import { loadKeyFile } from '../../src/core/keyfile.js';
import { createP2PNode } from '../../src/gossip/p2p.js';
import { encodeEnvelope, encodeTxBatch, GossipKind } from '../../src/gossip/encoding.js';
import { txTopic } from '../../src/gossip/topics.js';
import { validatorKeyPath } from '../../src/node/network-dir.js';
import { encodeSignedTx } from '../../src/shard/tx.js';
import type { ShardId } from '../../src/core/ids.js';

const TARGET = '0';
const IMPERSONATED = '2';
const PER_BATCH = 2000;

/** Stops `shard`'s node and returns a libp2p node with its validator identity dialling `target`. */
async function compromisedValidator(c: SecCluster, shard: string, target: string) {
  process.kill(c.pidOf(shard), 'SIGKILL');
  const kp = loadKeyFile(validatorKeyPath(c.netDir, shard)).keyPair;
  const file = join(c.tmp, `compromised-${shard}.key`);
  writeFileSync(file, privateKeyToProtobuf(privateKeyFromRaw(kp.secretKey)), { mode: 0o600 });
  const t = c.byShard(target);
  return createP2PNode({ peerKeyFile: file, networkId: c.genesis.networkId, peers: [`/ip4/${t.p2pHost}/tcp/${t.p2pPort}`], heartbeatMs: 200, dialBackoff: { initialMs: 100, maxMs: 1000 } });
}

/** The target's gossip rejections and forwarded transactions refused, from its /metrics. */
async function handled(c: SecCluster): Promise<string> {
  const text = String((await getJson(`${c.url(TARGET)}/metrics`)).body);
  const pick = (re: RegExp): string => re.exec(text)?.[1] ?? '0';
  return `gossip rejected ${pick(/^smt_gossip_rejected\{[^}]*\} (\d+)/m)}, forwarded txs refused ${pick(/^smt_tx_submissions_total\{result="rejected-forwarded"[^}]*\} (\d+)/m)}`;
}

const mod: AbuseModule = {
  name: 'tx-flood',
  what: `a compromised validator (shard ${IMPERSONATED}'s key) publishes ${PER_BATCH}-transfer batches with bad signatures on shard ${TARGET}'s tx topic`,
  target: TARGET,
  async run(c, seconds) {
    const net = c.genesis.networkId;
    // the honest probe sends from the first accounts: flood with the others of the target shard
    const senders = c.accounts().slice(3).filter((a) => a.home === TARGET).map((a) => loadKeyFile(a.file).keyPair.publicKey);
    if (senders.length === 0) throw new Error(`no test account of shard ${TARGET} to impersonate`);
    const to = Buffer.from(c.accounts()[0]!.address, 'hex');
    const p2p = await compromisedValidator(c, IMPERSONATED, TARGET);
    const topic = txTopic(net, TARGET as ShardId);
    // one template batch; each message gets fresh random signatures (the last 64 bytes of every
    // transfer), so every message, and every transaction in it, is new
    const txs = Array.from({ length: PER_BATCH }, (_, k) =>
      encodeSignedTx({ tx: { network: net, from: senders[k % senders.length]!, to, amount: 1n, fee: 1n, nonce: BigInt(k % 4), ts: BigInt(k) }, signature: new Uint8Array(64) }));
    const template = encodeEnvelope({ kind: GossipKind.txBatch, network: net, payload: encodeTxBatch(txs) });
    const stride = txs[0]!.length + 4;
    let sent = 0;
    try {
      for (let i = 0; i < 100 && p2p.topicPeers(topic).length === 0; i++) await sleep(100);
      const end = Date.now() + seconds * 1000;
      while (Date.now() < end) {
        const m = template.slice();
        for (let k = 0; k < PER_BATCH; k++) randomFillSync(m, m.length - k * stride - 64, 64);
        // counted only if it went out (gossipsub drops a message when the stream's buffer is full)
        if ((await p2p.publish(topic, m).catch(() => 0)) > 0) sent += PER_BATCH;
        else await sleep(5);
        if ((sent / PER_BATCH) % 10 === 0) await sleep(1); // let the attacker's own I/O run
      }
      await sleep(500); // what is still buffered goes out before the connection closes
    } finally {
      await p2p.close();
    }
    // What the node queued it still works off after the flood (on a loaded machine, long after):
    // part of the attack's cost. Wait (at most 60 s) until its counters of handled gossip (rejected
    // messages; transactions refused after forwarding) stop moving for 3 s, then report them.
    let last = '';
    for (let i = 0, still = 0; i < 60 && still < 3; i++) {
      await sleep(1000);
      const now = await handled(c).catch(() => last);
      still = now === last ? still + 1 : 0;
      last = now;
    }
    console.log(`target's counters after the flood: ${last}`);
    return sent;
  },
};

export default mod;
