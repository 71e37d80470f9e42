// `smt node start`: run one shard node (epoch clock + HTTP API) until SIGINT/SIGTERM.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { DEFAULT_API_PORT, DEFAULT_HTTP_LIMITS, parseHostPort, type HttpLimits } from '../../node/http.js';
import { createLogger, parseLogFormat, parseLogLevel, type LogFormat } from '../../node/logger.js';
import { onShutdownSignals } from '../../node/shutdown.js';
import { CliError } from '../client.js';
import { withConfig } from '../config.js';

export function register(program: Command): void {
  const node = program.command('node').description('run a shard node');
  node
    .command('start')
    .description('start the node of one shard: opens its data dir, seals an epoch every epochMs and serves the HTTP API')
    .option('--network <dir>', 'network directory made by `smt network init` (required)')
    .option('--shard <id>', 'shard to run: its ternary digits, e.g. "01" (may be omitted when depth is 0)')
    .option('--data-dir <dir>', 'data directory (default: <network>/data/<shard>, "root" for depth 0)')
    .option('--data <dir>', 'alias of --data-dir')
    .option('--api <host:port>', `HTTP API address; port 0 picks a free port`, `127.0.0.1:${DEFAULT_API_PORT}`)
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent', 'info')
    .option('--log-format <format>', 'json|pretty (default: pretty when stdout is a terminal and no --log-file, else json)')
    .option('--log-file <path>', 'append log lines to this file instead of stdout (the "api listening" line stays on stdout)')
    .option('--verify-workers <n>', 'signature-verification worker threads, at nice 5 below the event loop (default: one per core; `smt cluster` passes 1 so nine shards share two cores)')
    .option('--mempool-max <n>', 'bound on pending transactions; beyond it submissions answer 503 with Retry-After (default 200000)')
    .option('--http-max-connections <n>', `open HTTP connections in all; beyond, new ones are closed (env SMT_HTTP_MAX_CONNECTIONS; default ${DEFAULT_HTTP_LIMITS.maxConnections})`)
    .option('--http-max-connections-per-ip <n>', `open HTTP connections per client address (env SMT_HTTP_MAX_CONNECTIONS_PER_IP; default ${DEFAULT_HTTP_LIMITS.maxConnectionsPerIp})`)
    .option('--http-rate <n>', `requests per second per client address (a request costs 1, plus 1 per 64 KiB of body); beyond, 429 with Retry-After; 0 = no limit (env SMT_HTTP_RATE; default ${DEFAULT_HTTP_LIMITS.ratePerSecond})`)
    .option('--http-burst <n>', `requests a client address may make at once before --http-rate applies (env SMT_HTTP_BURST; default ${DEFAULT_HTTP_LIMITS.rateBurst})`)
    .option('--http-headers-timeout <ms>', `time a client has to send a request's headers (env SMT_HTTP_HEADERS_TIMEOUT_MS; default ${DEFAULT_HTTP_LIMITS.headersTimeoutMs})`)
    .option('--http-request-timeout <ms>', `time a client has to send a whole request (env SMT_HTTP_REQUEST_TIMEOUT_MS; default ${DEFAULT_HTTP_LIMITS.requestTimeoutMs})`)
    .option('--replica <n>', 'run replica N of a replicated shard (docs/REPLICAS.md): key validators/<shard>.rN.key (replica 0: <shard>.key); needs --replica-urls')
    .option('--state-sync-after <epochs>', 'with --replica: a replica (new, wiped or restarted) more than this many epochs behind the best committed snapshot at start syncs state from it instead of replaying every epoch (docs/REPLICAS.md "State sync"; env SMT_STATE_SYNC_AFTER; default 256)')
    .option('--replica-urls <urls>', 'with --replica: comma-separated API URLs of every replica of the shard, in replica order (this one\'s included)')
    .option('--p2p <host:port>', 'join the network: libp2p gossip listen address (host:port or a multiaddr; depth >= 1)')
    .option('--peers <multiaddrs>', 'with --p2p: comma-separated peers to keep connected, e.g. /ip4/127.0.0.1/tcp/7801,/dns4/shard-02/tcp/7800')
    .option('--prove-every <n>', 'with --p2p: prove the global state of every n-th epoch (env SMT_PROVE_EVERY; default: auto, see docs/PROOFS.md §3)')
    .option('--prover-url <url>', 'with --p2p: make proofs through this machine\'s shared prover service (`smt prover serve`; `smt cluster up` starts one and passes it) and follow its cadence, instead of a prover child of this node (env SMT_PROVER_URL)')
    .option('--no-prove', 'with --p2p: never make proofs (still shares snapshots and verifies, stores and serves proofs; env SMT_NO_PROVE=1)')
    .option('--deny-peers <file>', 'a file of peer ids to refuse, one per line (# comments), reread when it changes: their libp2p connections are refused and closed, and a replica neither sends to nor answers a listed replica (env SMT_DENY_PEERS)')
    .option('--explorer-nodes <list>', 'shard=URL pairs, comma-separated: where a browser reaches each shard\'s node, for the explorer page\'s searches (default: the nodes of <network>/cluster.json); e.g. 00=http://127.0.0.1:7700,01=http://127.0.0.1:7701')
    .addHelpText('after', `
The node prints "api listening on http://HOST:PORT" once it serves, and log lines (pino) on
stdout: JSON, or human-readable with --log-format pretty (the default on a terminal); --log-file
appends them to a file instead. Epoch e is sealed at genesisTime + (e+1)*epochMs; a node that was down seals the
missed epochs at once. With --p2p the node gossips its snapshots up the triad hierarchy,
forwards transactions of other shards to their home shard, and serves /v1/global/...; its libp2p
identity and global snapshots live in <data>/net/. The first SIGINT/SIGTERM shuts down cleanly (HTTP, epoch clock, shard);
a second one forces exit. A transaction is "accepted" when it enters the mempool and
"committed" once the epoch holding it is sealed and written to disk.

Examples:
  smt node start --network ./onenet                               # depth 0, API on 127.0.0.1:${DEFAULT_API_PORT}
  smt node start --network ./net9 --shard 01 --api 127.0.0.1:7701
  smt node start --network ./net9 --shard 01 --api 127.0.0.1:7701 --p2p 127.0.0.1:7801 --peers /ip4/127.0.0.1/tcp/7800,/ip4/127.0.0.1/tcp/7802
  smt node start --network ./onenet --api 127.0.0.1:0 --log-level warn
  smt node start --network ./rep3 --replica 1 --api 127.0.0.1:7711 --replica-urls http://127.0.0.1:7710,http://127.0.0.1:7711,http://127.0.0.1:7712
`)
    .action(async (o: { network?: string; dataDir?: string; shard?: string; data?: string; api: string; logLevel: string; logFormat?: string; logFile?: string; p2p?: string; peers?: string; proveEvery?: string; proverUrl?: string; prove: boolean; mempoolMax?: string; verifyWorkers?: string; explorerNodes?: string; denyPeers?: string; replica?: string; replicaUrls?: string; stateSyncAfter?: string } & HttpFlags) => {
      if (o.network === undefined) throw new CliError("required option '--network <dir>' not specified (a flag, SMT_NETWORK or network: in --config)");
      if (o.data !== undefined && o.dataDir !== undefined && resolve(o.data) !== resolve(o.dataDir)) throw new CliError('--data is an alias of --data-dir: give one of them');
      o.data ??= o.dataDir;
      let api: { host: string; port: number };
      let level;
      let format: LogFormat;
      try {
        api = parseHostPort(o.api);
        level = parseLogLevel(o.logLevel);
        format = o.logFormat === undefined ? (process.stdout.isTTY && o.logFile === undefined ? 'pretty' : 'json') : parseLogFormat(o.logFormat);
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      if (o.peers && !o.p2p) throw new CliError('--peers needs --p2p (the gossip listen address)');
      if (o.verifyWorkers !== undefined && !/^[1-9][0-9]?$/.test(o.verifyWorkers)) throw new CliError(`--verify-workers must be an integer from 1 to 99, got ${JSON.stringify(o.verifyWorkers)}`);
      if (o.mempoolMax !== undefined && !/^[1-9][0-9]{0,8}$/.test(o.mempoolMax)) throw new CliError(`--mempool-max must be a positive integer, got ${JSON.stringify(o.mempoolMax)}`);
      const every = o.proveEvery ?? process.env.SMT_PROVE_EVERY;
      if (every !== undefined && every !== 'auto' && !/^[1-9][0-9]{0,5}$/.test(every)) throw new CliError(`--prove-every must be a positive integer or "auto", got ${JSON.stringify(every)}`);
      const proveEvery = every === undefined || every === 'auto' ? undefined : Number(every);
      const proverUrl = o.proverUrl ?? process.env.SMT_PROVER_URL;
      if (proverUrl !== undefined && !/^http:\/\/(127\.[0-9.]+|localhost|\[::1\]):[0-9]{1,5}\/?$/.test(proverUrl)) throw new CliError(`--prover-url must be a loopback http URL like http://127.0.0.1:7799, got ${JSON.stringify(proverUrl)}`);
      const httpLimits = parseHttpLimits(o);
      if (o.denyPeers === '') throw new CliError('--deny-peers (env SMT_DENY_PEERS) needs a file path');
      const explorerNodes = o.explorerNodes === undefined ? undefined : parseExplorerNodes(o.explorerNodes);
      const peers = (o.peers ?? '').split(',').map((p) => p.trim()).filter(Boolean);
      for (const p of peers) if (!p.startsWith('/')) throw new CliError(`--peers: ${JSON.stringify(p)} is not a multiaddr (like /ip4/127.0.0.1/tcp/7801)`);
      if ((o.replica === undefined) !== (o.replicaUrls === undefined)) throw new CliError('--replica and --replica-urls go together');
      if (o.replica !== undefined && !/^[0-6]$/.test(o.replica)) throw new CliError(`--replica must be a replica index 0..6, got ${JSON.stringify(o.replica)}`);
      const stateSyncAfter = o.stateSyncAfter ?? process.env.SMT_STATE_SYNC_AFTER;
      if (stateSyncAfter !== undefined && !/^\d{1,9}$/.test(stateSyncAfter)) throw new CliError(`--state-sync-after (env SMT_STATE_SYNC_AFTER) takes a number of epochs, got ${JSON.stringify(stateSyncAfter)}`);
      if (o.stateSyncAfter !== undefined && o.replica === undefined) throw new CliError('--state-sync-after goes with --replica');
      const replicaUrls = (o.replicaUrls ?? '').split(',').map((u) => u.trim().replace(/\/+$/, '')).filter(Boolean);
      for (const u of replicaUrls) if (!/^https?:\/\/[^/]+$/.test(u)) throw new CliError(`--replica-urls: ${JSON.stringify(u)} is not an API base URL like http://127.0.0.1:7710`);
      const logger = createLogger({ level, format, file: o.logFile === undefined ? undefined : resolve(o.logFile) });
      // Loaded here, not at the top: client commands should not pay for (or depend on) the shard and its store.
      const { SmtNode } = await import('../../node/node.js');
      const networkDir = resolve(o.network);
      const start = () => SmtNode.start({
        networkDir,
        shard: o.shard,
        dataDir: o.data === undefined ? undefined : resolve(o.data),
        apiHost: api.host,
        apiPort: api.port,
        logger,
        mempoolMax: o.mempoolMax === undefined ? undefined : Number(o.mempoolMax),
        verifyWorkers: o.verifyWorkers === undefined ? undefined : Number(o.verifyWorkers),
        httpLimits,
        explorerNodes,
        ...(o.denyPeers !== undefined ? { denyPeersFile: resolve(o.denyPeers) } : {}),
        gossip: o.p2p ? { listen: o.p2p, peers } : undefined,
        proving: o.p2p ? { prove: o.prove && process.env.SMT_NO_PROVE !== '1', proveEvery, proverUrl } : undefined,
        ...(o.replica !== undefined ? { replica: { index: Number(o.replica), urls: replicaUrls, ...(stateSyncAfter !== undefined ? { stateSyncAfter: Number(stateSyncAfter) } : {}) } } : {}),
      });
      let node = await start();
      // A plain line (besides the JSON log) that scripts and tests can wait for.
      process.stdout.write(`api listening on ${node.url}\n`);
      let stopping = false;
      onShutdownSignals(() => {
        stopping = true;
        return node.close();
      }, node.logger);
      // A replica that diverged from its writer discards its data and starts again, in this process.
      for (;;) {
        const why = await node.resync;
        if (stopping) return;
        node.logger.warn({ why }, 'resync: closing, wiping the data directory, starting again');
        await node.close();
        if (stopping) return;
        const { wipeDataDir } = await import('../../replica/wipe.js');
        // it may have acknowledged some of the epochs it discards: no vote until it holds them again (wipe.ts)
        wipeDataDir(node.dataDir, { catchUp: true });
        node = await start();
      }
    });
  withConfig(node.commands.find((c) => c.name() === 'start')!);
}

/** `--explorer-nodes 00=http://h:7700,01=...`: shard id -> base URL (http or https, no path). */
export function parseExplorerNodes(list: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of list.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([012]{1,16})=(https?:\/\/[^\s/?#]+)\/?$/.exec(item);
    if (!m) throw new CliError(`--explorer-nodes: ${JSON.stringify(item.slice(0, 80))} is not shard=URL (like 01=http://127.0.0.1:7701)`);
    if (out.has(m[1]!)) throw new CliError(`--explorer-nodes: shard ${m[1]} given twice`);
    out.set(m[1]!, m[2]!);
  }
  return out;
}

interface HttpFlags {
  httpMaxConnections?: string;
  httpMaxConnectionsPerIp?: string;
  httpRate?: string;
  httpBurst?: string;
  httpHeadersTimeout?: string;
  httpRequestTimeout?: string;
}

/** The HTTP limits from the flags, else their SMT_HTTP_* environment variables, else the defaults. */
function parseHttpLimits(o: HttpFlags): Partial<HttpLimits> {
  const out: Partial<HttpLimits> = {};
  const one = (flag: string, env: string, v: string | undefined, key: keyof HttpLimits, min: number): void => {
    const s = v ?? process.env[env];
    if (s === undefined || s === '') return;
    if (!/^[0-9]{1,9}$/.test(s) || Number(s) < min) throw new CliError(`${flag} (or ${env}) must be an integer >= ${min}, got ${JSON.stringify(s)}`);
    out[key] = Number(s);
  };
  one('--http-max-connections', 'SMT_HTTP_MAX_CONNECTIONS', o.httpMaxConnections, 'maxConnections', 1);
  one('--http-max-connections-per-ip', 'SMT_HTTP_MAX_CONNECTIONS_PER_IP', o.httpMaxConnectionsPerIp, 'maxConnectionsPerIp', 1);
  one('--http-rate', 'SMT_HTTP_RATE', o.httpRate, 'ratePerSecond', 0);
  one('--http-burst', 'SMT_HTTP_BURST', o.httpBurst, 'rateBurst', 1);
  one('--http-headers-timeout', 'SMT_HTTP_HEADERS_TIMEOUT_MS', o.httpHeadersTimeout, 'headersTimeoutMs', 100);
  one('--http-request-timeout', 'SMT_HTTP_REQUEST_TIMEOUT_MS', o.httpRequestTimeout, 'requestTimeoutMs', 100);
  return out;
}
