// Writes test/vectors/trie.json: content sets -> root, the key-to-trit map on sample keys, and sample
// inclusion / non-inclusion proofs, so another implementation can be cross-checked byte for byte.
// npm run vectors:trie   (test/trie-vectors.test.ts checks the current code reproduces the file)
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TernaryTrie, MemoryNodeStore, encodeProof, keyDigits } from '../src/trie/index.js';
import { sha256 } from '../src/core/hash.js';
import { toHex } from '../src/core/bytes.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const key = (label: string): Uint8Array => sha256(enc(`smt/trie-vectors/${label}`));

function toBig(b: Uint8Array): bigint {
  let x = 0n;
  for (const v of b) x = (x << 8n) | BigInt(v);
  return x;
}
function fromBig(x: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--, x >>= 8n) out[i] = Number(x & 0xffn);
  return out;
}
/** base + j * 3^k mod 2^256: shares the first k trits with base. */
const sharing = (base: Uint8Array, k: number, j: number): Uint8Array => fromBig((toBig(base) + BigInt(j) * 3n ** BigInt(k)) % (1n << 256n));

export interface TrieVectors {
  description: string;
  trits: Array<{ key: string; trits: string }>;
  sets: Array<{
    name: string;
    entries: Array<[key: string, value: string]>;
    root: string;
    proofs: Array<{ key: string; value: string | null; end: string; proof: string }>;
  }>;
}

function contentSets(): Array<{ name: string; entries: Array<[Uint8Array, Uint8Array]>; probes: Uint8Array[] }> {
  const sets: Array<{ name: string; entries: Array<[Uint8Array, Uint8Array]>; probes: Uint8Array[] }> = [];
  sets.push({ name: 'empty', entries: [], probes: [key('empty/0')] });
  sets.push({ name: 'one', entries: [[key('one/0'), enc('hello')]], probes: [key('one/0'), key('one/1')] });
  const b = key('ext/base');
  sets.push({
    name: 'two-sharing-5-trits',
    entries: [
      [b, enc('a')],
      [sharing(b, 5, 1), enc('b')],
    ],
    probes: [b, sharing(b, 5, 2), sharing(b, 3, 1), sharing(b, 0, 1)],
  });
  const ten: Array<[Uint8Array, Uint8Array]> = [];
  for (let i = 0; i < 10; i++) ten.push([key(`ten/${i}`), i === 0 ? new Uint8Array(0) : enc(`value-${i}`.repeat(i))]);
  sets.push({ name: 'ten', entries: ten, probes: [key('ten/0'), key('ten/9'), key('ten/absent/0'), key('ten/absent/1'), key('ten/absent/2')] });
  const hundred: Array<[Uint8Array, Uint8Array]> = [];
  for (let i = 0; i < 100; i++) hundred.push([key(`hundred/${i}`), enc(`${i}`)]);
  const hp: Uint8Array[] = [key('hundred/0'), key('hundred/57')];
  for (let i = 0; i < 6; i++) hp.push(key(`hundred/absent/${i}`));
  sets.push({ name: 'hundred', entries: hundred, probes: hp });
  const fam: Array<[Uint8Array, Uint8Array]> = [];
  const fb = key('family/base');
  fam.push([fb, enc('base')]);
  for (const k of [1, 4, 9, 24, 40]) fam.push([sharing(fb, k, 1), enc(`k${k}`)]);
  for (let i = 0; i < 20; i++) fam.push([key(`family/${i}`), enc(`f${i}`)]);
  sets.push({
    name: 'extensions',
    entries: fam,
    probes: [fb, sharing(fb, 24, 1), sharing(fb, 40, 2), sharing(fb, 12, 1), sharing(fb, 30, 2), sharing(fb, 2, 1), key('family/absent')],
  });
  return sets;
}

export async function buildVectors(): Promise<TrieVectors> {
  const trits: TrieVectors['trits'] = [];
  for (const k of [new Uint8Array(32), new Uint8Array(32).fill(0xff), fromBig(1n), fromBig(3n ** 161n), key('trits/0'), key('trits/1')]) {
    trits.push({ key: toHex(k), trits: [...keyDigits(k, 3)].join('') });
  }
  const sets: TrieVectors['sets'] = [];
  for (const s of contentSets()) {
    const t = await TernaryTrie.open(new MemoryNodeStore());
    for (const [k, v] of s.entries) await t.put(k, v);
    const root = t.root();
    const proofs: TrieVectors['sets'][number]['proofs'] = [];
    for (const k of s.probes) {
      const v = await t.get(k);
      const p = await t.prove(k);
      proofs.push({ key: toHex(k), value: v === undefined ? null : toHex(v), end: p.end.kind, proof: toHex(encodeProof(p)) });
    }
    sets.push({ name: s.name, entries: s.entries.map(([k, v]) => [toHex(k), toHex(v)]), root: toHex(root), proofs });
  }
  return {
    description:
      'smt ternary Merkle trie test vectors (docs/PROTOCOL.md, "Trie"). trits: key -> 162 base-3 digits, least significant ' +
      'first. sets: entries (key hex, value hex) -> root; proofs: encodeProof(prove(key)), value null = non-inclusion.',
    trits,
    sets,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = fileURLToPath(new URL('../test/vectors/trie.json', import.meta.url));
  writeFileSync(out, JSON.stringify(await buildVectors(), null, 2) + '\n');
  console.log(`wrote ${out}`);
}
