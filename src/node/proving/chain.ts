// The chain of global proofs held here, walked back by its links (each global proof names the hash
// of the global proof before it): where it breaks, i.e. which proof the catch-up must fetch. Epochs
// the chain passes over were not proved (the pool skipped them, or the cadence left them out), so
// nobody can serve them. Pure but for the injected look-ups.

/** What the walk needs of one held global proof. */
export interface ChainLink {
  epoch: number;
  /** Hex hash of this proof (what a later proof's link names). */
  hash: string;
  /** Hex hash of the proof it links to (the genesis hash for the first). */
  prevHash: string;
}

export interface ChainLookups {
  /** The held global proof of epoch e. */
  at(e: number): Promise<ChainLink | undefined>;
  /** The latest held global proof of an epoch <= e. */
  latestAtOrBefore(e: number): Promise<ChainLink | undefined>;
  /** Epoch of a held proof (or seen valid variant) by hex hash, if remembered. */
  epochOf(hash: string): number | undefined;
}

/** A break in the chain: the proof of epoch `after` links to `wantHash`, held nowhere here. */
export interface ChainGap {
  after: number;
  wantHash: string;
}

/**
 * Follows the links back from the held proof of epoch `top` for at most `maxSteps` links: null when
 * they end at genesis, run past the steps, or top is not held; else the first link to a proof not held.
 */
export async function firstGap(top: number, genesisHex: string, look: ChainLookups, maxSteps = 8): Promise<ChainGap | null> {
  let cur = await look.at(top);
  for (let step = 0; cur && step < maxSteps; step++) {
    if (cur.prevHash === genesisHex) return null;
    const at = look.epochOf(cur.prevHash);
    const next = at !== undefined && at < cur.epoch ? await look.at(at) : undefined;
    if (next) {
      cur = next;
      continue;
    }
    const before = await look.latestAtOrBefore(cur.epoch - 1);
    if (before && before.hash === cur.prevHash) {
      cur = before;
      continue;
    }
    return { after: cur.epoch, wantHash: cur.prevHash };
  }
  return null;
}
