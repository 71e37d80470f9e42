pragma circom 2.1.0;

// A triad above the lowest level: the three children are triad commitments (docs/PROOFS.md,
// "triad_inner"). Public inputs as in triad_leaf. Private: each child's opening (its three child
// commitments, its four sums, its previous commitment) and the previous triad commitment's opening.

include "lib/commitments.circom";

template TriadInner() {
    signal input pathEnc;
    signal input epoch;
    signal input commitment;
    signal input prevCommitment;
    signal input supply;
    signal input outflow;
    signal input inflow;
    signal input fees;

    signal input childChildren[3][3];
    signal input childSums[3][4];
    signal input childPrev[3];
    signal input prevSums[4];
    signal input prevTriadPrev;

    signal child[3];
    signal prevTriad;
    signal triad;
    var sums[4] = [0, 0, 0, 0];
    var prevSupplySum = 0;

    EpochRange()(epoch);

    for (var i = 0; i < 3; i++) {
        // child i sits at path 3 * pathEnc + i, in the same epoch
        child[i] <== TriadCommitment()(3 * pathEnc + i, epoch, childChildren[i], childSums[i], childPrev[i]);
        for (var k = 0; k < 4; k++) sums[k] += childSums[i][k];
    }
    supply === sums[0];
    outflow === sums[1];
    inflow === sums[2];
    fees === sums[3];

    // The previous triad commitment opens to the children's previous commitments, one epoch earlier.
    prevTriad <== TriadCommitment()(pathEnc, epoch - 1, childPrev, prevSums, prevTriadPrev);
    prevCommitment === prevTriad;

    triad <== TriadCommitment()(pathEnc, epoch, child, [supply, outflow, inflow, fees], prevCommitment);
    commitment === triad;
}

component main {public [pathEnc, epoch, commitment, prevCommitment, supply, outflow, inflow, fees]} = TriadInner();
