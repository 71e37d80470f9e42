// Why a transaction was refused. One place maps each reason to an HTTP status; a rejected
// transaction changes nothing in the shard.

export type RejectReason =
  | 'malformed'
  | 'oversized'
  | 'bad-signature'
  | 'wrong-network'
  | 'wrong-shard'
  | 'nonce-replayed'
  | 'nonce-too-far'
  | 'insufficient-funds'
  | 'zero-amount'
  | 'overflow'
  | 'mempool-full'
  | 'duplicate'
  | 'overloaded';

// Order is wire format (src/gossip/submit.ts sends the index): append new reasons, never reorder.
export const REJECT_REASONS: readonly RejectReason[] = [
  'malformed', 'oversized', 'bad-signature', 'wrong-network', 'wrong-shard', 'nonce-replayed',
  'nonce-too-far', 'insufficient-funds', 'zero-amount', 'overflow', 'mempool-full', 'duplicate', 'overloaded',
];

/**
 * 400: the bytes are not a valid transaction at all; 413: too large; 409: conflicts with the
 * sender's nonce sequence or an existing transaction; 422: well-formed but not acceptable (funds,
 * shard, network, signature); 503: the mempool is full or too much is being verified, retry later.
 */
export function httpStatusFor(reason: RejectReason): number {
  switch (reason) {
    case 'malformed':
      return 400;
    case 'oversized':
      return 413;
    case 'nonce-replayed':
    case 'duplicate':
      return 409;
    case 'bad-signature':
    case 'wrong-network':
    case 'wrong-shard':
    case 'nonce-too-far':
    case 'insufficient-funds':
    case 'zero-amount':
    case 'overflow':
      return 422;
    case 'mempool-full':
    case 'overloaded':
      return 503;
  }
}
