// Client-side proof checks, with the standalone trie verifier only (no database, no trust in the node
// beyond the root it names). The one place the CLI, tests and benchmarks touch src/trie.
import { DecodeError, fromHex } from '../core/bytes.js';
import { accountKey, decodeAccountValue } from '../shard/records.js';
import { decodeProof, verifyProof } from '../trie/index.js';

export interface AccountJson {
  address: string;
  balance: string;
  nonce: string;
  stateRoot: string;
  proof: string;
  value: string | null;
}

/**
 * Checks an account answer: the proof shows `value` (or its absence) under the account's key in the
 * trie with root `stateRoot`, and the balance and nonce shown are the ones in that value.
 * Returns a reason string on failure, undefined when everything checks out.
 */
export function checkAccountProof(a: AccountJson): string | undefined {
  try {
    const address = fromHex(a.address, 20);
    const value = a.value === null ? null : fromHex(a.value);
    const ok = verifyProof(fromHex(a.stateRoot, 32), accountKey(address), value, decodeProof(fromHex(a.proof)));
    if (!ok) return 'the proof does not verify against the state root';
    if (value === null) {
      if (a.balance !== '0' || a.nonce !== '0') return 'proof says the account is absent but a balance or nonce was reported';
      return undefined;
    }
    const d = decodeAccountValue(value);
    if (d.balance.toString() !== a.balance || d.nonce.toString() !== a.nonce) return 'balance/nonce reported differ from the proven leaf value';
    return undefined;
  } catch (e) {
    return e instanceof DecodeError ? `undecodable proof or value: ${e.message}` : `proof check failed: ${(e as Error).message}`;
  }
}

/** Checks a committed transaction's inclusion proof: txid -> value under txRoot. */
export function checkTxProof(txid: string, txRoot: string, proof: string, value: string): string | undefined {
  try {
    const ok = verifyProof(fromHex(txRoot, 32), fromHex(txid, 32), fromHex(value), decodeProof(fromHex(proof)));
    return ok ? undefined : 'the inclusion proof does not verify against the tx root';
  } catch (e) {
    return e instanceof DecodeError ? `undecodable proof: ${e.message}` : `proof check failed: ${(e as Error).message}`;
  }
}
