// `smt tx send|status`: sign and submit a transfer; follow a transaction to `committed`.
import { loadNetworkGenesis } from '../../node/network-dir.js';
import type { Command } from 'commander';
import { fromHex, toHex } from '../../core/bytes.js';
import { homeShard, parseAddress } from '../../core/address.js';
import { Hlc } from '../../core/hlc.js';
import { loadKeyFile } from '../../core/keyfile.js';
import { encodeSignedTx, signTransfer, txIdHex, type Transfer } from '../../shard/tx.js';
import { fetchSignedSnapshot } from '../anchor.js';
import { addJsonOption, addNodeOption, CliError, nodeRequest, parseU64, printFields, printJson, sleep } from '../client.js';
import { clusterApiUrls, clusterNodeUrl } from '../../cluster/cluster.js';
import { lightClientFor, printLight } from '../light.js';
import { LightVerifyError } from '../../light/verify.js';
import { DEFAULT_NODE_URL } from '../client.js';

/** The API URL of `shard`'s node from the network dir's cluster.json (a replicated shard's current writer), or a CliError explaining how to reach it. */
export async function homeNodeUrl(shard: string, what: string, network: string | undefined): Promise<string> {
  const url = network ? await clusterNodeUrl(network, shard) : undefined;
  if (url) return url;
  throw new CliError(`${what} lives on shard ${shard}: pass --node <that shard's API URL>, or --network DIR whose cluster.json maps shards to nodes`);
}

/** --node left at its default while --network is given: cluster.json picks the node (see homeNodeUrl). */
export function nodeDefaulted(node: string, network: string | undefined): boolean {
  return network !== undefined && node === (process.env.SMT_NODE ?? DEFAULT_NODE_URL);
}

/** With --network and no --node: the node of `address`'s home shard (its current writer), else `node`. */
export async function homeNodeOf(address: Uint8Array, node: string, network: string | undefined): Promise<string> {
  if (!nodeDefaulted(node, network)) return node;
  const g = loadNetworkGenesis(network!);
  return (await clusterNodeUrl(network!, homeShard(address, g.depth))) ?? node;
}

interface TxStatusJson {
  txid: string;
  status: 'pending' | 'committed' | 'rejected' | 'unknown';
  epoch?: number;
  txRoot?: string;
  proof?: string;
  value?: string;
  reason?: string;
  message?: string;
  crossShard?: { srcShard: string; dstShard: string; debitEpoch: number; seq?: string };
  credit?: { shard: string; epoch: number; srcShard: string; srcEpoch: number; seq: string };
}

/**
 * Polls GET /v1/tx/:id until the transaction is committed or rejected, or the timeout passes. With
 * `rediscover` (a replicated shard), a node that stops answering is replaced by the one it names
 * (its shard's writer may have failed over) until the timeout.
 */
export async function waitForCommit(node: string, txid: string, timeoutMs: number, intervalMs = 200, rediscover?: () => Promise<string | undefined>): Promise<TxStatusJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let body: TxStatusJson | undefined;
    try {
      body = (await nodeRequest<TxStatusJson>(node, `v1/tx/${txid}`, { timeoutMs: 5000 })).body;
    } catch (e) {
      if (!rediscover || !(e instanceof CliError) || Date.now() >= deadline) throw e;
      node = (await rediscover()) ?? node;
    }
    if (body && (body.status === 'committed' || body.status === 'rejected')) return body;
    if (Date.now() >= deadline) throw new CliError(`transaction ${txid} still ${body?.status ?? 'unknown'} after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(intervalMs);
  }
}

export function register(program: Command): void {
  const tx = program.command('tx').description('send transfers and follow them');

  const send = tx
    .command('send')
    .description('sign a transfer with a key file and submit it to a node')
    .requiredOption('--key <file>', 'sender key file (mode 0600)')
    .requiredOption('--to <address>', 'recipient address (40 hex digits)')
    .requiredOption('--amount <n>', 'amount in base units (> 0)')
    .option('--fee <n>', 'fee in base units (burned)', '0')
    .option('--nonce <n>', 'use this nonce instead of the node\'s pendingNonce for the sender')
    .option('--wait', 'wait until the transfer is committed (sealed and durable) and print its epoch')
    .option('--timeout <seconds>', 'with --wait: give up after this many seconds', '60')
    .option('--network <dir>', 'network directory: without --node, its cluster.json picks the sender\'s home shard node (a replicated shard\'s current writer, asked of its replicas; any node accepts and forwards the transfer)');
  addNodeOption(send);
  addJsonOption(send);
  send.addHelpText('after', `
The nonce is the sender's pendingNonce as reported by the node (committed nonce plus
transactions already waiting in the mempool); the network id comes from GET /v1/health.
"accepted" means the node's mempool took it; only "committed" means it is sealed in an
epoch and on disk.

Examples:
  smt tx send --key ./devnet/accounts/0.key --to 3f1c...e9 --amount 25 --wait
  smt tx send --key alice.key --to 3f1c...e9 --amount 1000 --fee 1 --node http://127.0.0.1:7701 --json
`);
  send.action(async (o: { key: string; to: string; amount: string; fee: string; nonce?: string; wait?: boolean; timeout: string; node: string; json?: boolean; network?: string }) => {
    if (o.network !== undefined) loadNetworkGenesis(o.network); // a --network that is not a network directory is an error, as elsewhere
    const key = loadKeyFile(o.key);
    let to: Uint8Array;
    try {
      to = parseAddress(o.to);
    } catch (e) {
      throw new CliError(`--to: ${(e as Error).message}`);
    }
    const amount = parseU64(o.amount, '--amount', { positive: true });
    const fee = parseU64(o.fee, '--fee');
    const timeoutS = Number(o.timeout);
    if (!(timeoutS > 0)) throw new CliError('--timeout must be a positive number of seconds');
    // with --network (and no --node): straight to the sender's home shard's node, a replicated shard's writer
    o.node = await homeNodeOf(key.address, o.node, o.network);
    const health = (await nodeRequest<{ network: string }>(o.node, 'v1/health', { allowStatus: [503] })).body;
    const from = toHex(key.address);
    // The sender's nonce lives on its home shard: follow a wrong-shard answer there (cluster.json).
    let home = o.node;
    let nonce: bigint;
    if (o.nonce !== undefined) nonce = parseU64(o.nonce, '--nonce');
    else {
      let r = await nodeRequest<{ pendingNonce: string; error?: { shard?: string } }>(o.node, `v1/account/${from}`, { allowStatus: [421] });
      if (r.status === 421) {
        home = await homeNodeUrl(r.body.error?.shard ?? '?', `sender ${from}`, o.network);
        r = await nodeRequest(home, `v1/account/${from}`);
      }
      nonce = BigInt(r.body.pendingNonce);
    }
    const t: Transfer = { network: health.network, from: key.keyPair.publicKey, to, amount, fee, nonce, ts: new Hlc().now() };
    const signed = encodeSignedTx(signTransfer(t, key.keyPair.secretKey));
    const txid = txIdHex(t);
    const sub = (await nodeRequest<{ status: string; shard?: string }>(o.node, 'v1/tx', { body: { tx: toHex(signed) } })).body;
    const forwarded = sub.status === 'forwarded';
    const elsewhere = sub.shard !== undefined; // handled by the sender's home shard's node, not o.node
    if (!o.wait) {
      if (o.json) return printJson({ txid, status: sub.status, ...(elsewhere ? { shard: sub.shard } : {}), from, to: o.to, amount, fee, nonce });
      const what = forwarded
        ? `forwarded to its home shard ${sub.shard} (not committed yet; use --wait or \`smt tx status\` on that shard's node)`
        : elsewhere
          ? `accepted by its home shard ${sub.shard} (in that node's mempool; not committed yet; use --wait or \`smt tx status\` on that shard's node)`
          : 'accepted (in the mempool; not committed yet; use --wait or `smt tx status`)';
      printFields([['txid', txid], ['status', what], ['nonce', nonce]]);
      return;
    }
    const homeShardId = sub.shard ?? (o.network ? homeShard(key.address, loadNetworkGenesis(o.network).depth) : undefined);
    if (elsewhere && home === o.node) home = await homeNodeUrl(sub.shard ?? '?', `transaction ${txid}`, o.network);
    const network = o.network;
    const st = await waitForCommit(home, txid, timeoutS * 1000, 200, network && homeShardId !== undefined ? () => clusterNodeUrl(network, homeShardId) : undefined);
    if (st.status === 'rejected') throw new CliError(`transaction ${txid} was rejected: ${st.reason}: ${st.message}`);
    if (o.json) return printJson({ txid, status: st.status, epoch: st.epoch, from, to: o.to, amount, fee, nonce });
    printFields([['txid', txid], ['status', `committed in epoch ${st.epoch}`], ['nonce', nonce]]);
  });

  const status = tx
    .command('status')
    .description('show a transaction\'s status: pending, committed (with epoch and verified inclusion proof), rejected or unknown')
    .argument('<txid>', 'transaction id (64 hex digits)')
    .option('--network <dir>', 'check the snapshot signature against this network\'s genesis validator key (and ask every node of its cluster.json if --node does not know the transaction; for a cross-shard transfer, also ask the destination shard\'s node for the credit half)');
  status.option('--light', 'light client: inclusion (and for a cross-shard transfer, the credit) verified from the genesis alone up to a final global epoch');
  addNodeOption(status);
  addJsonOption(status);
  status.addHelpText('after', `
For a committed transaction the inclusion proof is checked locally against the tx root of its
epoch, and that root against the signed snapshot of the epoch (signature verified).
Exit code: 0 if committed or pending, 1 if rejected, unknown, or the proof fails.

Examples:
  smt tx status 9b0c...41
  smt tx status 9b0c...41 --json --node http://127.0.0.1:7701
  smt tx status 9b0c...41 --light --network ./devnet
`);
  status.action(async (id: string, o: { node: string; json?: boolean; network?: string; light?: boolean }) => {
    try {
      fromHex(id, 32);
    } catch {
      throw new CliError(`transaction id must be 64 hex digits, got ${JSON.stringify(id.slice(0, 80))}`);
    }
    if (o.light) return lightTxStatus(id, o);
    let { body: st } = await nodeRequest<TxStatusJson>(o.node, `v1/tx/${id}`);
    // A node only knows its own shard's transactions: with a cluster.json, ask the other nodes too.
    const others = st.status === 'unknown' && o.network ? [...(clusterApiUrls(o.network)?.values() ?? [])].filter((u) => u !== o.node) : [];
    for (const url of others) {
      const r = await nodeRequest<TxStatusJson>(url, `v1/tx/${id}`).catch(() => undefined);
      if (r && r.body.status !== 'unknown') {
        st = r.body;
        o.node = url;
        break;
      }
    }
    // A cross-shard transfer has two halves: debited here, credited on the destination's node, which
    // finds it by its receipt (source shard, seq).
    let credit = st.credit;
    if (st.crossShard?.seq !== undefined && !credit && o.network) {
      const url = clusterApiUrls(o.network)?.get(st.crossShard.dstShard);
      if (url) credit = (await nodeRequest<TxStatusJson>(url, `v1/tx/${id}?src=${st.crossShard.srcShard}&seq=${st.crossShard.seq}`).catch(() => undefined))?.body.credit;
    }
    const { checkTxProof } = await import('../verify.js');
    let proofError = st.status === 'committed' ? checkTxProof(st.txid, st.txRoot!, st.proof!, st.value!) : undefined;
    let anchor = '';
    if (st.status === 'committed' && !proofError) {
      const snap = await fetchSignedSnapshot(o.node, st.epoch!, o.network);
      if (toHex(snap.signed.snapshot.txRoot) !== st.txRoot) proofError = `tx root differs from the signed snapshot of epoch ${st.epoch}`;
      else if (!snap.signatureValid) proofError = `the snapshot of epoch ${st.epoch} has an invalid signature (${snap.keySource})`;
      else anchor = `snapshot of epoch ${st.epoch}, signature valid (${snap.keySource})`;
    }
    if (o.json) printJson({ ...st, ...(credit ? { credit } : {}), ...(st.status === 'committed' ? { proofVerified: proofError === undefined, ...(proofError ? {} : { anchoredTo: anchor }) } : {}) });
    else {
      const f: [string, unknown][] = [['txid', st.txid], ['status', st.status]];
      if (st.status === 'committed') {
        f.push(['epoch', st.epoch], ['proof', proofError ? `FAILED: ${proofError}` : `verified against tx root ${st.txRoot}`]);
        if (!proofError) f.push(['anchored', anchor]);
      }
      if (st.crossShard) {
        f.push(['debited', `shard ${st.crossShard.srcShard} epoch ${st.crossShard.debitEpoch}${st.crossShard.seq !== undefined ? ` (receipt seq ${st.crossShard.seq} to shard ${st.crossShard.dstShard})` : ''}`]);
        f.push(['credited', credit ? `shard ${credit.shard} epoch ${credit.epoch} (receipt seq ${credit.seq})` : `not yet on shard ${st.crossShard.dstShard}${o.network ? '' : ' (pass --network DIR to ask its node)'}`]);
      }
      if (st.status === 'rejected') f.push(['reason', `${st.reason}: ${st.message}`]);
      if (st.status === 'unknown') f.push(['note', `this node has never seen the transaction (or it was dropped from the mempool before commit)${o.network ? '' : '; a node knows only its own shard\'s transactions: --network DIR asks every node of the cluster'}`]);
      printFields(f);
    }
    if (proofError) throw new CliError(`inclusion proof of ${st.txid} does not verify: ${proofError}`);
    if (st.status === 'rejected' || st.status === 'unknown') process.exitCode = 1;
  });
}

async function lightTxStatus(id: string, o: { node: string; json?: boolean; network?: string }): Promise<void> {
  const { lc, trust } = await lightClientFor({ node: o.node === (process.env.SMT_NODE ?? DEFAULT_NODE_URL) && o.network ? undefined : o.node, network: o.network });
  const t0 = performance.now();
  try {
    const v = await lc.tx(id);
    const t = v.inclusion.value;
    const checks = [...v.inclusion.checks];
    const data: Record<string, unknown> = { txid: t.txid, status: `committed in epoch ${t.epoch} on shard ${v.inclusion.shard}`, from: t.from, to: t.to, amount: t.amount, fee: t.fee, nonce: t.nonce, global: `epoch ${v.inclusion.globalEpoch}` };
    if (v.credit?.verified) {
      checks.push(...v.credit.cursor.checks, v.credit.check);
      data.credited = `on shard ${v.credit.cursor.shard} (proven at global epoch ${v.credit.cursor.globalEpoch})`;
    } else if (v.credit) data.credited = `not shown yet: ${v.credit.reason}`;
    printLight(!!o.json, data, checks, lc, performance.now() - t0, trust);
  } catch (e) {
    if (e instanceof LightVerifyError) throw new CliError(`light verification FAILED at ${e.message} (${lc.bytesFetched} bytes fetched)`);
    throw new CliError((e as Error).message);
  }
}
