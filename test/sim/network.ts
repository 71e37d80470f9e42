// The simulator's network: an in-process stand-in for libp2p (the P2PNode interface the node's
// network layer uses) on the virtual clock, with a seeded fault model per directed link: a delay
// distribution (base + exponential jitter), loss, duplication (a late second copy) and so
// reordering, partitions (one direction or both), and the processes' pauses and crashes.
//
// Gossip floods like a gossipsub mesh: a node that accepts a message (its topic validator says
// Accept) relays it to its other subscribed neighbours; each node handles a message once (seen
// ids). Requests (the fetch and submit protocols) travel over a connection: no loss, the link's
// delays both ways, a timeout at the asker; a partition or a crash in between loses the answer.
import { TopicValidatorResult, type TopicValidatorFn } from '@libp2p/gossipsub';
import { fastMessageId } from '../../src/gossip/encoding.js';
import type { MessageHandler, P2PNode, RequestHandler } from '../../src/gossip/p2p.js';
import type { SimProcess, VirtualClock } from './clock.js';

export interface LinkModel {
  /** One-way base delay (ms). */
  baseMs: number;
  /** Mean of the exponential jitter added to each message (ms). */
  jitterMs: number;
  loss: number;
  dup: number;
}

export class SimNetwork {
  readonly clock: VirtualClock;
  private readonly rand: () => number;
  private readonly nodes = new Map<string, SimP2P>();
  /** Directed links cut: `${from}>${to}`. */
  private readonly cut = new Set<string>();
  private readonly links = new Map<string, LinkModel>();
  defaultLink: LinkModel;
  readonly stats = { sent: 0, delivered: 0, lost: 0, duplicated: 0, blocked: 0, requests: 0, timeouts: 0 };
  /** Trace sink (one line per notable network event). */
  trace: (line: string) => void = () => {};

  constructor(clock: VirtualClock, rand: () => number, link: LinkModel) {
    this.clock = clock;
    this.rand = rand;
    this.defaultLink = link;
  }

  /** A transport for the process `proc` with peer id `peerId` (replacing an older one of that id). */
  attach(peerId: string, proc: SimProcess): SimP2P {
    const p = new SimP2P(this, peerId, proc);
    this.nodes.set(peerId, p);
    return p;
  }

  node(peerId: string): SimP2P | undefined {
    const n = this.nodes.get(peerId);
    return n && !n.closed && n.proc.state !== 'down' ? n : undefined;
  }

  peers(): string[] {
    return [...this.nodes.keys()];
  }

  setLink(from: string, to: string, m: LinkModel): void {
    this.links.set(`${from}>${to}`, m);
  }

  link(from: string, to: string): LinkModel {
    return this.links.get(`${from}>${to}`) ?? this.defaultLink;
  }

  block(from: string, to: string): void {
    this.cut.add(`${from}>${to}`);
  }

  unblock(from: string, to: string): void {
    this.cut.delete(`${from}>${to}`);
  }

  healAll(): void {
    this.cut.clear();
  }

  blocked(from: string, to: string): boolean {
    return this.cut.has(`${from}>${to}`);
  }

  /** Connected: both ends alive (a paused process keeps its connections) and both directions open. */
  connected(a: string, b: string): boolean {
    return a !== b && this.node(a) !== undefined && this.node(b) !== undefined && !this.blocked(a, b) && !this.blocked(b, a);
  }

  delay(from: string, to: string): number {
    const m = this.link(from, to);
    return m.baseMs + Math.floor(-Math.log(1 - this.rand()) * m.jitterMs);
  }

  /** Sends gossip `data` on `topic` from `from` to `to` (loss, duplication, delay). */
  sendGossip(from: string, to: string, topic: string, data: Uint8Array): void {
    this.stats.sent++;
    if (this.blocked(from, to)) { this.stats.blocked++; return; }
    const m = this.link(from, to);
    if (this.rand() < m.loss) { this.stats.lost++; return; }
    const copies = this.rand() < m.dup ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    const target = this.nodes.get(to);
    if (!target) return;
    for (let c = 0; c < copies; c++) {
      const at = this.clock.now + this.delay(from, to) + c * Math.floor(this.rand() * 200);
      const gen = target.proc.gen;
      this.clock.at(at, () => {
        if (target.proc.gen !== gen || target.closed) return;
        if (this.clock.now < target.meshAt) { this.stats.lost++; return; }
        this.stats.delivered++;
        void target.receive(topic, data, from);
      }, target.proc);
    }
  }

  /** A request from `from` to `to`; resolves to the answer or rejects (timeout, not connected, remote error). */
  request(from: SimP2P, to: string, protocol: string, req: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    this.stats.requests++;
    return new Promise((resolve, reject) => {
      const target = this.node(to);
      if (!target || !this.connected(from.peerId, to)) {
        reject(new Error(`not connected to ${to}`));
        return;
      }
      let done = false;
      const fromGen = from.proc.gen;
      const finish = (f: () => void): void => {
        if (done) return;
        done = true;
        cancelTimeout();
        f();
      };
      const cancelTimeout = this.clock.at(this.clock.now + timeoutMs, () => {
        if (done) return;
        done = true;
        this.stats.timeouts++;
        reject(new Error(`request to ${to} timed out after ${timeoutMs} ms`));
      }, from.proc);
      const gen = target.proc.gen;
      this.clock.at(this.clock.now + this.delay(from.peerId, to), () => {
        if (target.proc.gen !== gen || target.closed || this.blocked(from.peerId, to)) return; // lost with the connection
        const h = target.handlers.get(protocol);
        const answer = h ? h(req, from.peerId) : Promise.reject(new Error(`no handler for ${protocol}`));
        answer.then(
          (b) => this.respond(target, from, fromGen, () => finish(() => resolve(b))),
          (e: unknown) => this.respond(target, from, fromGen, () => finish(() => reject(new Error(`remote error: ${(e as Error).message}`)))),
        );
      }, target.proc);
    });
  }

  private respond(server: SimP2P, client: SimP2P, clientGen: number, deliver: () => void): void {
    this.clock.at(this.clock.now + this.delay(server.peerId, client.peerId), () => {
      if (client.proc.gen !== clientGen || this.blocked(server.peerId, client.peerId)) return;
      deliver();
    }, client.proc);
  }
}

export class SimP2P implements P2PNode {
  readonly peerId: string;
  readonly proc: SimProcess;
  closed = false;
  /** Gossip reaches this node only from this time on (a restarted node joins the topic meshes a
   * heartbeat or more after it is up; requests work at once). What arrives before is lost. */
  meshAt = 0;
  readonly handlers = new Map<string, RequestHandler>();
  private readonly net: SimNetwork;
  private readonly subs = new Map<string, MessageHandler>();
  private readonly validators = new Map<string, TopicValidatorFn>();
  private readonly seen = new Set<string>();
  private readonly seenOrder: string[] = [];

  constructor(net: SimNetwork, peerId: string, proc: SimProcess) {
    this.net = net;
    this.peerId = peerId;
    this.proc = proc;
  }

  get libp2p(): never {
    throw new Error('no libp2p in the simulator');
  }

  multiaddrs(): string[] {
    return [];
  }

  subscribe(topic: string, handler: MessageHandler): void {
    this.subs.set(topic, handler);
  }

  unsubscribe(topic: string): void {
    this.subs.delete(topic);
  }

  subscribed(topic: string): boolean {
    return this.subs.has(topic);
  }

  async publish(topic: string, data: Uint8Array): Promise<number> {
    if (this.closed) throw new Error('closed');
    this.markSeen(topic, data);
    return this.flood(topic, data, undefined);
  }

  private flood(topic: string, data: Uint8Array, except: string | undefined): number {
    let n = 0;
    for (const p of this.topicPeers(topic)) {
      if (p === except) continue;
      this.net.sendGossip(this.peerId, p, topic, data);
      n++;
    }
    return n;
  }

  /** A gossip message arriving from neighbour `from`: once per message id, validated, relayed, handled. */
  async receive(topic: string, data: Uint8Array, from: string): Promise<void> {
    const handler = this.subs.get(topic);
    if (!handler || this.closed) return;
    if (!this.markSeen(topic, data)) return;
    const v = this.validators.get(topic);
    const verdict = v ? await v({ toString: () => from } as never, { type: 'unsigned', topic, data } as never) : TopicValidatorResult.Accept;
    if (verdict !== TopicValidatorResult.Accept || this.closed) return;
    this.flood(topic, data, from);
    handler(data, { topic, from });
  }

  private markSeen(topic: string, data: Uint8Array): boolean {
    const id = fastMessageId(topic, data);
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    this.seenOrder.push(id);
    if (this.seenOrder.length > 20_000) this.seen.delete(this.seenOrder.shift()!);
    return true;
  }

  setTopicValidator(topic: string, fn: TopicValidatorFn): void {
    this.validators.set(topic, fn);
  }

  addPeer(): void {}

  connectedPeers(): string[] {
    return this.net.peers().filter((p) => this.net.connected(this.peerId, p));
  }

  topicPeers(topic: string): string[] {
    return this.connectedPeers().filter((p) => this.net.node(p)?.subscribed(topic));
  }

  meshPeers(topic: string): string[] {
    return this.topicPeers(topic);
  }

  peerScore(): number {
    return 0;
  }

  async handle(protocol: string, handler: RequestHandler): Promise<void> {
    this.handlers.set(protocol, handler);
  }

  request(peer: string, protocol: string, request: Uint8Array, opts?: { timeoutMs?: number }): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new Error('closed'));
    return this.net.request(this, peer, protocol, request, opts?.timeoutMs ?? 10_000);
  }

  isAllowed(): boolean {
    return true;
  }

  admissionStats(): { deniedConnections: number; rejectedSenders: number; refusedRequests: number } {
    return { deniedConnections: 0, rejectedSenders: 0, refusedRequests: 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
