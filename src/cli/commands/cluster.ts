// `smt cluster up|down|status|logs`: the embedded local network (no Docker needed).
import type { Command } from 'commander';
import { createReadStream, existsSync, readFileSync, statSync, watch } from 'node:fs';
import { join, resolve } from 'node:path';
import { apiUrl } from '../../cluster/supervisor.js';
import { processName } from '../../cluster/layout.js';
import { toHex } from '../../core/bytes.js';
import { genesisHash, loadGenesis } from '../../core/genesis.js';
import { clusterDown, clusterProver, clusterStatus, clusterUp, shardLayout, testAccounts } from '../../cluster/cluster.js';

const DEFAULT_NET = 'devnet';

/** The explorer page of a node, pinned to the network's genesis hash (the page refuses another genesis). */
function explorerUrl(network: string, api: string): string {
  return `${api}/#genesis=${toHex(genesisHash(loadGenesis(join(resolve(network), 'genesis.json'))))}`;
}

function intOpt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
    return n;
  };
}

export function register(program: Command): void {
  const cluster = program
    .command('cluster')
    .description('run a whole local network (one process per shard) on 127.0.0.1');

  cluster
    .command('up')
    .description('start every shard of a network as child processes; creates a depth-2 (9-shard) devnet first if none exists; with some of its processes still running, starts only the stopped ones (a killed node back in its place)')
    .option('--network <dir>', 'network directory (genesis.json, keys, cluster.json, data, logs)', DEFAULT_NET)
    .option('--depth <d>', 'depth of a newly created devnet (3^d shards)', intOpt('--depth'), 2)
    .option('--accounts <n>', 'funded test accounts of a newly created devnet', intOpt('--accounts'), 10)
    .option('--epoch-ms <ms>', 'epoch length of a newly created devnet', intOpt('--epoch-ms'), 1000)
    .option('--genesis-delay <s>', 'genesis time of a newly created devnet this many seconds after its creation: nodes that start meanwhile begin epoch 0 together instead of sealing the epochs they missed on arrival', intOpt('--genesis-delay'), 0)
    .option('--replicas <n>', 'replicas per shard of a newly created devnet (1, 3, 5 or 7): every replica of every shard runs as its own process, one writer per shard by lease (docs/REPLICAS.md); 2 cores fit depth 1 x 3 replicas (9 processes)', intOpt('--replicas'))
    .option('--api-base-port <port>', 'first HTTP API port (shard i uses base+i)', intOpt('--api-base-port'))
    .option('--p2p-base-port <port>', 'first libp2p TCP port (shard i uses base+i)', intOpt('--p2p-base-port'))
    .option('--timeout <s>', 'seconds to wait for health and the first global snapshot', intOpt('--timeout'), 90)
    .option('--start-concurrency <n>', 'at most n shard processes starting at once (spawned, API not answering yet): a staggered start for clusters larger than the machine (0 = all at once)', intOpt('--start-concurrency'), 0)
    .option('--no-wait-global', 'return once all shards are healthy, without waiting for a final global snapshot')
    .option('--json', 'print the cluster as JSON')
    .addHelpText('after', `
Examples:
  smt cluster up                         # 9-shard devnet in ./devnet, APIs on 127.0.0.1:7700-7708
  smt cluster up --network /tmp/n1 --depth 1 --api-base-port 9100 --p2p-base-port 9200
  smt cluster up --network /tmp/r3 --depth 1 --replicas 3   # 3 shards x 3 replicas = 9 processes
With --replicas, process k of the layout uses API port base+k and p2p port base+k: replica 0 of
every shard first, then replica 1 of every shard, and so on (cluster.json lists them all); client
commands given --network find each shard's current writer themselves.
Then: smt cluster status, smt cluster logs 01 (01.r1 for replica 1), smt cluster down.`)
    .action(async (o) => {
      if (o.replicas !== undefined && ![1, 3, 5, 7].includes(o.replicas)) throw new Error(`--replicas must be 1, 3, 5 or 7, got ${o.replicas}`);
      const layout = await clusterUp({
        network: o.network, depth: o.depth, accounts: o.accounts, epochMs: o.epochMs, genesisDelayS: o.genesisDelay, ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
        apiBasePort: o.apiBasePort, p2pBasePort: o.p2pBasePort, timeoutMs: o.timeout * 1000, startConcurrency: o.startConcurrency,
        waitGlobal: o.waitGlobal, print: o.json ? () => {} : (l) => console.log(l),
      });
      const accounts = testAccounts(o.network);
      if (o.json) {
        console.log(JSON.stringify({ network: resolve(o.network), explorer: explorerUrl(o.network, apiUrl(layout.shards[0]!)), shards: layout.shards.map((s) => ({ shard: s.shard, ...(s.replica !== undefined ? { replica: s.replica } : {}), api: apiUrl(s), p2p: `/ip4/${s.p2pHost}/tcp/${s.p2pPort}` })), accounts }, null, 2));
        return;
      }
      console.log('\nshard    api                      p2p');
      for (const s of layout.shards) console.log(`${processName(s).padEnd(8)} ${apiUrl(s).padEnd(24)} /ip4/${s.p2pHost}/tcp/${s.p2pPort}`);
      if (accounts.length) {
        console.log('\nfunded test keys:');
        for (const a of accounts) console.log(`  ${a.address}  ${a.file}`);
        console.log(`\ntry: smt tx send --key ${accounts[0]!.file} --to ${accounts[1]?.address ?? '<address>'} --amount 5 --network ${o.network} --wait`);
      }
      console.log(`\nexplorer: ${explorerUrl(o.network, apiUrl(layout.shards[0]!))}`);
      console.log('          (any node serves it; search results are verified in the browser against this genesis hash)');
      console.log(`stop with: smt cluster down --network ${o.network}`);
    });

  cluster
    .command('down')
    .description('stop every shard process of the cluster (SIGTERM, then SIGKILL after a grace period)')
    .option('--network <dir>', 'network directory', DEFAULT_NET)
    .option('--grace <s>', 'seconds to wait after SIGTERM before SIGKILL', intOpt('--grace'), 10)
    .action(async (o) => {
      await clusterDown(o.network, o.grace * 1000, (l) => console.log(l));
    });

  cluster
    .command('status')
    .description('a table of the cluster: shard (and replica), process, epoch, tps, peers, last final global epoch, newest global proof and its age; for replicated shards each replica\'s role, term, the writer and the follower\'s lag in epochs')
    .option('--network <dir>', 'network directory', DEFAULT_NET)
    .option('--json', 'print JSON')
    .action(async (o) => {
      const st = await clusterStatus(o.network);
      const prover = clusterProver(o.network);
      if (o.json) {
        console.log(JSON.stringify(st, null, 2));
        return;
      }
      // proof = newest global state proof held by the node, and its age in epochs / seconds since its epoch sealed
      const replicated = st.some((s) => s.replica !== undefined);
      // role/term/writer/lag: a replicated shard's replica (writer = the replica index it follows; lag = epochs behind it)
      console.log(`shard    pid      state     epoch   tps      peers  global  ${replicated ? 'role      term  writer lag   ' : ''}proof   age          api`);
      for (const s of st) {
        const h = s.health;
        // up = live and ready; not-ready = answering but catching up or without peers (see /v1/health reasons)
        const state = !s.alive ? 'down' : h === undefined ? 'no-api' : h.ok ? 'up' : h.live === false ? 'stalled' : 'not-ready';
        const r = h?.replica;
        const rep = !replicated ? '' : `${String(r?.role ?? '-').padEnd(9)} ${String(r?.term ?? '-').padEnd(5)} ${String(r?.writer ?? '-').padEnd(6)} ${String(r?.lag ?? '-').padEnd(5)} `;
        console.log(
          `${processName(s).padEnd(8)} ${String(s.pid ?? '-').padEnd(8)} ${state.padEnd(9)} ${String(h?.epoch ?? '-').padEnd(7)} ${String(h?.tps ?? '-').padEnd(8)} ${String(h?.peers ?? '-').padEnd(6)} ${String(h?.globalEpoch ?? '-').padEnd(7)} ${rep}${proofCell(s.proof).padEnd(20)} ${s.api}`,
        );
      }
      const ages = st.map((s) => s.proof?.ageEpochs).filter((a): a is number => typeof a === 'number');
      if (ages.length > 0) {
        const best = st.map((s) => s.proof).filter((p) => p?.ageEpochs !== null && p?.ageEpochs !== undefined).sort((a, b) => a!.ageEpochs! - b!.ageEpochs!)[0]!;
        console.log(`newest global proof: epoch ${best.latestGlobalProofEpoch}, ${best.ageEpochs} epochs (${best.ageSeconds} s) old; cadence every ${best.every ?? '?'} (${best.cadence ?? '?'})`);
      }
      if (prover.pid !== undefined) console.log(`prover service: pid ${prover.pid}, ${prover.url ?? 'not running'}`);
      if (st.some((s) => !s.alive)) process.exitCode = 3;
    });

  cluster
    .command('logs')
    .description("print a shard's log file (JSON lines from pino)")
    .argument('<shard>', 'shard id, e.g. 01 (or "root" for a depth-0 network); replica N >= 1 of a replicated shard: 01.rN')
    .option('--network <dir>', 'network directory', DEFAULT_NET)
    .option('-n, --lines <n>', 'print only the last n lines', intOpt('--lines'))
    .option('-f, --follow', 'keep printing new lines as they are written')
    .action(async (shard: string, o) => {
      const s = shardLayout(o.network, shard);
      const file = join(resolve(o.network), s.logFile);
      if (!existsSync(file)) throw new Error(`no log file for shard ${shard} yet (${file})`);
      const text = readFileSync(file, 'utf8');
      const lines = text.split('\n');
      if (lines.at(-1) === '') lines.pop();
      process.stdout.write((o.lines !== undefined ? lines.slice(-o.lines) : lines).map((l) => l + '\n').join(''));
      if (!o.follow) return;
      let pos = statSync(file).size;
      await new Promise<void>(() => {
        watch(file, () => {
          const size = statSync(file).size;
          if (size <= pos) return;
          createReadStream(file, { start: pos, end: size - 1 }).pipe(process.stdout, { end: false });
          pos = size;
        });
      });
    });
}

function proofCell(p: { latestGlobalProofEpoch: number; ageEpochs: number | null; ageSeconds: number | null } | undefined): string {
  if (!p) return '-       -';
  if (p.ageEpochs === null) return 'none    -';
  return `${String(p.latestGlobalProofEpoch).padEnd(7)} ${p.ageEpochs}e/${p.ageSeconds}s`;
}
