// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Membership} from "./Membership.sol";
import {OrganisationRegistry} from "./OrganisationRegistry.sol";
import {ProvinceLogs} from "./ProvinceLogs.sol";
import {CertificateStatus} from "./CertificateStatus.sol";

/// @title CertificateRegistry
/// @notice The certreg consortium contract: members and governance ({Membership}),
/// organisations and their signing keys ({OrganisationRegistry}), the provinces' Merkle log
/// checkpoints ({ProvinceLogs}) and certificate status ({CertificateStatus}).
/// @dev No owner or admin key exists: the deployer only chooses the founding members.
contract CertificateRegistry is OrganisationRegistry, ProvinceLogs, CertificateStatus {
    /// @notice Version of the on-chain encodings (docs/FORMATS.md).
    uint8 public constant FORMAT_VERSION = 1;

    /// @param provinces Founding member of each entry (repeat a province for more operators).
    /// @param operators Operator account of each entry, parallel to `provinces`.
    /// @param maxCheckpointGrowth Most entries one checkpoint may add to a log (above 0;
    /// {ProvinceLogs-maxCheckpointGrowth}).
    /// Requirements: at least one entry; valid province codes; distinct non-zero operators.
    /// Emits: {Membership-MemberAdmitted} per founding member,
    /// {ProvinceLogs-MaxCheckpointGrowthSet}.
    constructor(
        uint8[] memory provinces,
        address[] memory operators,
        uint64 maxCheckpointGrowth
    ) Membership(provinces, operators) ProvinceLogs(maxCheckpointGrowth) {}
}
