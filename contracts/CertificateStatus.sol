// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Membership} from "./Membership.sol";

/// @title CertificateStatus
/// @notice Certificate status keyed by `(province, commitment)`: 0 active, 1 revoked,
/// 2 suspended, 3 superseded (with the successor commitment). Only operators of `province` write
/// under `province`, so no province can change another province's certificates.
/// @dev Transitions: active → revoked | suspended | superseded; suspended → active (reinstated)
/// | revoked | superseded. Revoked and superseded are final. Storage keeps the current status in
/// one slot (status, reason, change count, block and timestamp of the latest change) so that one
/// change costs under 60,000 gas; the full history, successor commitments included, is the
/// sequence of {CertificateStatusChanged} events (filter on the indexed province and
/// commitment), and `changes` counts them. Storing the successor as well would cost another
/// 22,100 gas per supersession.
abstract contract CertificateStatus is Membership {
    uint8 public constant STATUS_ACTIVE = 0;
    uint8 public constant STATUS_REVOKED = 1;
    uint8 public constant STATUS_SUSPENDED = 2;
    uint8 public constant STATUS_SUPERSEDED = 3;

    struct StatusRecord {
        uint8 status;
        uint16 reason;
        uint32 changes;
        uint64 blockNumber;
        uint64 timestamp;
    }

    /// @notice One entry of a batch.
    struct StatusChange {
        bytes32 commitment;
        uint8 status;
        uint16 reason;
        bytes32 successor;
    }

    mapping(uint8 province => mapping(bytes32 commitment => StatusRecord)) private _records;

    error CertificateStatusUnknownStatus(uint8 status);
    /// @notice The certificate is revoked or superseded: its status never changes again.
    error CertificateStatusFinal(uint8 province, bytes32 commitment, uint8 status);
    /// @notice Not an allowed transition (for example, reinstating a certificate that is not
    /// suspended).
    error CertificateStatusInvalidTransition(
        uint8 province,
        bytes32 commitment,
        uint8 from,
        uint8 to
    );
    /// @notice Superseded needs a non-zero successor other than the certificate itself; the
    /// other statuses need a zero successor.
    error CertificateStatusInvalidSuccessor(bytes32 commitment, bytes32 successor);
    error CertificateStatusEmptyBatch();

    event CertificateStatusChanged(
        uint8 indexed province,
        bytes32 indexed commitment,
        uint8 status,
        uint16 reason,
        bytes32 successor
    );

    /// @notice Sets the status of certificate `commitment` of `province`.
    /// @param status 0 active (reinstate), 1 revoked, 2 suspended, 3 superseded.
    /// @param reasonCode The reason code of the matching log entry.
    /// @param successor The superseding commitment (superseded only; zero otherwise).
    /// Requirements: the caller operates for `province`; the transition is allowed (see the
    /// contract notes); the successor matches the status.
    /// Emits: {CertificateStatusChanged}.
    function setStatus(
        uint8 province,
        bytes32 commitment,
        uint8 status,
        uint16 reasonCode,
        bytes32 successor
    ) external {
        _requireOperatorOf(province);
        _setStatus(province, commitment, status, reasonCode, successor);
    }

    /// @notice Applies `changes` under `province` in order, all or nothing.
    /// Requirements: the caller operates for `province`; `changes` is not empty; every change
    /// satisfies the rules of {setStatus} (given the changes before it).
    /// Emits: {CertificateStatusChanged} per change.
    function setStatusBatch(uint8 province, StatusChange[] calldata changes) external {
        _requireOperatorOf(province);
        if (changes.length == 0) {
            revert CertificateStatusEmptyBatch();
        }
        for (uint256 i = 0; i < changes.length; ++i) {
            StatusChange calldata c = changes[i];
            _setStatus(province, c.commitment, c.status, c.reason, c.successor);
        }
    }

    /// @notice The current status of certificate `commitment` of `province` (the successor of a
    /// superseded certificate is in its latest {CertificateStatusChanged} event).
    /// @return status 0 active (also for a commitment never written), 1 revoked, 2 suspended,
    /// 3 superseded.
    /// @return reason Reason code of the latest change.
    /// @return changes Number of changes so far (the length of its event history).
    /// @return blockNumber Block of the latest change (0 when never changed).
    /// @return timestamp Block timestamp of the latest change (0 when never changed).
    function certificateStatus(
        uint8 province,
        bytes32 commitment
    )
        external
        view
        returns (
            uint8 status,
            uint16 reason,
            uint32 changes,
            uint64 blockNumber,
            uint64 timestamp
        )
    {
        StatusRecord storage r = _records[province][commitment];
        return (
            r.status,
            r.reason,
            r.changes,
            r.blockNumber,
            r.timestamp
        );
    }

    function _setStatus(
        uint8 province,
        bytes32 commitment,
        uint8 status,
        uint16 reasonCode,
        bytes32 successor
    ) private {
        if (status > STATUS_SUPERSEDED) {
            revert CertificateStatusUnknownStatus(status);
        }
        StatusRecord storage r = _records[province][commitment];
        uint8 current = r.status;
        if (current == STATUS_REVOKED || current == STATUS_SUPERSEDED) {
            revert CertificateStatusFinal(province, commitment, current);
        }
        // From here the current status is active or suspended. Reinstating (status 0) is allowed
        // only from suspended, and suspending only from active.
        if (status == current) {
            revert CertificateStatusInvalidTransition(province, commitment, current, status);
        }
        if (status == STATUS_SUPERSEDED) {
            if (successor == bytes32(0) || successor == commitment) {
                revert CertificateStatusInvalidSuccessor(commitment, successor);
            }
        } else if (successor != bytes32(0)) {
            revert CertificateStatusInvalidSuccessor(commitment, successor);
        }
        r.status = status;
        r.reason = reasonCode;
        r.changes += 1;
        r.blockNumber = uint64(block.number);
        r.timestamp = uint64(block.timestamp);
        emit CertificateStatusChanged(province, commitment, status, reasonCode, successor);
    }
}
