// Test vectors of docs/PROTOCOL.md "Network and aggregation": encodings and hashes must not drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../src/core/bytes.js';
import type { TriadPath } from '../src/core/ids.js';
import { aggregateHash, encodeAggregate, type TriadAggregate } from '../src/hierarchy/aggregate.js';
import { encodeEnvelope, GossipKind, messageId } from '../src/gossip/encoding.js';

test('the aggregate encoding and aggregateHash match the documented vector', () => {
  const a: TriadAggregate = {
    network: 'devnet', path: '1' as TriadPath, epoch: 7,
    children: [1, 2, 3].map((k) => ({ commitment: new Uint8Array(32).fill(k), epoch: k === 3 ? 6 : 7, carried: k === 3, supply: BigInt(k * 1000) })) as TriadAggregate['children'],
    supply: 6000n, outflow: 5n, inflow: 4n, fees: 3n, txCount: 42n, prevAggregateHash: new Uint8Array(32).fill(0xaa),
  };
  assert.equal(toHex(encodeAggregate(a)),
    '01000000066465766e657400000001310000000000000007' +
    '0101010101010101010101010101010101010101010101010101010101010101' + '0000000000000007' + '00' + '00000000000003e8' +
    '0202020202020202020202020202020202020202020202020202020202020202' + '0000000000000007' + '00' + '00000000000007d0' +
    '0303030303030303030303030303030303030303030303030303030303030303' + '0000000000000006' + '01' + '0000000000000bb8' +
    '0000000000001770' + '0000000000000005' + '0000000000000004' + '0000000000000003' + '000000000000002a' +
    'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
  assert.equal(toHex(aggregateHash(a)), '98749cfb596a8d102c136a1ff0108fb4bab7e5a56a65d8fb4f2854201a6eea20');
});

test('the gossip envelope and message id match the documented vector', () => {
  const env = encodeEnvelope({ kind: GossipKind.snapshot, network: 'devnet', payload: new Uint8Array([1, 2, 3]) });
  assert.equal(toHex(env), '0102000000066465766e657400000003010203');
  assert.equal(toHex(messageId('/smt/devnet/triad/1', env)), '3925145eb884da216ac88388c5d3bc8ed1ab7a6c');
});
