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
    children: [1, 2, 3].map((k) => ({ commitment: new Uint8Array(32).fill(k), epoch: k === 3 ? 6 : 7, carried: k === 3, supply: BigInt(k * 1000), totalOutflow: BigInt(k * 10), totalInflow: BigInt(k * 7), totalFees: BigInt(k) })) as TriadAggregate['children'],
    supply: 6000n, outflow: 5n, inflow: 4n, fees: 3n, txCount: 42n, totalOutflow: 60n, totalInflow: 42n, totalFees: 6n, prevAggregateHash: new Uint8Array(32).fill(0xaa),
  };
  assert.equal(toHex(encodeAggregate(a)),
    '01000000066465766e657400000001310000000000000007' +
    '0101010101010101010101010101010101010101010101010101010101010101' + '0000000000000007' + '00' + '00000000000003e8' +
    '000000000000000a' + '0000000000000007' + '0000000000000001' +
    '0202020202020202020202020202020202020202020202020202020202020202' + '0000000000000007' + '00' + '00000000000007d0' +
    '0000000000000014' + '000000000000000e' + '0000000000000002' +
    '0303030303030303030303030303030303030303030303030303030303030303' + '0000000000000006' + '01' + '0000000000000bb8' +
    '000000000000001e' + '0000000000000015' + '0000000000000003' +
    '0000000000001770' + '0000000000000005' + '0000000000000004' + '0000000000000003' + '000000000000002a' +
    '000000000000003c' + '000000000000002a' + '0000000000000006' +
    'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
  assert.equal(toHex(aggregateHash(a)), '18a6f23f160969df7c5de242b32090b1f6449b930ccb05f80e200cfc48f2dc14');
});

test('the gossip envelope and message id match the documented vector', () => {
  const env = encodeEnvelope({ kind: GossipKind.snapshot, network: 'devnet', payload: new Uint8Array([1, 2, 3]) });
  assert.equal(toHex(env), '0102000000066465766e657400000003010203');
  assert.equal(toHex(messageId('/smt/devnet/triad/1', env)), '3925145eb884da216ac88388c5d3bc8ed1ab7a6c');
});
