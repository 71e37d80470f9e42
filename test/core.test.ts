// Properties of the core encodings and names every other module relies on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteReader, ByteSlab, ByteWriter, DecodeError, fromHex, toHex, uninitBytes } from '../src/core/bytes.js';
import { allShards, ancestorsOf, childrenOf, parentOf, parseShardId, positionInParent, shardFromIndex, shardIndex, type TriadPath } from '../src/core/ids.js';
import { homeShard } from '../src/core/address.js';
import { sha256, taggedHash, taggedHashOf } from '../src/core/hash.js';
import { genesisHash, parseGenesis, genesisToJson, GenesisError } from '../src/core/genesis.js';
import { makeLayout, peersOf } from '../src/cluster/layout.js';

test('ByteWriter/ByteReader round-trip every field kind, and truncation is a DecodeError', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffffffff }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.uint8Array({ maxLength: 100 }), fc.string(), (a, b, c, d, e) => {
      const enc = new ByteWriter(4).u8(a).u32(b).u64(c).bytes(d).string(e).finish();
      const r = new ByteReader(enc);
      assert.equal(r.u8(), a);
      assert.equal(r.u32(), b);
      assert.equal(r.u64(), c);
      assert.deepEqual(r.bytes(1000), d);
      assert.equal(r.string(1 << 20), e);
      r.end();
      for (let cut = 0; cut < enc.length; cut += Math.max(1, Math.floor(enc.length / 7))) {
        assert.throws(() => {
          const rr = new ByteReader(enc.subarray(0, cut));
          rr.u8(); rr.u32(); rr.u64(); rr.bytes(1000); rr.string(1 << 20); rr.end();
        }, DecodeError);
      }
    }),
  );
});

test('a length prefix over the field limit is refused before allocation', () => {
  const enc = new ByteWriter().u32(1 << 30).finish();
  assert.throws(() => new ByteReader(enc).bytes(1024), /exceeds limit/);
});

test('strings: invalid UTF-8 is a DecodeError, and the (shared) decoder keeps nothing from it for the next string', () => {
  const cut = new ByteWriter().bytes(new Uint8Array([0x68, 0xe2, 0x82])).finish(); // "h" then a truncated 3-byte sequence
  assert.throws(() => new ByteReader(cut).string(10), DecodeError);
  assert.equal(new ByteReader(new ByteWriter().string('\u20ac1').finish()).string(10), '\u20ac1');
  fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), (s) => new ByteReader(new ByteWriter().string(s).finish()).string(1000) === s), { numRuns: 200 });
});

test('strings are encoded byte for byte as TextEncoder does (ASCII written in place, any other string, lone surrogates too, through the encoder) and decoded as a fatal TextDecoder does, long or short', () => {
  const te = new TextEncoder();
  const td = new TextDecoder('utf-8', { fatal: true });
  const units = (max: number) => fc.string({ unit: fc.integer({ min: 0, max }).map((c) => String.fromCharCode(c)), maxLength: 80 });
  const anyString = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), units(0xff), units(0xffff));
  fc.assert(fc.property(anyString, fc.uint8Array({ maxLength: 3 }), (s, pre) => {
    const want = new ByteWriter().fixed(pre).bytes(te.encode(s)).finish();
    assert.deepEqual(new ByteWriter(2).fixed(pre).string(s).finish(), want);
  }), { numRuns: 1000 });
  const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ max: 0x7f, maxLength: 100 }), fc.string({ maxLength: 70 }).map((s) => te.encode(s)));
  fc.assert(fc.property(anyBytes, (b) => {
    let want: string | undefined;
    try { want = td.decode(b); } catch { want = undefined; }
    const r = new ByteReader(new ByteWriter().bytes(b).finish());
    if (want === undefined) assert.throws(() => r.string(1000), DecodeError);
    else assert.equal(r.string(1000), want);
  }), { numRuns: 1000 });
});

test('uninitBytes gives a plain Uint8Array of n bytes alone in its buffer (offset 0: DataViews over .buffer line up)', () => {
  for (const n of [0, 1, 100, 5000, 200_000]) {
    const b = uninitBytes(n);
    assert.equal(Object.getPrototypeOf(b), Uint8Array.prototype); // not a Buffer: slice() copies
    assert.equal(b.length, n);
    assert.equal(b.byteOffset, 0);
    assert.equal(b.buffer.byteLength, n);
  }
});

test('ByteSlab hands out zeroed, 8-byte aligned views that never overlap, and starts a new buffer when one is full', () => {
  const slab = new ByteSlab(100);
  const got: Uint8Array[] = [];
  for (const n of [3, 32, 1, 40, 17, 100, 0, 9]) {
    const b = slab.take(n);
    assert.equal(b.length, n);
    assert.equal(b.byteOffset % 8, 0);
    assert.ok(b.every((x) => x === 0));
    b.fill(0xff);
    got.push(b);
  }
  for (const [i, a] of got.entries()) {
    for (const b of got.slice(i + 1)) {
      const overlap = a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
      assert.ok(!overlap || a.length === 0 || b.length === 0);
    }
  }
  assert.ok(new Set(got.map((b) => b.buffer)).size >= 3); // 3 + 32 + 1 + 40 fit in one 100-byte buffer, the rest spill
});

test('hex decoding is strict', () => {
  assert.deepEqual(fromHex('0x00ff'), new Uint8Array([0, 255]));
  for (const bad of ['0', 'zz', '0x0g', ' 00']) assert.throws(() => fromHex(bad), DecodeError);
  assert.throws(() => fromHex('00', 2), DecodeError);
  assert.equal(toHex(new Uint8Array([1, 171])), '01ab');
});

test('tagged hashes separate domains', () => {
  const x = new Uint8Array([1, 2, 3]);
  assert.notDeepEqual(taggedHash('a', x), taggedHash('b', x));
  assert.deepEqual(taggedHash('a', x), taggedHash('a', x.subarray(0, 1), x.subarray(1)));
});

test('taggedHash is SHA-256(SHA-256("smt/v1/" + tag) || parts...) as @noble/hashes computes it, whatever the split of the parts, as a plain Uint8Array', () => {
  fc.assert(fc.property(fc.string({ maxLength: 20 }), fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }), (tag, parts) => {
    const h = sha256.create();
    h.update(sha256(new TextEncoder().encode(`smt/v1/${tag}`)));
    for (const p of parts) h.update(p);
    const got = taggedHash(tag, ...parts);
    assert.deepEqual(got, h.digest());
    assert.equal(Object.getPrototypeOf(got), Uint8Array.prototype); // not a Buffer: slice() copies
  }), { numRuns: 300 });
  assert.equal(toHex(taggedHash('snapshot')), toHex(sha256(sha256(new TextEncoder().encode('smt/v1/snapshot')))));
});

test('taggedHashOf(tag, write) is taggedHash(tag, what write encodes), one after another and nested', () => {
  fc.assert(fc.property(fc.string({ maxLength: 10 }), fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 4 }), fc.string({ maxLength: 40 }), (tag, parts, str) => {
    const write = (w: ByteWriter): void => { for (const p of parts) w.bytes(p); w.string(str); };
    const bytes = new ByteWriter(); write(bytes);
    const want = toHex(taggedHash(tag, bytes.finish()));
    assert.equal(toHex(taggedHashOf(tag, write)), want);
    assert.equal(toHex(taggedHashOf(tag, write)), want, 'the scratch writer reused');
    let inner = '';
    const outer = taggedHashOf(tag, (w) => { inner = toHex(taggedHashOf(tag, write)); write(w); });
    assert.equal(inner, want, 'nested inside another');
    assert.equal(toHex(outer), want);
  }), { numRuns: 200 });
});

test('shard ids <-> indices are a bijection, and the hierarchy relations are consistent', () => {
  for (const depth of [0, 1, 2, 3]) {
    const shards = allShards(depth);
    assert.equal(shards.length, 3 ** depth);
    shards.forEach((s, i) => {
      assert.equal(shardIndex(s), i);
      assert.equal(shardFromIndex(i, depth), s);
      assert.equal(parseShardId(s, depth), s);
      if (depth > 0) {
        assert.ok(childrenOf(parentOf(s)).includes(s));
        assert.equal(childrenOf(parentOf(s))[positionInParent(s)], s);
        assert.deepEqual(ancestorsOf(s).at(-1), '' as TriadPath);
        assert.equal(ancestorsOf(s).length, depth);
      }
    });
  }
  assert.throws(() => parseShardId('03', 2));
  assert.throws(() => parseShardId('0', 2));
});

test('home shard map is uniform: 27k random addresses over 9 shards stay within 5% of the mean', () => {
  const counts = new Map<string, number>();
  const rng = fc.sample(fc.uint8Array({ minLength: 20, maxLength: 20 }), { numRuns: 27000, seed: 42 });
  for (const a of rng) {
    const s = homeShard(a, 2);
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  assert.equal(counts.size, 9);
  for (const c of counts.values()) assert.ok(Math.abs(c - 3000) < 150, `count ${c}`);
});

const validGenesis = {
  networkId: 'devnet',
  depth: 1,
  epochMs: 1000,
  genesisTime: 1_700_000_000_000,
  allocations: [{ address: '11'.repeat(20), amount: '1000' }],
  validators: { '0': 'aa'.repeat(32), '1': 'bb'.repeat(32), '2': 'cc'.repeat(32) },
};

test('genesis parses, round-trips through JSON, and hashes canonically', () => {
  const g = parseGenesis(validGenesis);
  const again = parseGenesis(JSON.parse(JSON.stringify(genesisToJson(g))));
  assert.deepEqual(genesisHash(again), genesisHash(g));
  const reordered = parseGenesis({ ...validGenesis, validators: { '2': 'cc'.repeat(32), '1': 'bb'.repeat(32), '0': 'aa'.repeat(32) } });
  assert.deepEqual(genesisHash(reordered), genesisHash(g), 'key order in the JSON does not change the network identity');
});

test('genesis rejects every malformed field with a clear GenesisError', () => {
  const bads: unknown[] = [
    null,
    { ...validGenesis, networkId: 'Bad Id' },
    { ...validGenesis, depth: 9 },
    { ...validGenesis, epochMs: 1 },
    { ...validGenesis, allocations: [{ address: '11', amount: '1' }] },
    { ...validGenesis, allocations: [{ address: '11'.repeat(20), amount: '-1' }] },
    { ...validGenesis, allocations: [{ address: '11'.repeat(20), amount: '1' }, { address: '11'.repeat(20), amount: '1' }] },
    { ...validGenesis, allocations: [{ address: '11'.repeat(20), amount: '18446744073709551615' }, { address: '22'.repeat(20), amount: '1' }] },
    { ...validGenesis, validators: { '0': 'aa'.repeat(32) } },
    { ...validGenesis, validators: { ...validGenesis.validators, '3': 'dd'.repeat(32) } },
  ];
  for (const b of bads) assert.throws(() => parseGenesis(b), GenesisError, JSON.stringify(b));
});

test('cluster layout gives every shard distinct loopback ports and all other shards as peers', () => {
  const l = makeLayout(2);
  const ports = l.shards.flatMap((s) => [s.apiPort, s.p2pPort]);
  assert.equal(new Set(ports).size, ports.length);
  for (const s of l.shards) {
    assert.equal(s.apiHost, '127.0.0.1');
    assert.equal(peersOf(l, s.shard).length, 8);
  }
  assert.throws(() => makeLayout(2, { apiBasePort: 7000, p2pBasePort: 7005 }), /overlap/);
});
