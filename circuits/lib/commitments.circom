pragma circom 2.1.0;

// Commitments shared by the triad circuits. They must equal src/proof/commitment.ts field for field
// (test/vectors/poseidon-commitments.json checks both sides). Tags are ASCII strings read as
// big-endian integers, so a shard body, a shard and a triad can never hash to each other's roles.

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";

// "smt/v1/shard-body"
function TAG_SHARD_BODY() { return 39277961316521465846743602617885918192761; }
// "smt/v1/shard"
function TAG_SHARD() { return 35723097713818302369639789156; }
// "smt/v1/triad"
function TAG_TRIAD() { return 35723097713818302374103048548; }

// Everything of one shard snapshot that is not carried up the tree: 15 field elements, one
// Poseidon(15). 32-byte values are (hi, lo) 128-bit limbs; u64 values are single elements.
template ShardBody() {
    signal input shardEnc;
    signal input epoch;
    signal input stateRoot[2];
    signal input txRoot[2];
    signal input outboxRoot[2];
    signal input txCount;
    signal input outflow;
    signal input inflow;
    signal input fees;
    signal input snapshotHash[2];
    signal output out;

    out <== Poseidon(15)([TAG_SHARD_BODY(), shardEnc, epoch,
        stateRoot[0], stateRoot[1], txRoot[0], txRoot[1], outboxRoot[0], outboxRoot[1],
        txCount, outflow, inflow, fees, snapshotHash[0], snapshotHash[1]]);
}

// C_shard = Poseidon(TAG_SHARD, body, supply, prevShardCommitment): supply sits outside the body
// so that the next epoch can open the previous supply with one small hash.
template ShardCommitment() {
    signal input body;
    signal input supply;
    signal input prev;
    signal output out;

    out <== Poseidon(4)([TAG_SHARD(), body, supply, prev]);
}

// C_triad = Poseidon(TAG_TRIAD, pathEnc, epoch, C_child[3], supply, outflow, inflow, fees, prev).
template TriadCommitment() {
    signal input pathEnc;
    signal input epoch;
    signal input child[3];
    signal input sums[4];
    signal input prev;
    signal output out;

    out <== Poseidon(11)([TAG_TRIAD(), pathEnc, epoch, child[0], child[1], child[2],
        sums[0], sums[1], sums[2], sums[3], prev]);
}

// Range check: in < 2^64.
template U64() {
    signal input in;
    component bits = Num2Bits(64);
    bits.in <== in;
}

// Range check: an epoch is < 2^53, the range of the u64 epoch a node decodes (a JavaScript safe
// integer). Without it a proof could carry any field element as its epoch, e.g. one that sorts
// above every real epoch.
template EpochRange() {
    signal input in;
    component bits = Num2Bits(53);
    bits.in <== in;
}
