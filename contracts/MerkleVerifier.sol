// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title MerkleVerifier
/// @notice RFC 9162 §2.1 Merkle tree proof verification with SHA-256 (leaf prefix 0x00, node
/// prefix 0x01).
/// @dev This library implements the same algorithms as the Python log in `node/core/merkle.py` and
/// is pinned by the same conformance vectors (`tests/vectors/tlog`, the transparency-dev/merkle
/// corpus, run by `tests/contract/test_vectors.py`, and `tests/vectors/merkle.json`, every proof of
/// the trees up to 64 leaves, run by `tests/contract/test_merkle_vectors.py`) through the deployed
/// contract. Two readings of that corpus are binding here: a consistency proof from size 0 is
/// invalid (it proves nothing; a log's first checkpoint needs no proof), and with equal sizes the
/// two roots are compared as given, with an empty proof. The all-zero value stands for a missing
/// hash (it is what an empty or unset value encodes to, and SHA-256 yields it with negligible
/// probability), so a zero leaf hash or root never verifies; this is how the corpus's empty-hash
/// cases are read.
library MerkleVerifier {
    /// @notice The RFC 9162 interior node hash: SHA-256(0x01 || left || right).
    /// @dev Equivalent to `sha256(abi.encodePacked(bytes1(0x01), left, right))`, written against
    /// the SHA-256 precompile (address 0x02) directly: the Solidity form allocates a fresh memory
    /// buffer per call, and with 40 calls for a 20-hash consistency proof the memory expansion
    /// cost pushed anchoring past its 100,000 gas budget. The 65 input bytes are written at the
    /// free memory pointer without moving it, and the result comes back in scratch slot 0.
    /// The vectors in `tests/vectors/` pin this against the Python implementation.
    function nodeHash(bytes32 left, bytes32 right) internal view returns (bytes32 result) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            mstore(add(ptr, 0x01), left)
            mstore(add(ptr, 0x21), right)
            if iszero(staticcall(gas(), 0x02, ptr, 0x41, 0x00, 0x20)) {
                revert(0, 0)
            }
            result := mload(0x00)
        }
    }

    /// @notice RFC 9162 §2.1.3.2: verifies that `leafHash` is the leaf at `index` of the tree of
    /// `treeSize` leaves whose root is `root`.
    /// @return true when the proof is valid, false otherwise (never reverts on bad input).
    function verifyInclusion(
        bytes32 leafHash,
        uint256 index,
        uint256 treeSize,
        bytes32[] calldata proof,
        bytes32 root
    ) internal view returns (bool) {
        // Step 1: the index must lie inside the tree. Zero hashes are missing hashes.
        if (index >= treeSize || leafHash == bytes32(0) || root == bytes32(0)) {
            return false;
        }
        // Steps 2 and 3.
        uint256 fn = index;
        uint256 sn = treeSize - 1;
        bytes32 r = leafHash;
        // Step 4.
        for (uint256 i = 0; i < proof.length; ++i) {
            if (sn == 0) {
                return false;
            }
            if (fn & 1 == 1 || fn == sn) {
                r = nodeHash(proof[i], r);
                if (fn & 1 == 0) {
                    while (fn & 1 == 0 && fn != 0) {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                r = nodeHash(r, proof[i]);
            }
            fn >>= 1;
            sn >>= 1;
        }
        // Step 5: the final `sn == 0` check rejects proofs that stop short.
        return sn == 0 && r == root;
    }

    /// @notice RFC 9162 §2.1.4.2: verifies that the tree of `size2` leaves with root `root2`
    /// extends the tree of `size1` leaves with root `root1`.
    /// @dev Conventions (see the vectors README): `size1 == 0` is invalid; equal sizes need an
    /// empty proof and equal roots; a shrinking size is invalid.
    /// @return true when the proof is valid, false otherwise (never reverts on bad input).
    function verifyConsistency(
        uint256 size1,
        uint256 size2,
        bytes32 root1,
        bytes32 root2,
        bytes32[] calldata proof
    ) internal view returns (bool) {
        if (size1 == 0 || size2 < size1 || root1 == bytes32(0) || root2 == bytes32(0)) {
            return false;
        }
        if (size1 == size2) {
            return proof.length == 0 && root1 == root2;
        }
        // Step 1: an empty proof proves nothing.
        if (proof.length == 0) {
            return false;
        }
        // Steps 2 to 6 run in assembly: anchoring must stay under 100,000 gas with a 20-hash
        // proof, which needs up to 40 node hashes, and the Solidity loop (bounds checks, checked
        // arithmetic, a memory buffer per hash) cost about 400 gas per hash against about 250
        // here. The logic is the RFC's, line by line.
        bytes32 fr;
        bytes32 sr;
        uint256 sn;
        bool ok = true;
        assembly ("memory-safe") {
            // Node hash input 0x01 || left || right is assembled past the free memory pointer
            // (left at ptr + 1, right at ptr + 33); the precompile writes into scratch slot 0.
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            let p := proof.offset
            let end := add(p, shl(5, proof.length))
            // Steps 2 and 5: when size1 is an exact power of two, root1 is the implicit first
            // element of the path; otherwise the path starts with the proof's first element.
            switch and(size1, sub(size1, 1))
            case 0 {
                fr := root1
            }
            default {
                fr := calldataload(p)
                p := add(p, 0x20)
            }
            sr := fr
            // Steps 3 and 4.
            let fn := sub(size1, 1)
            sn := sub(size2, 1)
            for {} and(fn, 1) {} {
                fn := shr(1, fn)
                sn := shr(1, sn)
            }
            // Step 6.
            for {} lt(p, end) {
                p := add(p, 0x20)
            } {
                // 6a: the path is longer than the tree is deep.
                if iszero(sn) {
                    ok := 0
                    break
                }
                let c := calldataload(p)
                switch or(and(fn, 1), eq(fn, sn))
                case 0 {
                    // 6b, otherwise: sr = HASH(0x01 || sr || c).
                    mstore(add(ptr, 0x01), sr)
                    mstore(add(ptr, 0x21), c)
                    if iszero(staticcall(gas(), 0x02, ptr, 0x41, 0x00, 0x20)) {
                        revert(0, 0)
                    }
                    sr := mload(0x00)
                }
                default {
                    // 6b.i: fr = HASH(0x01 || c || fr).
                    mstore(add(ptr, 0x01), c)
                    mstore(add(ptr, 0x21), fr)
                    if iszero(staticcall(gas(), 0x02, ptr, 0x41, 0x00, 0x20)) {
                        revert(0, 0)
                    }
                    fr := mload(0x00)
                    // 6b.ii: sr = HASH(0x01 || c || sr); c is still in place.
                    mstore(add(ptr, 0x21), sr)
                    if iszero(staticcall(gas(), 0x02, ptr, 0x41, 0x00, 0x20)) {
                        revert(0, 0)
                    }
                    sr := mload(0x00)
                    // 6b.iii: if LSB(fn) is not set, shift until it is or fn is 0.
                    for {} and(iszero(and(fn, 1)), iszero(iszero(fn))) {} {
                        fn := shr(1, fn)
                        sn := shr(1, sn)
                    }
                }
                // 6c.
                fn := shr(1, fn)
                sn := shr(1, sn)
            }
        }
        // Step 7, including the final `sn == 0` check.
        return ok && fr == root1 && sr == root2 && sn == 0;
    }
}
