// No peer-store write per request stream. libp2p records, at both ends of every stream it negotiates,
// that the remote peer speaks the stream's protocol: a peer-store merge, which takes the peer's write
// lock, reads and decodes its whole record (every multiaddr parsed), builds and encodes the merged
// record and compares it with the stored one. For our request/response protocols (fetch, proof-fetch,
// submit) that is a stream per request, and by profile of nine idle nodes the peer store was about a
// third of what their request streams cost. Nothing reads those entries: a peer's protocols are
// recorded by identify when it connects, requests go to validators by peer id, and no topology is
// registered for these protocols. So a merge that only adds one of them to another peer's record is
// answered without touching the store; every other write (our own record, gossipsub's and identify's
// protocols, addresses, tags, metadata) goes through unchanged.
// Applied to one libp2p node's peer store (an own property shadows the class method; no file of the
// library is changed).

interface PeerIdLike { toString(): string }

/** What this needs of a libp2p peer store. */
export interface MergingPeerStore {
  merge(id: PeerIdLike, data: Record<string, unknown>, options?: unknown): Promise<unknown>;
}

/** Whether `data` (a merge) only records that a peer speaks one protocol that `skip` names. */
export function isSkippableMerge(data: Record<string, unknown>, skip: ReadonlySet<string>): boolean {
  const keys = Object.keys(data);
  if (keys.length !== 1 || keys[0] !== 'protocols') return false;
  const p = data.protocols;
  return Array.isArray(p) && p.length === 1 && typeof p[0] === 'string' && skip.has(p[0]);
}

/**
 * Makes `store.merge` skip merges that only record that a peer other than `self` speaks one of
 * `skip` (read at each call: protocols may be added later). Resolves them to undefined: libp2p's
 * stream negotiation, their only caller, does not use the result. Returns a function that restores
 * the store's own merge.
 */
export function skipRequestProtocolMerges(store: MergingPeerStore, self: string, skip: ReadonlySet<string>): () => void {
  const own = Object.prototype.hasOwnProperty.call(store, 'merge') ? store.merge : undefined;
  const merge = store.merge.bind(store);
  store.merge = (id, data, options) => {
    if (isSkippableMerge(data, skip) && id.toString() !== self) return Promise.resolve(undefined);
    return merge(id, data, options);
  };
  return () => {
    if (own) store.merge = own;
    else delete (store as Partial<MergingPeerStore>).merge;
  };
}
