// `smt prover serve`: the machine's shared prover pool (src/proof/prover-service.ts). `smt cluster
// up` starts one for its nodes and passes its URL to them (--prover-url); run it by hand to share
// one pool between nodes started by hand on one machine.
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadGenesis } from '../../core/genesis.js';
import { CliError } from '../client.js';

export function register(program: Command): void {
  const prover = program.command('prover').description("this machine's shared prover pool (one per machine; `smt cluster up` starts it)");
  prover
    .command('serve')
    .description('run a bounded pool of Groth16 prover processes on 127.0.0.1 for the nodes of this machine, with the proving cadence they follow')
    .requiredOption('--network <dir>', 'network directory (genesis.json: depth and epoch length, for the cadence)')
    .option('--listen <host:port>', 'loopback address to listen on (port 0 = any free port)', '127.0.0.1:0')
    .option('--workers <n>', 'prover processes at most (default and maximum: one per core)')
    .option('--port-file <path>', 'write the port listened on to this file once listening')
    .action(async (o: { network: string; listen: string; workers?: string; portFile?: string }) => {
      const m = /^(127\.[0-9.]+|localhost):([0-9]{1,5})$/.exec(o.listen);
      if (!m) throw new CliError(`--listen must be a loopback host:port like 127.0.0.1:0, got ${JSON.stringify(o.listen)}`);
      if (o.workers !== undefined && !/^[1-9][0-9]?$/.test(o.workers)) throw new CliError(`--workers must be an integer from 1 to 99, got ${JSON.stringify(o.workers)}`);
      const genesis = loadGenesis(join(resolve(o.network), 'genesis.json'));
      if (genesis.depth < 1) throw new CliError('a depth-0 network makes no proofs');
      const { createLogger } = await import('../../node/logger.js');
      const { onShutdownSignals } = await import('../../node/shutdown.js');
      const { ProverService } = await import('../../proof/prover-service.js');
      const logger = createLogger({ level: 'info', format: 'json' }).child({ module: 'prover-service' });
      const svc = new ProverService({ workers: o.workers === undefined ? undefined : Number(o.workers), depth: genesis.depth, epochMs: genesis.epochMs, genesisTime: genesis.genesisTime, logger, host: m[1], port: Number(m[2]) });
      const port = await svc.listen();
      if (o.portFile) writeFileSync(resolve(o.portFile), `${port}\n`);
      const warm = await svc.pool.warmed.catch((e: Error) => {
        logger.error({ err: e.message }, 'prover warm-up failed');
        return -1;
      });
      logger.info({ port, workers: svc.pool.workers, warmMs: Math.round(warm), plan: svc.planAnswer() }, 'prover service listening');
      process.stdout.write(`prover service listening on http://${m[1]}:${port}\n`);
      onShutdownSignals(() => svc.close(), logger);
    });
}
