// `smt network init`: a new network directory (genesis, validator keys, funded test accounts).
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { toHex } from '../../core/bytes.js';
import { totalSupply } from '../../core/genesis.js';
import { artifactsDir, circuitsBuilt } from '../../proof/artifacts.js';
import { artifactsKeysHash } from '../../proof/vk-hash.js';
import { genesisPath, initNetwork } from '../../node/network-dir.js';
import { CliError, parseU64, printFields, printJson } from '../client.js';

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) throw new CliError(`${name} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
    return n;
  };
}

export function register(program: Command): void {
  const network = program.command('network').description('create a network directory (genesis, validator keys, funded test accounts)');
  network
    .command('init')
    .description('create a network directory: genesis.json, one validator key per shard, funded test account keys')
    .requiredOption('--dir <dir>', 'directory to create the network in')
    .option('--depth <d>', 'hierarchy depth: the network has 3^d shards (0 = a single shard)', intArg('--depth', 0, 6), 0)
    .option('--accounts <n>', 'number of funded test accounts', intArg('--accounts', 0, 100_000), 10)
    .option('--balance <amount>', 'genesis balance of each test account (base units)', '1000000000')
    .option('--epoch-ms <ms>', 'epoch length in milliseconds', intArg('--epoch-ms', 50, 3_600_000), 1000)
    .option('--genesis-delay <s>', 'genesis time this many seconds from now: epoch 0 starts then, so nodes started meanwhile begin together instead of sealing missed epochs on arrival', intArg('--genesis-delay', 0, 86_400), 0)
    .option('--network-id <id>', 'network id, [a-z0-9-]{1,32} (signed into every transaction)', 'smt-devnet')
    .option('--replicas <n>', 'replicas per shard (1, 3, 5 or 7): each shard runs as a replica set with one writer by lease (docs/REPLICAS.md); keys validators/<shard>.rN.key', intArg('--replicas', 1, 7), 1)
    .option('--no-proof-keys', 'pin no circuit verification keys in genesis: proofs are off for this network')
    .option('--force', 'replace an existing network in --dir (deletes its genesis and keys; node data, logs and cluster.json of the old network are kept, and listed for you to delete)')
    .option('--json', 'print one JSON object instead of text')
    .addHelpText('after', `
Writes:
  DIR/genesis.json            network id, depth, epoch length, genesis time, allocations, validator public keys,
                              and proofKeysHash: the hash of the built circuits' verification keys (nodes
                              prove and accept proofs only with these keys; without it proofs are off)
  DIR/validators/<shard>.key  validator key of each shard (root.key for the single shard of depth 0)
  DIR/validators/<shard>.rN.key  with --replicas: the key of replica N >= 1 of each shard (replica 0's is <shard>.key)
  DIR/accounts/<i>.key        funded test accounts (mode 0600), indexed in DIR/accounts.json

Examples:
  smt network init --dir ./onenet                      # one shard, 10 funded accounts, 1 s epochs
  smt network init --dir ./net9 --depth 2 --accounts 100 --epoch-ms 500
  smt network init --dir ./onenet --force              # start over with fresh keys
`)
    .action((o: { dir: string; depth: number; accounts: number; balance: string; epochMs: number; genesisDelay: number; networkId: string; proofKeys: boolean; force?: boolean; json?: boolean; replicas?: number }) => {
      const balance = parseU64(o.balance, '--balance');
      if (!/^[a-z0-9-]{1,32}$/.test(o.networkId)) throw new CliError('--network-id must match [a-z0-9-]{1,32}');
      const dir = resolve(o.dir);
      // The pin of the circuits built here (npm run build:circuits): every node of the network must run these.
      const proofKeysHash = o.proofKeys && circuitsBuilt() ? artifactsKeysHash() : undefined;
      const proofs = proofKeysHash
        ? `on (verification keys ${toHex(proofKeysHash).slice(0, 16)}... of ${artifactsDir()})`
        : o.proofKeys ? 'off: no circuit artifacts here (run `npm run build:circuits`, then init again)' : 'off (--no-proof-keys)';
      const { genesis, accounts } = initNetwork({ dir, depth: o.depth, accounts: o.accounts, epochMs: o.epochMs, genesisTime: Date.now() + o.genesisDelay * 1000, networkId: o.networkId, balance, force: !!o.force, proofKeysHash, replicas: o.replicas });
      // Nodes refuse data of another network: say what of the old network is left, rather than delete it unasked.
      const stale = o.force ? ['data', 'logs', 'run', 'cluster.json'].map((f) => join(dir, f)).filter((f) => existsSync(f)) : [];
      if (stale.length > 0) console.error(`note: ${stale.join(', ')} belong to the replaced network; nodes of the new one refuse its data. Delete them: rm -rf ${stale.join(' ')}`);
      if (o.json) {
        printJson({ dir, genesis: genesisPath(dir), networkId: genesis.networkId, depth: genesis.depth, shards: 3 ** genesis.depth, epochMs: genesis.epochMs, genesisTime: genesis.genesisTime, supply: totalSupply(genesis), proofKeysHash: proofKeysHash ? toHex(proofKeysHash) : null, accounts });
        return;
      }
      printFields([
        ['network', `${genesis.networkId} (depth ${genesis.depth}, ${3 ** genesis.depth} shard${genesis.depth ? 's' : ''}, ${genesis.epochMs} ms epochs)`],
        ['genesis', genesisPath(dir)],
        ['supply', `${totalSupply(genesis)} over ${accounts.length} test accounts of ${balance} each`],
        ['proofs', proofs],
      ]);
      for (const a of accounts.slice(0, 10)) console.log(`  ${dir}/${a.keyFile}  ${a.address}  shard ${a.shard || '(single)'}`);
      if (accounts.length > 10) console.log(`  ... ${accounts.length - 10} more in ${dir}/accounts.json`);
      console.log(`\nnext: smt node start --network ${dir}${genesis.depth > 0 ? ' --shard ' + '0'.repeat(genesis.depth) : ''}`);
    });
}
