// Kubernetes manifests for a network made by `smt network init` (pure: the caller reads the files).
// One StatefulSet of one pod per shard, so that each pod can mount only its own validator key (a
// single StatefulSet of N replicas shares one pod template, hence one set of volumes, across all
// shards); all pods share one headless Service, giving each a stable DNS name its peers dial
// (<set>-0.<service>); a PersistentVolumeClaim per shard; genesis in a ConfigMap and each key in its
// own Secret; readiness and liveness probes; Prometheus scrape annotations. Pods run as uid 10001 with
// a read-only root filesystem and no capabilities. Key files must be 0600/0400 for the node to load
// them, which a Secret volume (root-owned, group fsGroup) cannot give, so an init container copies the
// key into a memory-backed emptyDir owned by the node user.
import { allShards, type ShardId } from '../core/ids.js';
import { shardDirName } from './layout.js';
import { CONTAINER_API_PORT, CONTAINER_P2P_PORT, DEFAULT_IMAGE, HEALTHCHECK_CMD, NODE_UID, containerNodeArgs, keyFileName } from './compose.js';

/** A Kubernetes object as written to YAML (its shape is checked against the API schema by the tests). */
export interface K8sObject {
  apiVersion: string;
  kind: 'ConfigMap' | 'Secret' | 'Service' | 'StatefulSet';
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}
type Container = Record<string, unknown>;

export class K8sError extends Error {
  override name = 'K8sError';
}

export interface K8sOptions {
  depth: number;
  /** genesis.json as written by `smt network init`. */
  genesisJson: string;
  /** validators/<shard>.key contents, one per shard. */
  validatorKeys: ReadonlyMap<ShardId, string>;
  image?: string;
  /** Resource name prefix (DNS-1123 label). */
  name?: string;
  namespace?: string;
  /** Size of each shard's data volume, e.g. "2Gi". */
  storage?: string;
  storageClass?: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

export function statefulSetName(prefix: string, shard: ShardId): string {
  return `${prefix}-${shardDirName(shard)}`;
}

export function k8sManifests(o: K8sOptions): K8sObject[] {
  const prefix = o.name ?? 'smt';
  const image = o.image ?? DEFAULT_IMAGE;
  const storage = o.storage ?? '2Gi';
  if (!Number.isInteger(o.depth) || o.depth < 1) throw new K8sError('Kubernetes manifests need a network of depth >= 1 (shards talk over libp2p)');
  if (!DNS_LABEL.test(prefix) || prefix.length > 40) throw new K8sError(`--name must be a DNS label of at most 40 characters (a-z, 0-9, -), got ${JSON.stringify(prefix)}`);
  if (o.namespace !== undefined && (!DNS_LABEL.test(o.namespace) || o.namespace.length > 63)) throw new K8sError(`--namespace must be a DNS label, got ${JSON.stringify(o.namespace)}`);
  if (!QUANTITY.test(storage)) throw new K8sError(`--storage must be a quantity like 2Gi, got ${JSON.stringify(storage)}`);
  if (image.trim() === '' || /\s/.test(image)) throw new K8sError(`--image must be an image reference, got ${JSON.stringify(image)}`);
  const shards = allShards(o.depth);
  for (const s of shards) if (!o.validatorKeys.has(s)) throw new K8sError(`no validator key for shard ${s}`);
  const ns = o.namespace === undefined ? {} : { namespace: o.namespace };
  const app = { 'app.kubernetes.io/name': 'smt', 'app.kubernetes.io/instance': prefix };
  const peerService = `${prefix}-p2p`;
  const genesisName = `${prefix}-genesis`;
  const podDns = (s: ShardId) => `${statefulSetName(prefix, s)}-0.${peerService}`;

  const out: K8sObject[] = [];
  out.push({
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: genesisName, ...ns, labels: app },
    data: { 'genesis.json': o.genesisJson },
  });
  // Headless: a DNS record per pod; published before readiness, since readiness needs peers.
  out.push({
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: peerService, ...ns, labels: app },
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: app,
      ports: [{ name: 'p2p', port: CONTAINER_P2P_PORT, targetPort: 'p2p' }, { name: 'api', port: CONTAINER_API_PORT, targetPort: 'api' }],
    },
  });
  // Any node accepts any transfer (it forwards to the home shard): one client Service over all ready pods.
  out.push({
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: `${prefix}-api`, ...ns, labels: app },
    spec: { type: 'ClusterIP', selector: app, ports: [{ name: 'api', port: CONTAINER_API_PORT, targetPort: 'api' }] },
  });

  for (const shard of shards) {
    const set = statefulSetName(prefix, shard);
    const secret = `${set}-validator`;
    const keyFile = keyFileName(shard);
    const labels = { ...app, 'smt/shard': shardDirName(shard) };
    out.push({
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name: secret, ...ns, labels },
      data: { [keyFile]: Buffer.from(o.validatorKeys.get(shard)!, 'utf8').toString('base64') },
    });
    const securityContext = {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: NODE_UID,
      runAsGroup: NODE_UID,
      capabilities: { drop: ['ALL'] },
    };
    const node: Container = {
      name: 'node',
      image,
      args: containerNodeArgs(shard, o.depth, podDns), // a pod has its own cores: default verify workers
      ports: [{ name: 'api', containerPort: CONTAINER_API_PORT }, { name: 'p2p', containerPort: CONTAINER_P2P_PORT }],
      volumeMounts: [
        { name: 'genesis', mountPath: '/net/genesis.json', subPath: 'genesis.json', readOnly: true },
        { name: 'validator-key', mountPath: '/net/validators', readOnly: true },
        { name: 'data', mountPath: '/data' },
        { name: 'tmp', mountPath: '/tmp' },
      ],
      // ready: API up, an epoch sealed, a peer connected (deploy/docker/healthcheck.sh)
      readinessProbe: { exec: { command: [...HEALTHCHECK_CMD] }, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 3 },
      // alive: the epoch clock moves (/v1/health/live; a node catching up after downtime is alive but not ready)
      livenessProbe: { httpGet: { path: '/v1/health/live', port: 'api' }, initialDelaySeconds: 30, periodSeconds: 20, timeoutSeconds: 10, failureThreshold: 6 },
      resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '2Gi' } },
      securityContext,
    };
    out.push({
      apiVersion: 'apps/v1', kind: 'StatefulSet',
      metadata: { name: set, ...ns, labels },
      spec: {
        serviceName: peerService,
        replicas: 1,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: labels },
        template: {
          metadata: {
            labels,
            annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(CONTAINER_API_PORT), 'prometheus.io/path': '/metrics' },
          },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 20,
            securityContext: { runAsNonRoot: true, runAsUser: NODE_UID, runAsGroup: NODE_UID, fsGroup: NODE_UID, seccompProfile: { type: 'RuntimeDefault' } },
            initContainers: [{
              name: 'validator-key',
              image,
              command: ['install', '-m', '0400', `/secret/${keyFile}`, `/net/validators/${keyFile}`],
              volumeMounts: [
                { name: 'validator-secret', mountPath: '/secret', readOnly: true },
                { name: 'validator-key', mountPath: '/net/validators' },
              ],
              resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
              securityContext,
            }],
            containers: [node],
            volumes: [
              { name: 'genesis', configMap: { name: genesisName } },
              // group-readable for fsGroup only, so the unprivileged init container can copy it
              { name: 'validator-secret', secret: { secretName: secret, defaultMode: 0o440 } },
              { name: 'validator-key', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
              { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
            ],
          },
        },
        volumeClaimTemplates: [{
          apiVersion: 'v1', kind: 'PersistentVolumeClaim',
          metadata: { name: 'data', labels },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage } },
            ...(o.storageClass ? { storageClassName: o.storageClass } : {}),
          },
        }],
      },
    });
  }
  return out;
}
