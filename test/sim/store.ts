// An in-memory LevelDB stand-in with explicit sync points, for crash-restart in the simulator.
// Every write applies at once (what the running process reads); a write with `sync: true` makes it
// and every write before it durable (LevelDB's log is sequential: a synced write flushes what came
// before). A crash keeps exactly the durable writes: `afterCrash()` opens a new database holding
// them and nothing else. Disk latency: with `io` set, each read or write first waits for what it
// returns (a promise resolved by the virtual clock, or nothing: at once), so a handler awaiting the
// store is suspended while other events of its process run, as with a real disk; a crashed
// process's waits never end, so its operations never happen.
import { MemoryLevel } from 'memory-level';

type Op = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };
type Priv = { _batch(ops: Op[], o: object): Promise<void> };

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export class CrashableLevel<K = Uint8Array, V = Uint8Array> extends MemoryLevel<K, V> {
  private pending: Op[] = [];
  private readonly durable: Map<string, Uint8Array>;
  /** Writes lost so far by crashes (for the trace). */
  lostWrites = 0;
  /** Disk latency: what each read or write waits for first (undefined: nothing). */
  io: (() => Promise<void> | undefined) | undefined;

  constructor(options: ConstructorParameters<typeof MemoryLevel<K, V>>[0] = {}, durable = new Map<string, Uint8Array>()) {
    super({ ...options, storeEncoding: 'view' } as never);
    this.durable = durable;
  }

  /** The options this database was made with (for afterCrash). */
  private opts: ConstructorParameters<typeof MemoryLevel<K, V>>[0] = {};

  static make<K, V>(options: ConstructorParameters<typeof MemoryLevel<K, V>>[0]): CrashableLevel<K, V> {
    const db = new CrashableLevel<K, V>(options);
    db.opts = options;
    return db;
  }

  /** A fresh database with only the durable writes, as a restarted process finds its files. */
  async afterCrash(): Promise<{ db: CrashableLevel<K, V>; lost: number }> {
    const db = new CrashableLevel<K, V>(this.opts, new Map(this.durable));
    db.opts = this.opts;
    await db.open();
    const ops: Op[] = [...this.durable].map(([k, v]) => ({ type: 'put', key: Uint8Array.from(Buffer.from(k, 'hex')), value: v }));
    if (ops.length) await (MemoryLevel.prototype as unknown as Priv)._batch.call(db, ops, {});
    return { db, lost: this.pending.length };
  }

  private note(ops: Op[], options: { sync?: boolean } | undefined): void {
    for (const o of ops) this.pending.push(o.type === 'put' ? { type: 'put', key: o.key.slice(), value: o.value.slice() } : { type: 'del', key: o.key.slice() });
    if (options?.sync) {
      for (const o of this.pending) {
        if (o.type === 'put') this.durable.set(hex(o.key), o.value);
        else this.durable.delete(hex(o.key));
      }
      this.pending = [];
    }
  }

  async _get(key: Uint8Array, options: object): Promise<Uint8Array | undefined> {
    const w = this.io?.();
    if (w) await w;
    return (MemoryLevel.prototype as unknown as { _get(k: Uint8Array, o: object): Promise<Uint8Array | undefined> })._get.call(this, key, options);
  }

  async _getMany(keys: Uint8Array[], options: object): Promise<(Uint8Array | undefined)[]> {
    const w = this.io?.();
    if (w) await w;
    return (MemoryLevel.prototype as unknown as { _getMany(k: Uint8Array[], o: object): Promise<(Uint8Array | undefined)[]> })._getMany.call(this, keys, options);
  }

  async _put(key: Uint8Array, value: Uint8Array, options: { sync?: boolean }): Promise<void> {
    const w = this.io?.();
    if (w) await w;
    await (MemoryLevel.prototype as unknown as { _put(k: Uint8Array, v: Uint8Array, o: object): Promise<void> })._put.call(this, key, value, options);
    this.note([{ type: 'put', key, value }], options);
  }

  async _del(key: Uint8Array, options: { sync?: boolean }): Promise<void> {
    const w = this.io?.();
    if (w) await w;
    await (MemoryLevel.prototype as unknown as { _del(k: Uint8Array, o: object): Promise<void> })._del.call(this, key, options);
    this.note([{ type: 'del', key }], options);
  }

  async _batch(ops: Op[], options: { sync?: boolean }): Promise<void> {
    const w = this.io?.();
    if (w) await w;
    await (MemoryLevel.prototype as unknown as Priv)._batch.call(this, ops, options);
    this.note(ops, options);
  }
}
