// `smt account ADDR`: balance and nonce, with the trie proof checked locally.
import type { Command } from 'commander';
import { parseAddress } from '../../core/address.js';
import { toHex } from '../../core/bytes.js';
import { fetchSignedSnapshot } from '../anchor.js';
import { addJsonOption, addNodeOption, CliError, DEFAULT_NODE_URL, nodeRequest, printFields, printJson } from '../client.js';
import type { AccountJson } from '../verify.js';
import { homeNodeOf, homeNodeUrl } from './tx.js';
import { lightClientFor, printLight } from '../light.js';
import { LightVerifyError } from '../../light/verify.js';

interface AccountResponse extends AccountJson {
  homeShard: string;
  shard: string;
  pendingNonce: string;
  epoch: number;
}

export function register(program: Command): void {
  const cmd = program
    .command('account')
    .description('show an account\'s balance and nonce, and verify its proof against the node\'s latest state root')
    .argument('<address>', 'account address (40 hex digits)')
    .option('--network <dir>', 'check the snapshot signature against this network\'s genesis validator key (and find the account\'s home shard node in its cluster.json)')
    .option('--light', 'light client: balance and nonce at the latest final global epoch, verified from the genesis alone (trie proof -> signed snapshot -> 2-of-3 signed path to the global root)')
    .option('--global <epoch>', 'with --light: at this global epoch instead of the latest');
  addNodeOption(cmd);
  addJsonOption(cmd);
  cmd.addHelpText('after', `
balance and nonce are committed values (as of the latest sealed epoch); pendingNonce also
counts transactions waiting in the mempool. The proof (inclusion, or non-inclusion for an
account never funded) is verified locally with the standalone trie verifier, and its state root
is checked against the signed snapshot of the same epoch (signature verified; with --network the
validator key comes from genesis). Any failed check exits non-zero.

Examples:
  smt account 3f1c...e9
  smt account 3f1c...e9 --network ./devnet
  smt account 3f1c...e9 --json --node http://127.0.0.1:7701
  smt account 3f1c...e9 --light --network ./devnet
`);
  cmd.action(async (addr: string, o: { node: string; json?: boolean; network?: string; light?: boolean; global?: string }) => {
    try {
      parseAddress(addr);
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    if (o.light) return lightAccount(addr, o);
    o.node = await homeNodeOf(parseAddress(addr), o.node, o.network);
    let r = await nodeRequest<AccountResponse & { error?: { shard?: string } }>(o.node, `v1/account/${addr}`, { allowStatus: [421] });
    if (r.status === 421) {
      // wrong shard: the account (and the snapshots its proof is anchored to) live on its home shard's node
      o.node = await homeNodeUrl(r.body.error?.shard ?? '?', `account ${addr}`, o.network);
      r = await nodeRequest(o.node, `v1/account/${addr}`);
    }
    const a = r.body;
    const { checkAccountProof } = await import('../verify.js');
    let problem = checkAccountProof(a);
    // Anchor: the proven root must be the state root of the signed snapshot of that epoch.
    let anchor = a.epoch < 0 ? 'genesis state (no epoch sealed yet)' : '';
    if (!problem && a.epoch >= 0) {
      const snap = await fetchSignedSnapshot(o.node, a.epoch, o.network);
      if (toHex(snap.signed.snapshot.stateRoot) !== a.stateRoot) problem = `state root differs from the signed snapshot of epoch ${a.epoch}`;
      else if (!snap.signatureValid) problem = `the snapshot of epoch ${a.epoch} has an invalid signature (${snap.keySource})`;
      else anchor = `snapshot of epoch ${a.epoch}, signature valid (${snap.keySource})`;
    }
    if (o.json) printJson({ ...a, proofVerified: problem === undefined, ...(problem ? {} : { anchoredTo: anchor }) });
    else {
      const f: [string, unknown][] = [
        ['address', a.address],
        ['balance', a.balance],
        ['nonce', `${a.nonce} (next: ${a.pendingNonce} incl. mempool)`],
        ['epoch', a.epoch],
        ['proof', problem ? `FAILED: ${problem}` : `verified against state root ${a.stateRoot}${a.value === null ? ' (account absent)' : ''}`],
        ...(problem ? [] : [['anchored', anchor] as [string, unknown]]),
      ];
      if (a.homeShard !== a.shard) f.push(['note', `this account lives on shard ${a.homeShard}, not on the queried shard ${a.shard}`]);
      printFields(f);
    }
    if (problem) throw new CliError(`account proof does not verify: ${problem}`);
  });
}

async function lightAccount(addr: string, o: { node: string; json?: boolean; network?: string; global?: string }): Promise<void> {
  const { lc, trust } = await lightClientFor({ node: o.node === (process.env.SMT_NODE ?? DEFAULT_NODE_URL) && o.network ? undefined : o.node, network: o.network });
  if (o.global !== undefined && !/^(0|[1-9][0-9]{0,15})$/.test(o.global)) throw new CliError(`--global must be a non-negative integer, got ${JSON.stringify(o.global)}`);
  const t0 = performance.now();
  try {
    const v = await lc.account(addr, o.global === undefined ? 'latest' : Number(o.global));
    printLight(!!o.json, { address: v.value.address, balance: v.value.balance, nonce: v.value.nonce, shard: `${v.shard} (snapshot epoch ${v.shardEpoch})`, global: `epoch ${v.globalEpoch}, root ${v.globalRoot}` }, v.checks, lc, performance.now() - t0, trust);
  } catch (e) {
    if (e instanceof LightVerifyError) throw new CliError(`light verification FAILED at ${e.message} (${lc.bytesFetched} bytes fetched)`);
    throw new CliError((e as Error).message);
  }
}
