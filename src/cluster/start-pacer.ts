// A staggered start (pure): `cluster up` spawns shard processes so that at most `limit` of them are
// starting at once, a process counting as starting from its spawn until its API first answers (it
// has loaded its code, opened its store and joined the network). 27 processes started together on
// 2 cores each load the same code at 1/27th of the machine, and all of them are slow for minutes.

export class StartPacer<T> {
  private readonly waiting: T[];
  private readonly starting = new Set<T>();
  private readonly limit: number;

  /** `limit` 0: everything at once. */
  constructor(items: readonly T[], limit: number) {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`start concurrency must be a non-negative integer, got ${limit}`);
    this.waiting = [...items];
    this.limit = limit === 0 ? Infinity : limit;
  }

  /** The items to spawn now (each returned once), given that `answered` ones have come up. */
  next(answered: (item: T) => boolean): T[] {
    for (const s of [...this.starting]) if (answered(s)) this.starting.delete(s);
    const out: T[] = [];
    while (this.waiting.length > 0 && this.starting.size < this.limit) {
      const s = this.waiting.shift()!;
      this.starting.add(s);
      out.push(s);
    }
    return out;
  }

  /** Items not spawned yet. */
  get notStarted(): number {
    return this.waiting.length;
  }

  /** Spawned items whose API has not answered yet. */
  get inStartUp(): readonly T[] {
    return [...this.starting];
  }
}
