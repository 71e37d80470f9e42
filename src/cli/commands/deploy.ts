// `smt deploy k8s`: Kubernetes manifests for a network directory (src/cluster/k8s.ts), one YAML file
// per object plus a kustomization.yaml, so `kubectl apply -k DIR` applies them all.
import type { Command } from 'commander';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { toHex } from '../../core/bytes.js';
import { allShards, type ShardId } from '../../core/ids.js';
import { loadGenesis } from '../../core/genesis.js';
import { loadKeyFile } from '../../core/keyfile.js';
import { genesisPath, validatorKeyPath } from '../../node/network-dir.js';
import { DEFAULT_IMAGE, YAML_OPTS } from '../../cluster/compose.js';
import { k8sManifests, type K8sObject } from '../../cluster/k8s.js';
import { CliError, printFields } from '../client.js';

/** Reads genesis and every validator key, checking each key against its genesis public key. */
function readNetwork(dir: string): { depth: number; genesisJson: string; keys: Map<ShardId, string> } {
  const gp = genesisPath(dir);
  if (!existsSync(gp)) throw new CliError(`${dir} holds no network (no genesis.json): run smt network init first`);
  const genesis = loadGenesis(gp);
  const keys = new Map<ShardId, string>();
  for (const shard of allShards(genesis.depth)) {
    const p = validatorKeyPath(dir, shard);
    if (!existsSync(p)) throw new CliError(`no validator key for shard ${shard} (${p})`);
    const k = loadKeyFile(p);
    if (toHex(k.keyPair.publicKey) !== toHex(genesis.validators.get(shard)!)) throw new CliError(`${p} is not the genesis validator key of shard ${shard}`);
    keys.set(shard, readFileSync(p, 'utf8'));
  }
  return { depth: genesis.depth, genesisJson: readFileSync(gp, 'utf8'), keys };
}

function fileName(o: K8sObject): string {
  return `${o.kind.toLowerCase()}-${o.metadata!.name}.yaml`;
}

export function register(program: Command): void {
  const deploy = program.command('deploy').description('deployment files for running a network on other machines');
  deploy
    .command('k8s')
    .description('write Kubernetes manifests for a network: a StatefulSet (one pod) per shard, a headless Service for peer DNS, a volume per shard, genesis as a ConfigMap and each validator key as its own Secret')
    .requiredOption('--network <dir>', 'network directory made by `smt network init` (depth >= 1)')
    .requiredOption('--out <dir>', 'directory to write the manifests to (created if missing; files of the same name are replaced)')
    .option('--image <ref>', 'node image, pushed where the cluster can pull it', DEFAULT_IMAGE)
    .option('--name <prefix>', 'resource name prefix', 'smt')
    .option('--namespace <ns>', 'namespace to put the objects in (default: the one kubectl uses)')
    .option('--storage <size>', 'size of each shard\'s data volume', '2Gi')
    .option('--storage-class <name>', 'StorageClass of the data volumes (default: the cluster\'s default)')
    .addHelpText('after', `
Each pod mounts only genesis.json and its own validator key (an init container copies the key
into a memory volume the node user owns); the Secret files hold private keys: keep --out private.
Peers find each other as <prefix>-<shard>-0.<prefix>-p2p; clients use the <prefix>-api Service.

Examples:
  smt deploy k8s --network ./devnet --out ./k8s --image registry.example/smt-node:0.1.0
  kubectl apply -k ./k8s && kubectl get pods -l app.kubernetes.io/name=smt
  kubectl port-forward svc/smt-api 7700:7700     # then: smt snapshot --node http://127.0.0.1:7700`)
    .action((o: { network: string; out: string; image: string; name: string; namespace?: string; storage: string; storageClass?: string }) => {
      const net = readNetwork(resolve(o.network));
      let objects: K8sObject[];
      try {
        objects = k8sManifests({
          depth: net.depth, genesisJson: net.genesisJson, validatorKeys: net.keys,
          image: o.image, name: o.name, namespace: o.namespace, storage: o.storage, storageClass: o.storageClass,
        });
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      const out = resolve(o.out);
      mkdirSync(out, { recursive: true, mode: 0o700 });
      const files: string[] = [];
      for (const obj of objects) {
        const f = fileName(obj);
        files.push(f);
        // Secrets hold private keys: owner-only, like the key files they come from.
        const mode = obj.kind === 'Secret' ? 0o600 : 0o644;
        writeFileSync(join(out, f), stringify(obj, YAML_OPTS), { mode });
        chmodSync(join(out, f), mode); // a replaced file keeps its old mode otherwise
      }
      writeFileSync(join(out, 'kustomization.yaml'), stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: files }));
      printFields([
        ['manifests', `${files.length} objects in ${out} (+ kustomization.yaml)`],
        ['shards', `${net.keys.size} StatefulSets, peers via ${o.name}-p2p, API via ${o.name}-api`],
        ['apply', `kubectl apply -k ${out}`],
      ]);
    });
}
