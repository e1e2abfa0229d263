// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Membership} from "./Membership.sol";
import {MerkleVerifier} from "./MerkleVerifier.sol";

/// @title ProvinceLogs
/// @notice The checkpoints of every member's append-only Merkle log (RFC 9162). A checkpoint is
/// accepted only with a valid consistency proof from the province's previous checkpoint, so no
/// province can rewrite, fork or shrink its log once anchored.
/// @dev Storage per checkpoint is two slots (root; size, block number, timestamp and a 64-bit
/// digest of the manifest CID) so that anchoring stays under 100,000 gas with a 20-hash proof.
/// The manifest CID itself is kept in the {CheckpointAnchored} event (as durable as storage:
/// it is in the receipt); `manifestDigest` is the first 8 bytes of keccak256(CID) and lets a
/// reader check a CID read from the event against storage.
abstract contract ProvinceLogs is Membership {
    struct Checkpoint {
        uint64 size;
        uint64 blockNumber;
        uint64 timestamp;
        bytes8 manifestDigest;
        bytes32 root;
    }

    /// @dev The head of a province's log: its checkpoint count and latest size, in one slot so
    /// that anchoring reads and writes it once.
    struct LogHead {
        uint64 count;
        uint64 size;
    }

    mapping(uint8 province => LogHead) private _heads;
    mapping(uint8 province => mapping(uint256 index => Checkpoint)) private _checkpoints;

    /// @notice A first checkpoint must have a size above 0, a non-zero root and an empty proof.
    error ProvinceLogsInvalidFirstCheckpoint(uint8 province, uint64 size, uint256 proofLength);
    error ProvinceLogsShrinkingCheckpoint(uint8 province, uint64 anchoredSize, uint64 newSize);
    /// @notice The checkpoint is already the province's latest: an idempotent retry can treat
    /// this as success.
    error ProvinceLogsCheckpointAlreadyAnchored(uint8 province, uint64 size, bytes32 root);
    /// @notice Same size, another root: the log forked.
    error ProvinceLogsConflictingCheckpoint(
        uint8 province,
        uint64 size,
        bytes32 anchoredRoot,
        bytes32 newRoot
    );
    /// @notice The consistency proof does not show that the new root extends the anchored one.
    error ProvinceLogsInconsistentCheckpoint(
        uint8 province,
        uint64 anchoredSize,
        bytes32 anchoredRoot,
        uint64 newSize,
        bytes32 newRoot
    );
    error ProvinceLogsUnknownCheckpoint(uint8 province, uint256 index);

    event CheckpointAnchored(
        uint8 indexed province,
        uint256 indexed index,
        uint64 size,
        bytes32 root,
        string manifestCid
    );

    /// @notice Appends checkpoint `(newSize, newRoot)` to the log of the caller's province.
    /// @param consistencyProof RFC 9162 §2.1.4 proof from the previous checkpoint; empty for the
    /// first checkpoint.
    /// @param manifestCid Content identifier of the manifest of the new entries (kept in the
    /// event; storage keeps its 8-byte digest).
    /// @return index The new checkpoint's index in the province's log.
    /// Requirements: the caller operates for a member. For the first checkpoint, `newSize > 0`,
    /// `newRoot` is not zero and the proof is empty. Otherwise `newSize` is not below the previous size; an equal
    /// size reverts (already anchored with the same root, conflicting with another root); a
    /// larger size needs a valid consistency proof.
    /// Emits: {CheckpointAnchored}.
    function anchor(
        uint64 newSize,
        bytes32 newRoot,
        bytes32[] calldata consistencyProof,
        string calldata manifestCid
    ) external returns (uint256 index) {
        uint8 province = _callerProvince();
        LogHead storage head = _heads[province];
        index = head.count;
        if (index == 0) {
            if (newSize == 0 || newRoot == bytes32(0) || consistencyProof.length != 0) {
                revert ProvinceLogsInvalidFirstCheckpoint(
                    province,
                    newSize,
                    consistencyProof.length
                );
            }
        } else {
            uint64 size = head.size;
            if (newSize < size) {
                revert ProvinceLogsShrinkingCheckpoint(province, size, newSize);
            }
            bytes32 root = _checkpoints[province][index - 1].root;
            if (newSize == size) {
                if (newRoot == root) {
                    revert ProvinceLogsCheckpointAlreadyAnchored(province, size, root);
                }
                revert ProvinceLogsConflictingCheckpoint(province, size, root, newRoot);
            }
            if (!MerkleVerifier.verifyConsistency(size, newSize, root, newRoot, consistencyProof)) {
                revert ProvinceLogsInconsistentCheckpoint(province, size, root, newSize, newRoot);
            }
        }
        _checkpoints[province][index] = Checkpoint({
            size: newSize,
            blockNumber: uint64(block.number),
            timestamp: uint64(block.timestamp),
            manifestDigest: bytes8(keccak256(bytes(manifestCid))),
            root: newRoot
        });
        head.count = uint64(index + 1);
        head.size = newSize;
        emit CheckpointAnchored(province, index, newSize, newRoot, manifestCid);
    }

    /// @notice Number of checkpoints in the log of `province`.
    function checkpointCount(uint8 province) external view returns (uint256) {
        return _heads[province].count;
    }

    /// @notice Checkpoint `index` of the log of `province`.
    /// Requirements: the checkpoint exists.
    function checkpoint(
        uint8 province,
        uint256 index
    )
        external
        view
        returns (
            uint64 size,
            bytes32 root,
            uint64 blockNumber,
            uint64 timestamp,
            bytes8 manifestDigest
        )
    {
        if (index >= _heads[province].count) {
            revert ProvinceLogsUnknownCheckpoint(province, index);
        }
        Checkpoint storage c = _checkpoints[province][index];
        return (c.size, c.root, c.blockNumber, c.timestamp, c.manifestDigest);
    }

    /// @notice The latest checkpoint of `province`.
    /// Requirements: the province anchored at least one checkpoint.
    function latestCheckpoint(
        uint8 province
    )
        external
        view
        returns (
            uint256 index,
            uint64 size,
            bytes32 root,
            uint64 blockNumber,
            uint64 timestamp,
            bytes8 manifestDigest
        )
    {
        uint256 count = _heads[province].count;
        if (count == 0) {
            revert ProvinceLogsUnknownCheckpoint(province, 0);
        }
        Checkpoint storage c = _checkpoints[province][count - 1];
        return (count - 1, c.size, c.root, c.blockNumber, c.timestamp, c.manifestDigest);
    }

    /// @notice Whether `province` anchored a checkpoint of `size` with `root`, and its index.
    /// @dev Sizes strictly increase along a log, so this is a binary search (O(log n) reads).
    function findCheckpoint(
        uint8 province,
        uint64 size,
        bytes32 root
    ) public view returns (bool found, uint256 index) {
        uint256 low = 0;
        uint256 high = _heads[province].count;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            Checkpoint storage c = _checkpoints[province][mid];
            if (c.size == size) {
                return (c.root == root, mid);
            }
            if (c.size < size) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        return (false, 0);
    }

    /// @notice Whether `province` anchored a checkpoint of `size` with `root`.
    function isAnchored(uint8 province, uint64 size, bytes32 root) external view returns (bool) {
        (bool found, ) = findCheckpoint(province, size, root);
        return found;
    }

    /// @notice RFC 9162 §2.1.3.2 inclusion proof verification (SHA-256), the algorithm of
    /// `node/merkle.py`, pinned by the same vectors.
    /// @return true when `leafHash` is leaf `index` of the tree of `treeSize` leaves with `root`.
    function verifyInclusion(
        bytes32 leafHash,
        uint64 index,
        uint64 treeSize,
        bytes32[] calldata proof,
        bytes32 root
    ) external view returns (bool) {
        return MerkleVerifier.verifyInclusion(leafHash, index, treeSize, proof, root);
    }

    /// @notice RFC 9162 §2.1.4.2 consistency proof verification (SHA-256), the algorithm of
    /// `node/merkle.py`, pinned by the same vectors. A proof from size 0 is invalid; equal sizes
    /// need an empty proof and equal roots.
    /// @return true when the tree (`size2`, `root2`) extends the tree (`size1`, `root1`).
    function verifyConsistency(
        uint64 size1,
        uint64 size2,
        bytes32 root1,
        bytes32 root2,
        bytes32[] calldata proof
    ) external view returns (bool) {
        return MerkleVerifier.verifyConsistency(size1, size2, root1, root2, proof);
    }
}
