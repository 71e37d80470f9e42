pragma circom 2.1.0;

// Lowest-level triad: the three children are shard snapshots (docs/PROOFS.md, "triad_leaf").
// Public: pathEnc, epoch, commitment, prevCommitment, supply, outflow, inflow, fees (the sums).
// Private: each shard's snapshot fields, its previous supply and the opening of its previous shard
// commitment, and the opening of the previous epoch's triad commitment.

include "lib/commitments.circom";

template TriadLeaf() {
    signal input pathEnc;
    signal input epoch;
    signal input commitment;
    signal input prevCommitment;
    signal input supply;
    signal input outflow;
    signal input inflow;
    signal input fees;

    // shard i of this triad, at epoch `epoch`
    signal input stateRoot[3][2];
    signal input txRoot[3][2];
    signal input outboxRoot[3][2];
    signal input snapshotHash[3][2];
    signal input txCount[3];
    signal input shardSupply[3];
    signal input shardOutflow[3];
    signal input shardInflow[3];
    signal input shardFees[3];
    // opening of shard i's previous commitment: Poseidon(TAG_SHARD, prevBody, prevSupply, prevPrev)
    signal input prevBody[3];
    signal input prevSupply[3];
    signal input prevPrev[3];
    // opening of the previous triad commitment (its children are the shards' previous commitments)
    signal input prevSums[4];
    signal input prevTriadPrev;

    signal prevShard[3];
    signal body[3];
    signal shard[3];
    signal prevTriad;
    signal triad;
    var sums[4] = [0, 0, 0, 0];
    var prevSupplySum = 0;

    EpochRange()(epoch);

    for (var i = 0; i < 3; i++) {
        U64()(shardSupply[i]);
        U64()(shardOutflow[i]);
        U64()(shardInflow[i]);
        U64()(shardFees[i]);
        U64()(prevSupply[i]);
        // new = previous - outflow + inflow - fees, over the integers: every term is < 2^64, so
        // neither side can wrap the ~2^254 field.
        shardSupply[i] + shardOutflow[i] + shardFees[i] === prevSupply[i] + shardInflow[i];

        prevShard[i] <== ShardCommitment()(prevBody[i], prevSupply[i], prevPrev[i]);
        body[i] <== ShardBody()(3 * pathEnc + i, epoch, stateRoot[i], txRoot[i], outboxRoot[i],
            txCount[i], shardOutflow[i], shardInflow[i], shardFees[i], snapshotHash[i]);
        shard[i] <== ShardCommitment()(body[i], shardSupply[i], prevShard[i]);

        sums[0] += shardSupply[i];
        sums[1] += shardOutflow[i];
        sums[2] += shardInflow[i];
        sums[3] += shardFees[i];
        prevSupplySum += prevSupply[i];
    }
    supply === sums[0];
    outflow === sums[1];
    inflow === sums[2];
    fees === sums[3];

    // The previous triad commitment opens to the shards' previous commitments, one epoch earlier,
    // and its supply is the sum of their previous supplies.
    prevSums[0] === prevSupplySum;
    prevTriad <== TriadCommitment()(pathEnc, epoch - 1, prevShard, prevSums, prevTriadPrev);
    prevCommitment === prevTriad;

    triad <== TriadCommitment()(pathEnc, epoch, shard, [supply, outflow, inflow, fees], prevCommitment);
    commitment === triad;
}

component main {public [pathEnc, epoch, commitment, prevCommitment, supply, outflow, inflow, fees]} = TriadLeaf();
