// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Membership} from "./Membership.sol";
import {MerkleVerifier} from "./MerkleVerifier.sol";

/// @title ProvinceLogs
/// @notice The checkpoints of every member's append-only Merkle log (RFC 9162). A checkpoint is
/// accepted only with a valid consistency proof from the province's previous checkpoint, so no
/// province can rewrite, fork or shrink its log once anchored.
/// @dev Storage keeps what the contract needs to enforce append-only and to answer
/// {isAnchored}: one slot per checkpoint (its root, keyed by tree size) and one slot per province
/// (checkpoint count, latest size, and the latest checkpoint's block number and timestamp).
/// Checkpoint `i` itself (size, root, manifest CID; its block, time and transaction) is read
/// from its {CheckpointAnchored} event, whose `province` and `index` topics select it with one
/// `eth_getLogs` filter. Logs are as durable as storage (receipts are committed in every block
/// header), and a second storage slot per checkpoint would cost 22,100 gas, which anchoring a
/// 20-hash proof under 100,000 gas cannot afford.
abstract contract ProvinceLogs is Membership {
    /// @dev The head of a province's log, one slot, read and written once per anchoring: the
    /// checkpoint count, the latest checkpoint's size, and its block number and timestamp.
    struct LogHead {
        uint64 count;
        uint64 size;
        uint64 blockNumber;
        uint64 timestamp;
    }

    mapping(uint8 province => LogHead) private _heads;
    /// @dev Sizes strictly increase along a log, so a size names at most one checkpoint.
    mapping(uint8 province => mapping(uint64 size => bytes32 root)) private _roots;

    /// @notice Most entries one checkpoint may add to a log (its size minus the previous
    /// checkpoint's, or its size for a first checkpoint). A consistency proof shows that the old
    /// tree is a prefix of the new one, not that the new entries exist: without this bound one
    /// transaction with a stolen operator key could anchor a size of 2^64 - 1 and no real
    /// checkpoint could follow. Set at deployment; changed only by a governance proposal
    /// ({Membership-proposeMaxCheckpointGrowth}).
    uint64 public maxCheckpointGrowth;

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
    /// @notice The province has not anchored any checkpoint.
    error ProvinceLogsNoCheckpoint(uint8 province);
    /// @notice The checkpoint adds more than {maxCheckpointGrowth} entries.
    error ProvinceLogsGrowthTooLarge(
        uint8 province,
        uint64 anchoredSize,
        uint64 newSize,
        uint64 maxGrowth
    );
    /// @notice A maximum growth must be above 0.
    error ProvinceLogsInvalidMaxGrowth(uint64 growth);

    /// @notice {maxCheckpointGrowth} was set (at deployment or by a governance proposal).
    event MaxCheckpointGrowthSet(uint64 growth);

    /// @param maxGrowth The initial {maxCheckpointGrowth} (above 0).
    constructor(uint64 maxGrowth) {
        _checkGrowth(maxGrowth);
        _setMaxCheckpointGrowth(maxGrowth);
    }

    /// @notice Checkpoint `index` of the log of `province`: the record of a checkpoint (its
    /// block number, timestamp and transaction are those of the log).
    event CheckpointAnchored(
        uint8 indexed province,
        uint256 indexed index,
        uint64 size,
        bytes32 root,
        string manifestCid
    );

    /// @notice An audit statement about checkpoint `checkpointIndex` of the log of `province`,
    /// published by `auditor` (an operator of a member): the statement's bytes (its JCS,
    /// docs/FORMATS.md "Audit statements") hash to `contentHash` and are stored at `cid`.
    /// Snapshots carry the statements, so that verifiers learn the findings naming a leaf.
    event AuditStatementPublished(
        address indexed auditor,
        uint8 indexed province,
        uint256 indexed checkpointIndex,
        bytes32 contentHash,
        string cid
    );

    /// @notice The province has no checkpoint `index` (yet).
    error ProvinceLogsUnknownCheckpoint(uint8 province, uint256 index);
    /// @notice A statement needs a non-zero content hash and a CID of 1 to 128 bytes.
    error ProvinceLogsInvalidAuditStatement();

    /// @notice Publishes a reference to an audit statement about checkpoint `checkpointIndex`
    /// of the log of `province` (any member's operator may audit any province).
    /// Requirements: the caller operates for a member; the checkpoint exists; `contentHash` is
    /// not zero and `cid` is 1 to 128 bytes.
    /// Emits: {AuditStatementPublished}.
    function publishAuditStatement(
        uint8 province,
        uint64 checkpointIndex,
        bytes32 contentHash,
        string calldata cid
    ) external {
        _callerProvince();
        if (checkpointIndex >= _heads[province].count) {
            revert ProvinceLogsUnknownCheckpoint(province, checkpointIndex);
        }
        uint256 length = bytes(cid).length;
        if (contentHash == bytes32(0) || length == 0 || length > 128) {
            revert ProvinceLogsInvalidAuditStatement();
        }
        emit AuditStatementPublished(msg.sender, province, checkpointIndex, contentHash, cid);
    }

    /// @notice Appends checkpoint `(newSize, newRoot)` to the log of the caller's province.
    /// @param consistencyProof RFC 9162 §2.1.4 proof from the previous checkpoint; empty for the
    /// first checkpoint.
    /// @param manifestCid Content identifier of the manifest of the new entries (kept in the
    /// event only).
    /// @return index The new checkpoint's index in the province's log.
    /// Requirements: the caller operates for a member. For the first checkpoint, `newSize > 0`,
    /// `newRoot` is not zero and the proof is empty. Otherwise `newSize` is not below the
    /// previous size; an equal size reverts (already anchored with the same root, conflicting
    /// with another root); a larger size needs a valid consistency proof. Either way the
    /// checkpoint adds at most {maxCheckpointGrowth} entries.
    /// Emits: {CheckpointAnchored}.
    function anchor(
        uint64 newSize,
        bytes32 newRoot,
        bytes32[] calldata consistencyProof,
        string calldata manifestCid
    ) external returns (uint256 index) {
        uint8 province = _callerProvince();
        LogHead memory head = _heads[province];
        index = head.count;
        mapping(uint64 size => bytes32 root) storage roots = _roots[province];
        if (index == 0) {
            if (newSize == 0 || newRoot == bytes32(0) || consistencyProof.length != 0) {
                revert ProvinceLogsInvalidFirstCheckpoint(
                    province,
                    newSize,
                    consistencyProof.length
                );
            }
            if (newSize > maxCheckpointGrowth) {
                revert ProvinceLogsGrowthTooLarge(province, 0, newSize, maxCheckpointGrowth);
            }
        } else {
            uint64 size = head.size;
            if (newSize <= size) {
                if (newSize < size) {
                    revert ProvinceLogsShrinkingCheckpoint(province, size, newSize);
                }
                bytes32 anchored = roots[size];
                if (newRoot == anchored) {
                    revert ProvinceLogsCheckpointAlreadyAnchored(province, size, anchored);
                }
                revert ProvinceLogsConflictingCheckpoint(province, size, anchored, newRoot);
            }
            if (newSize - size > maxCheckpointGrowth) {
                revert ProvinceLogsGrowthTooLarge(province, size, newSize, maxCheckpointGrowth);
            }
            bytes32 root = roots[size];
            if (!MerkleVerifier.verifyConsistency(size, newSize, root, newRoot, consistencyProof)) {
                revert ProvinceLogsInconsistentCheckpoint(province, size, root, newSize, newRoot);
            }
        }
        roots[newSize] = newRoot;
        // The count cannot reach 2^64: each checkpoint is a transaction.
        unchecked {
            _heads[province] = LogHead({
                count: uint64(index + 1),
                size: newSize,
                blockNumber: uint64(block.number),
                timestamp: uint64(block.timestamp)
            });
        }
        emit CheckpointAnchored(province, index, newSize, newRoot, manifestCid);
    }

    function _setMaxCheckpointGrowth(uint64 growth) internal override {
        maxCheckpointGrowth = growth;
        emit MaxCheckpointGrowthSet(growth);
    }

    function _checkGrowth(uint64 growth) internal pure override {
        if (growth == 0) {
            revert ProvinceLogsInvalidMaxGrowth(growth);
        }
    }

    /// @notice Number of checkpoints in the log of `province`.
    function checkpointCount(uint8 province) external view returns (uint256) {
        return _heads[province].count;
    }

    /// @notice The latest checkpoint of `province`: its index, size and root, and the block
    /// number and timestamp of the block that anchored it (its event is in that block).
    /// Requirements: the province anchored at least one checkpoint.
    function latestCheckpoint(
        uint8 province
    )
        external
        view
        returns (uint256 index, uint64 size, bytes32 root, uint64 blockNumber, uint64 timestamp)
    {
        LogHead memory head = _heads[province];
        if (head.count == 0) {
            revert ProvinceLogsNoCheckpoint(province);
        }
        return (
            head.count - 1,
            head.size,
            _roots[province][head.size],
            head.blockNumber,
            head.timestamp
        );
    }

    /// @notice The root of the checkpoint of `size` leaves of `province`, or zero when the
    /// province anchored no checkpoint of that size.
    function rootAt(uint8 province, uint64 size) external view returns (bytes32) {
        return _roots[province][size];
    }

    /// @notice Whether `province` anchored a checkpoint of `size` with `root` (one storage read).
    function isAnchored(uint8 province, uint64 size, bytes32 root) external view returns (bool) {
        return root != bytes32(0) && _roots[province][size] == root;
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
