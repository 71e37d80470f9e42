// Attack: a bad-signature transaction flood over gossip from a compromised validator. The attacker
// holds shard 2's validator key (its node is stopped and the attacker takes its libp2p identity, so
// a gater admitting only genesis validators lets it in) and publishes batches of 2,000 transfers on
// shard 0's tx topic, as fast as it can: funded senders of shard 0, nonces inside the window,
// garbage signatures, every transfer different. Counted: transactions sent.
// Before: batches were Accepted unverified (and relayed); the shard verified every signature later.
// After: the gossip validator verifies them (workers, bounded), Rejects the batch, the attacker is
// graylisted within a few batches and everything after is dropped unread.
// The run includes the node working off what it queued (until its CPU is back near idle).
import { randomFillSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { privateKeyFromRaw, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { AbuseModule } from '../bench-abuse.js';
import type { SecCluster } from '../../test/security/harness.js';
import { cpuSeconds, sleep } from '../../test/security/harness.js';
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
        await p2p.publish(topic, m).catch(() => 0);
        sent += PER_BATCH;
        if ((sent / PER_BATCH) % 10 === 0) await sleep(1); // let the attacker's own I/O run
      }
    } finally {
      await p2p.close();
    }
    // What the node queued it still works off after the flood: part of the attack's cost. Wait (at
    // most 30 s) until a second of its CPU is back near idle.
    const pid = c.pidOf(TARGET);
    for (let i = 0, last = cpuSeconds(pid); i < 30; i++) {
      await sleep(1000);
      const now = cpuSeconds(pid);
      if (now - last < 0.3) break;
      last = now;
    }
    return sent;
  },
};

export default mod;
