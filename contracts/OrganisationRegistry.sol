// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Membership} from "./Membership.sol";

/// @title OrganisationRegistry
/// @notice Assessment organisations filed by their province: status, the hash of the filed scope
/// and the signing keys (identified by `keyId`, the index in the organisation's key list).
/// @dev An organisation code is positions 1–13 of the 22-character certificate number as ASCII:
/// class `Y` or `S`, a 4-digit organisation number, the 2-digit province (positions 6–7) and a
/// 6-digit site sequence. A member files and changes only codes of its own province. A
/// terminated code is retired forever: it can never be filed or changed again (its keys can
/// still be revoked, which only removes trust).
abstract contract OrganisationRegistry is Membership {
    uint8 public constant ORGANISATION_ACTIVE = 1;
    uint8 public constant ORGANISATION_SUSPENDED = 2;
    uint8 public constant ORGANISATION_TERMINATED = 3;

    uint8 public constant SUITE_ED25519 = 1;
    uint8 public constant SUITE_ECDSA_SECP256K1 = 2;
    uint8 public constant SUITE_SM2_SM3 = 3;

    /// @dev One slot: province, status, key count and the successor of a retired code.
    struct Organisation {
        uint8 province;
        uint8 status;
        uint32 keyCount;
        bytes13 successor;
    }

    /// @dev Key bytes are kept in fixed words rather than a `bytes` value, to save the length
    /// slot: the suite fixes the length (32, 33 or 65 bytes). `word0` holds bytes 0–31, `word1`
    /// bytes 32–63 (sm2-sm3 only) and `tail` the last byte of a 33- or 65-byte key.
    struct Key {
        uint8 suite;
        uint64 validFrom;
        uint64 validUntil;
        bytes1 tail;
        bytes32 word0;
        bytes32 word1;
    }

    mapping(bytes13 code => Organisation) private _organisations;
    mapping(bytes13 code => bytes32 scopeHash) private _scopeHashes;
    mapping(bytes13 code => mapping(uint256 keyId => Key)) private _keys;

    error OrganisationInvalidCode(bytes13 code);
    error OrganisationAlreadyFiled(bytes13 code);
    error OrganisationNotFiled(bytes13 code);
    /// @notice `code` was terminated (directly, by a merger or by an absorption): retired forever.
    error OrganisationRetired(bytes13 code);
    error OrganisationNotActive(bytes13 code);
    error OrganisationInvalidStatus(uint8 status);
    error OrganisationStatusUnchanged(bytes13 code, uint8 status);
    error OrganisationInvalidKey(uint8 suite, uint256 length);
    error OrganisationInvalidValidity(uint64 validFrom, uint64 validUntil);
    error OrganisationUnknownKey(bytes13 code, uint256 keyId);
    /// @notice A revocation must end the key's validity earlier than it ends now.
    error OrganisationKeyNotShortened(bytes13 code, uint256 keyId, uint64 validUntil);
    error OrganisationInvalidMerger(bytes13 code);

    event OrganisationFiled(bytes13 indexed code, uint8 indexed province, bytes32 scopeHash);
    event OrganisationScopeUpdated(bytes13 indexed code, bytes32 scopeHash);
    event OrganisationStatusChanged(bytes13 indexed code, uint8 status);
    event KeyAdded(
        bytes13 indexed code,
        uint32 indexed keyId,
        uint8 suite,
        bytes publicKey,
        uint64 validFrom,
        uint64 validUntil
    );
    /// @notice Key `keyId` was closed at `validUntil` by a rotation.
    event KeyClosed(bytes13 indexed code, uint32 indexed keyId, uint64 validUntil);
    /// @notice Key `keyId` was revoked with effect from `validUntil`.
    event KeyRevoked(bytes13 indexed code, uint32 indexed keyId, uint64 validUntil);
    event OrganisationsMerged(bytes13 indexed newCode, bytes13[] mergedCodes);
    event OrganisationAbsorbed(bytes13 indexed absorbed, bytes13 indexed absorber);

    /// @notice Files organisation `code` of the caller's province with its first signing key.
    /// @param scopeHash SHA-256 of the filed scope document (see the node's scope rules).
    /// @param suite 1 ed25519 (32-byte key), 2 ecdsa-secp256k1 (33-byte compressed key),
    /// 3 sm2-sm3 (65-byte `04‖x‖y` key).
    /// @param validFrom Unix seconds from which the key signs.
    /// @param validUntil Unix seconds at which the key stops signing; 0 for open.
    /// Requirements: `code` is well formed; the caller operates for the province in positions
    /// 6–7 of `code`; `code` was never filed (a terminated code stays retired); the key matches
    /// its suite; `validUntil` is 0 or after `validFrom`.
    /// Emits: {OrganisationFiled}, {KeyAdded} (key id 0).
    function fileOrganisation(
        bytes13 code,
        bytes32 scopeHash,
        uint8 suite,
        bytes calldata publicKey,
        uint64 validFrom,
        uint64 validUntil
    ) external {
        uint8 province = _codeProvince(code);
        _requireOperatorOf(province);
        Organisation storage org = _organisations[code];
        if (org.status == ORGANISATION_TERMINATED) {
            revert OrganisationRetired(code);
        }
        if (org.status != 0) {
            revert OrganisationAlreadyFiled(code);
        }
        org.province = province;
        org.status = ORGANISATION_ACTIVE;
        _scopeHashes[code] = scopeHash;
        emit OrganisationFiled(code, province, scopeHash);
        _addKey(code, org, suite, publicKey, validFrom, validUntil);
    }

    /// @notice Replaces the filed scope hash of `code`.
    /// Requirements: the caller operates for the code's province; the code is filed and not
    /// retired.
    /// Emits: {OrganisationScopeUpdated}.
    function updateScope(bytes13 code, bytes32 scopeHash) external {
        _ownLiveOrganisation(code);
        _scopeHashes[code] = scopeHash;
        emit OrganisationScopeUpdated(code, scopeHash);
    }

    /// @notice Sets the status of `code`: 1 active, 2 suspended, 3 terminated (final).
    /// Requirements: the caller operates for the code's province; the code is filed and not
    /// retired; `status` is 1, 2 or 3 and differs from the current status.
    /// Emits: {OrganisationStatusChanged}.
    function setOrganisationStatus(bytes13 code, uint8 status) external {
        Organisation storage org = _ownLiveOrganisation(code);
        if (status == 0 || status > ORGANISATION_TERMINATED) {
            revert OrganisationInvalidStatus(status);
        }
        if (org.status == status) {
            revert OrganisationStatusUnchanged(code, status);
        }
        org.status = status;
        emit OrganisationStatusChanged(code, status);
    }

    /// @notice Adds a signing key to `code`, effective from `effectiveFrom`; with
    /// `closePrevious`, the latest key so far stops at `effectiveFrom` (unless it already ends
    /// earlier).
    /// Requirements: the caller operates for the code's province; the code is filed and not
    /// retired; the key matches its suite; `validUntil` is 0 or after `effectiveFrom`.
    /// Emits: {KeyClosed} (when a previous key is closed), {KeyAdded}.
    function rotateKey(
        bytes13 code,
        uint8 suite,
        bytes calldata publicKey,
        uint64 effectiveFrom,
        uint64 validUntil,
        bool closePrevious
    ) external {
        Organisation storage org = _ownLiveOrganisation(code);
        if (closePrevious) {
            uint32 previous = org.keyCount - 1;
            Key storage key = _keys[code][previous];
            if (key.validUntil == 0 || key.validUntil > effectiveFrom) {
                key.validUntil = effectiveFrom;
                emit KeyClosed(code, previous, effectiveFrom);
            }
        }
        _addKey(code, org, suite, publicKey, effectiveFrom, validUntil);
    }

    /// @notice Revokes key `keyId` of `code` with effect from `effectiveAt` (which may lie in
    /// the past, for a compromised key).
    /// Requirements: the caller operates for the code's province; the code is filed (retired
    /// codes included); the key exists; `effectiveAt` is non-zero and earlier than the key's
    /// current end.
    /// Emits: {KeyRevoked}.
    function revokeKey(bytes13 code, uint32 keyId, uint64 effectiveAt) external {
        Organisation storage org = _ownOrganisation(code);
        if (keyId >= org.keyCount) {
            revert OrganisationUnknownKey(code, keyId);
        }
        Key storage key = _keys[code][keyId];
        if (effectiveAt == 0 || (key.validUntil != 0 && effectiveAt >= key.validUntil)) {
            revert OrganisationKeyNotShortened(code, keyId, key.validUntil);
        }
        key.validUntil = effectiveAt;
        emit KeyRevoked(code, keyId, effectiveAt);
    }

    /// @notice Records that `mergedCodes` merged into `newCode`: each merged code is retired
    /// with `newCode` as its successor.
    /// Requirements: the caller operates for the province of every merged code; each merged
    /// code is filed, not retired, distinct and not `newCode`; `newCode` is filed and active.
    /// Emits: {OrganisationStatusChanged} (status 3) per merged code, then
    /// {OrganisationsMerged}.
    function recordMerger(bytes13[] calldata mergedCodes, bytes13 newCode) external {
        if (mergedCodes.length == 0) {
            revert OrganisationInvalidMerger(newCode);
        }
        _requireActive(newCode);
        for (uint256 i = 0; i < mergedCodes.length; ++i) {
            bytes13 code = mergedCodes[i];
            if (code == newCode) {
                revert OrganisationInvalidMerger(code);
            }
            // A duplicate in the list is caught here: its first occurrence is already retired.
            _retire(code, newCode);
        }
        emit OrganisationsMerged(newCode, mergedCodes);
    }

    /// @notice Records that `absorber` absorbed `absorbed`, which is retired with `absorber` as
    /// its successor.
    /// Requirements: the caller operates for the province of `absorbed`; `absorbed` is filed
    /// and not retired; `absorber` is another filed, active code (of any province).
    /// Emits: {OrganisationStatusChanged} (status 3), {OrganisationAbsorbed}.
    function recordAbsorption(bytes13 absorbed, bytes13 absorber) external {
        if (absorbed == absorber) {
            revert OrganisationInvalidMerger(absorbed);
        }
        _requireActive(absorber);
        _retire(absorbed, absorber);
        emit OrganisationAbsorbed(absorbed, absorber);
    }

    /// @notice Organisation `code` (status 0 when never filed).
    /// @return province Province that filed it.
    /// @return status 0 none, 1 active, 2 suspended, 3 terminated.
    /// @return scopeHash Hash of the filed scope.
    /// @return keyCount Number of keys (key ids 0 … keyCount - 1).
    /// @return successor The code that took over a retired code by merger or absorption, or 0.
    function organisation(
        bytes13 code
    )
        external
        view
        returns (
            uint8 province,
            uint8 status,
            bytes32 scopeHash,
            uint32 keyCount,
            bytes13 successor
        )
    {
        Organisation storage org = _organisations[code];
        return (org.province, org.status, _scopeHashes[code], org.keyCount, org.successor);
    }

    /// @notice Key `keyId` of `code`.
    /// Requirements: the key exists.
    function organisationKey(
        bytes13 code,
        uint32 keyId
    )
        external
        view
        returns (uint8 suite, bytes memory publicKey, uint64 validFrom, uint64 validUntil)
    {
        if (keyId >= _organisations[code].keyCount) {
            revert OrganisationUnknownKey(code, keyId);
        }
        Key storage key = _keys[code][keyId];
        if (key.suite == SUITE_ED25519) {
            publicKey = abi.encodePacked(key.word0);
        } else if (key.suite == SUITE_ECDSA_SECP256K1) {
            publicKey = abi.encodePacked(key.word0, key.tail);
        } else {
            publicKey = abi.encodePacked(key.word0, key.word1, key.tail);
        }
        return (key.suite, publicKey, key.validFrom, key.validUntil);
    }

    function _addKey(
        bytes13 code,
        Organisation storage org,
        uint8 suite,
        bytes calldata publicKey,
        uint64 validFrom,
        uint64 validUntil
    ) private {
        if (validUntil != 0 && validUntil <= validFrom) {
            revert OrganisationInvalidValidity(validFrom, validUntil);
        }
        uint32 keyId = org.keyCount;
        Key storage key = _keys[code][keyId];
        key.suite = suite;
        key.validFrom = validFrom;
        key.validUntil = validUntil;
        if (suite == SUITE_ED25519 && publicKey.length == 32) {
            key.word0 = bytes32(publicKey[0:32]);
        } else if (
            suite == SUITE_ECDSA_SECP256K1 &&
            publicKey.length == 33 &&
            (publicKey[0] == 0x02 || publicKey[0] == 0x03)
        ) {
            key.word0 = bytes32(publicKey[0:32]);
            key.tail = publicKey[32];
        } else if (suite == SUITE_SM2_SM3 && publicKey.length == 65 && publicKey[0] == 0x04) {
            key.word0 = bytes32(publicKey[0:32]);
            key.word1 = bytes32(publicKey[32:64]);
            key.tail = publicKey[64];
        } else {
            revert OrganisationInvalidKey(suite, publicKey.length);
        }
        org.keyCount = keyId + 1;
        emit KeyAdded(code, keyId, suite, publicKey, validFrom, validUntil);
    }

    function _retire(bytes13 code, bytes13 successor) private {
        Organisation storage org = _ownLiveOrganisation(code);
        org.status = ORGANISATION_TERMINATED;
        org.successor = successor;
        emit OrganisationStatusChanged(code, ORGANISATION_TERMINATED);
    }

    function _requireActive(bytes13 code) private view {
        if (_organisations[code].status != ORGANISATION_ACTIVE) {
            revert OrganisationNotActive(code);
        }
    }

    /// @dev Reverts unless the caller operates for the province of `code` and `code` is filed.
    function _ownOrganisation(bytes13 code) private view returns (Organisation storage org) {
        _requireOperatorOf(_codeProvince(code));
        org = _organisations[code];
        if (org.status == 0) {
            revert OrganisationNotFiled(code);
        }
    }

    /// @dev As `_ownOrganisation`, and also reverts when `code` is retired.
    function _ownLiveOrganisation(bytes13 code) private view returns (Organisation storage org) {
        org = _ownOrganisation(code);
        if (org.status == ORGANISATION_TERMINATED) {
            revert OrganisationRetired(code);
        }
    }

    /// @dev Checks the shape of `code` (class `Y` or `S`, then 12 ASCII digits) and returns the
    /// province in its positions 6–7.
    function _codeProvince(bytes13 code) internal pure returns (uint8) {
        if (code[0] != "Y" && code[0] != "S") {
            revert OrganisationInvalidCode(code);
        }
        for (uint256 i = 1; i < 13; ++i) {
            if (code[i] < "0" || code[i] > "9") {
                revert OrganisationInvalidCode(code);
            }
        }
        return (uint8(code[5]) - 48) * 10 + (uint8(code[6]) - 48);
    }
}
