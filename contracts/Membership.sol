// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Membership
/// @notice The consortium's members (provinces, by their two-digit code) and their operator
/// accounts, with majority governance: admitting or removing a member and replacing a member's
/// operators need approvals from more than half of the current members (propose, approve,
/// execute). Proposals expire after `PROPOSAL_LIFETIME` seconds of block time. There is no owner
/// or admin key: after the constructor, only the members govern.
/// Each member also publishes keys for its own purposes (`setMemberKey`, `memberKey`): purpose
/// 1 is the Ed25519 public key that signs its node's requests to other provinces' nodes
/// (docs/SHARING.md). Removing a member or replacing its operators withdraws all its keys.
abstract contract Membership {
    /// @notice Seconds (block timestamp) after its creation during which a proposal can be
    /// approved and executed.
    uint64 public constant PROPOSAL_LIFETIME = 7 days;

    /// @notice Most operator accounts one member may have.
    uint256 public constant MAX_OPERATORS = 16;

    /// @notice Proposal kinds.
    uint8 public constant PROPOSAL_ADMIT_MEMBER = 1;
    uint8 public constant PROPOSAL_REMOVE_MEMBER = 2;
    uint8 public constant PROPOSAL_REPLACE_OPERATORS = 3;
    /// @notice Sets a contract parameter (its value is {proposalValue}); made by
    /// {proposeMaxCheckpointGrowth}, not {propose}.
    uint8 public constant PROPOSAL_SET_MAX_CHECKPOINT_GROWTH = 4;

    /// @notice Member key purposes: 1 the node API's request-signing key (Ed25519, 32 bytes).
    /// Other purposes may be given meanings later; the contract stores any non-zero purpose.
    uint8 public constant KEY_PURPOSE_NODE_API = 1;

    /// @notice Longest member key, in bytes.
    uint256 public constant MAX_MEMBER_KEY_BYTES = 128;

    struct Proposal {
        uint8 kind;
        uint8 province;
        uint8 proposerProvince;
        bool executed;
        uint64 expiresAt;
        address[] operators;
    }

    /// @dev Province code of each operator account; 0 when the account operates for no member.
    mapping(address account => uint8 province) private _provinceOf;
    /// @dev Operator accounts of each current member; empty for non-members.
    mapping(uint8 province => address[] operators) private _operators;
    /// @dev Current members, in admission order (swap-and-pop on removal).
    uint8[] private _members;
    /// @dev Position + 1 of each member in `_members`; 0 for non-members.
    mapping(uint8 province => uint256 position) private _memberPosition;
    Proposal[] private _proposals;
    /// @dev The membership epoch of the member's approval (0: none). An approval counts only
    /// while it carries the member's current epoch, so a removed member's approvals are void,
    /// also after it is admitted again (a new admission is a new epoch).
    mapping(uint256 id => mapping(uint8 province => uint64 epoch)) private _approved;
    /// @dev Incremented when a member is removed or its operators are replaced: keys are kept
    /// per key generation, so both withdraw every key the member published before.
    mapping(uint8 province => uint256 generation) private _keyGeneration;
    mapping(uint8 province => mapping(uint256 generation => mapping(uint8 purpose => bytes key)))
        private _memberKeys;
    /// @dev Each admission (founding included) takes the next epoch.
    mapping(uint8 province => uint64 epoch) private _memberEpoch;
    uint64 private _epochs;
    /// @dev The value a parameter proposal sets (kind 4).
    mapping(uint256 id => uint64 value) private _proposalValue;

    /// @notice The caller is not an operator of any member.
    error MembershipNotOperator(address account);
    /// @notice The caller operates for a member other than `province`.
    error MembershipUnauthorizedProvince(address account, uint8 province);
    /// @notice `province` is not a code of the province table.
    error MembershipInvalidProvince(uint8 province);
    error MembershipAlreadyMember(uint8 province);
    error MembershipNotMember(uint8 province);
    /// @notice Removing `province` would leave the consortium without members.
    error MembershipLastMember(uint8 province);
    /// @notice An operator list is empty, too long, holds the zero address or a duplicate.
    error MembershipInvalidOperators();
    /// @notice `account` already operates for another member.
    error MembershipOperatorTaken(address account, uint8 province);
    error MembershipInvalidProposalKind(uint8 kind);
    error MembershipUnknownProposal(uint256 id);
    error MembershipProposalExpired(uint256 id, uint64 expiresAt);
    error MembershipProposalAlreadyExecuted(uint256 id);
    error MembershipAlreadyApproved(uint256 id, uint8 province);
    /// @notice Fewer than a majority (more than half) of the current members approved.
    error MembershipInsufficientApprovals(uint256 id, uint256 approvals, uint256 members);
    /// @notice Key purpose 0 is reserved.
    error MembershipInvalidKeyPurpose(uint8 purpose);
    /// @notice A member key is longer than `MAX_MEMBER_KEY_BYTES`.
    error MembershipInvalidKey(uint256 length);

    event MemberAdmitted(uint8 indexed province, address[] operators);
    event MemberRemoved(uint8 indexed province);
    event OperatorsReplaced(uint8 indexed province, address[] operators);
    event ProposalCreated(
        uint256 indexed id,
        uint8 kind,
        uint8 indexed province,
        address[] operators,
        uint8 proposerProvince,
        uint64 expiresAt
    );
    event ProposalApproved(uint256 indexed id, uint8 indexed province);
    event ProposalExecuted(uint256 indexed id);
    /// @notice `province` published `key` for `purpose` (empty: it withdrew the key).
    event MemberKeySet(uint8 indexed province, uint8 indexed purpose, bytes key);

    /// @param provinces Founding member of each entry (repeat a province to give it several
    /// operators).
    /// @param operators Operator account of each entry, parallel to `provinces`.
    constructor(uint8[] memory provinces, address[] memory operators) {
        if (provinces.length == 0 || provinces.length != operators.length) {
            revert MembershipInvalidOperators();
        }
        for (uint256 i = 0; i < provinces.length; ++i) {
            uint8 province = provinces[i];
            if (!isValidProvince(province)) {
                revert MembershipInvalidProvince(province);
            }
            if (_memberPosition[province] == 0) {
                _members.push(province);
                _memberPosition[province] = _members.length;
                _memberEpoch[province] = ++_epochs;
            }
            address account = operators[i];
            if (account == address(0)) {
                revert MembershipInvalidOperators();
            }
            if (_provinceOf[account] != 0) {
                revert MembershipOperatorTaken(account, _provinceOf[account]);
            }
            if (_operators[province].length == MAX_OPERATORS) {
                revert MembershipInvalidOperators();
            }
            _operators[province].push(account);
            _provinceOf[account] = province;
        }
        for (uint256 i = 0; i < _members.length; ++i) {
            emit MemberAdmitted(_members[i], _operators[_members[i]]);
        }
    }

    /// @dev Reverts unless the caller operates for a member; returns that member's province.
    function _callerProvince() internal view returns (uint8 province) {
        province = _provinceOf[msg.sender];
        if (province == 0) {
            revert MembershipNotOperator(msg.sender);
        }
    }

    /// @dev Reverts unless the caller operates for `province` (which is then a member).
    function _requireOperatorOf(uint8 province) internal view {
        uint8 own = _provinceOf[msg.sender];
        if (own == 0) {
            revert MembershipNotOperator(msg.sender);
        }
        if (own != province) {
            revert MembershipUnauthorizedProvince(msg.sender, province);
        }
    }

    /// @notice Whether `province` is a code of the province table (11–15, 21–23, 31–37, 41–46,
    /// 50–54, 61–66, 71, 81, 82).
    function isValidProvince(uint8 province) public pure returns (bool) {
        return
            (province >= 11 && province <= 15) ||
            (province >= 21 && province <= 23) ||
            (province >= 31 && province <= 37) ||
            (province >= 41 && province <= 46) ||
            (province >= 50 && province <= 54) ||
            (province >= 61 && province <= 66) ||
            province == 71 ||
            province == 81 ||
            province == 82;
    }

    /// @notice Whether `province` is a current member.
    function isMember(uint8 province) external view returns (bool) {
        return _memberPosition[province] != 0;
    }

    /// @notice Number of current members.
    function memberCount() external view returns (uint256) {
        return _members.length;
    }

    /// @notice The current members' province codes.
    function members() external view returns (uint8[] memory) {
        return _members;
    }

    /// @notice The operator accounts of `province` (empty for a non-member).
    function operatorsOf(uint8 province) external view returns (address[] memory) {
        return _operators[province];
    }

    /// @notice The province `account` operates for, or 0.
    function provinceOf(address account) external view returns (uint8) {
        return _provinceOf[account];
    }

    /// @notice The key member `province` published for `purpose`; empty when it published none,
    /// withdrew it, or is not a member.
    function memberKey(uint8 province, uint8 purpose) external view returns (bytes memory) {
        if (_memberPosition[province] == 0) {
            return "";
        }
        return _memberKeys[province][_keyGeneration[province]][purpose];
    }

    /// @notice Publishes (or, with an empty `key`, withdraws) the caller's member key for
    /// `purpose`, replacing the one published before.
    /// Requirements: the caller operates for a member; `purpose` is not 0; `key` is at most
    /// `MAX_MEMBER_KEY_BYTES` long.
    /// Emits: {MemberKeySet}.
    function setMemberKey(uint8 purpose, bytes calldata key) external {
        uint8 province = _callerProvince();
        if (purpose == 0) {
            revert MembershipInvalidKeyPurpose(purpose);
        }
        if (key.length > MAX_MEMBER_KEY_BYTES) {
            revert MembershipInvalidKey(key.length);
        }
        _memberKeys[province][_keyGeneration[province]][purpose] = key;
        emit MemberKeySet(province, purpose, key);
    }

    /// @notice Number of proposals ever created; ids are 0 … proposalCount() - 1.
    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    /// @notice Proposal `id`.
    /// Requirements: `id` exists.
    function proposal(
        uint256 id
    )
        external
        view
        returns (
            uint8 kind,
            uint8 province,
            address[] memory operators,
            uint8 proposerProvince,
            uint64 expiresAt,
            bool executed
        )
    {
        Proposal storage p = _proposalAt(id);
        return (p.kind, p.province, p.operators, p.proposerProvince, p.expiresAt, p.executed);
    }

    /// @notice Whether member `province` approved proposal `id`.
    /// An approval given before the member was removed is void, also once it is admitted again.
    function hasApproved(uint256 id, uint8 province) public view returns (bool) {
        uint64 epoch = _approved[id][province];
        return epoch != 0 && epoch == _memberEpoch[province] && _memberPosition[province] != 0;
    }

    /// @notice Approvals of proposal `id` from current members (in their current membership).
    function approvalCount(uint256 id) public view returns (uint256 count) {
        for (uint256 i = 0; i < _members.length; ++i) {
            if (hasApproved(id, _members[i])) {
                ++count;
            }
        }
    }

    /// @notice The value parameter proposal `id` sets (0 for the other kinds).
    function proposalValue(uint256 id) external view returns (uint64) {
        _proposalAt(id);
        return _proposalValue[id];
    }

    /// @notice Proposes a membership change; the proposer's member approves it at once.
    /// @param kind 1 admit `province` with `operators`, 2 remove `province` (`operators` must be
    /// empty), 3 replace the operators of member `province` by `operators`.
    /// @return id The new proposal's id.
    /// Requirements: the caller operates for a member; `province` is valid; for kind 1 it is not
    /// a member, for kinds 2 and 3 it is; the operator list is valid for the kind.
    /// Emits: {ProposalCreated}, {ProposalApproved}.
    function propose(
        uint8 kind,
        uint8 province,
        address[] calldata operators
    ) external returns (uint256 id) {
        uint8 proposer = _callerProvince();
        if (kind == PROPOSAL_SET_MAX_CHECKPOINT_GROWTH) {
            revert MembershipInvalidProposalKind(kind);
        }
        _checkProposal(kind, province, operators);
        id = _newProposal(kind, province, operators, proposer);
    }

    /// @notice Proposes a new most entries one checkpoint may add to a log (see
    /// {ProvinceLogs-maxCheckpointGrowth}); the proposer's member approves it at once.
    /// @return id The new proposal's id.
    /// Requirements: the caller operates for a member; `growth` is above 0.
    /// Emits: {ProposalCreated} (kind 4, the proposer's province, no operators),
    /// {ProposalApproved}.
    function proposeMaxCheckpointGrowth(uint64 growth) external returns (uint256 id) {
        uint8 proposer = _callerProvince();
        _checkGrowth(growth);
        id = _newProposal(PROPOSAL_SET_MAX_CHECKPOINT_GROWTH, proposer, new address[](0), proposer);
        _proposalValue[id] = growth;
    }

    function _newProposal(
        uint8 kind,
        uint8 province,
        address[] memory operators,
        uint8 proposer
    ) private returns (uint256 id) {
        id = _proposals.length;
        uint64 expiresAt = uint64(block.timestamp) + PROPOSAL_LIFETIME;
        _proposals.push(
            Proposal({
                kind: kind,
                province: province,
                proposerProvince: proposer,
                executed: false,
                expiresAt: expiresAt,
                operators: operators
            })
        );
        emit ProposalCreated(id, kind, province, operators, proposer, expiresAt);
        _approved[id][proposer] = _memberEpoch[proposer];
        emit ProposalApproved(id, proposer);
    }

    /// @notice Approves proposal `id` on behalf of the caller's member.
    /// Requirements: the caller operates for a member; the proposal exists, is not executed, has
    /// not expired and was not approved by this member before.
    /// Emits: {ProposalApproved}.
    function approve(uint256 id) external {
        uint8 province = _callerProvince();
        _openProposal(id);
        if (hasApproved(id, province)) {
            revert MembershipAlreadyApproved(id, province);
        }
        _approved[id][province] = _memberEpoch[province];
        emit ProposalApproved(id, province);
    }

    /// @notice Executes proposal `id` once a majority of the current members approved it.
    /// Requirements: the caller operates for a member; the proposal exists, is not executed and
    /// has not expired; approvals from current members are more than half of the members; the
    /// change is still valid (checked again against the current state). Removing a member or
    /// replacing its operators withdraws every member key it published.
    /// Emits: {ProposalExecuted} and one of {MemberAdmitted}, {MemberRemoved},
    /// {OperatorsReplaced}.
    function execute(uint256 id) external {
        _callerProvince();
        Proposal storage p = _openProposal(id);
        uint256 approvals = approvalCount(id);
        if (approvals * 2 <= _members.length) {
            revert MembershipInsufficientApprovals(id, approvals, _members.length);
        }
        if (p.kind == PROPOSAL_SET_MAX_CHECKPOINT_GROWTH) {
            p.executed = true;
            emit ProposalExecuted(id);
            _setMaxCheckpointGrowth(_proposalValue[id]);
            return;
        }
        _checkProposal(p.kind, p.province, p.operators);
        p.executed = true;
        emit ProposalExecuted(id);
        if (p.kind == PROPOSAL_ADMIT_MEMBER) {
            _members.push(p.province);
            _memberPosition[p.province] = _members.length;
            _memberEpoch[p.province] = ++_epochs;
            _setOperators(p.province, p.operators);
            emit MemberAdmitted(p.province, p.operators);
        } else if (p.kind == PROPOSAL_REMOVE_MEMBER) {
            _clearOperators(p.province);
            uint256 position = _memberPosition[p.province];
            uint8 last = _members[_members.length - 1];
            _members[position - 1] = last;
            _memberPosition[last] = position;
            _members.pop();
            delete _memberPosition[p.province];
            ++_keyGeneration[p.province];
            emit MemberRemoved(p.province);
        } else {
            _clearOperators(p.province);
            _setOperators(p.province, p.operators);
            ++_keyGeneration[p.province];
            emit OperatorsReplaced(p.province, p.operators);
        }
    }

    /// @dev Sets the parameter of a kind-4 proposal (implemented by {ProvinceLogs}).
    function _setMaxCheckpointGrowth(uint64 growth) internal virtual;

    /// @dev Refuses a growth of 0 (implemented by {ProvinceLogs}).
    function _checkGrowth(uint64 growth) internal pure virtual;

    function _proposalAt(uint256 id) private view returns (Proposal storage) {
        if (id >= _proposals.length) {
            revert MembershipUnknownProposal(id);
        }
        return _proposals[id];
    }

    function _openProposal(uint256 id) private view returns (Proposal storage p) {
        p = _proposalAt(id);
        if (p.executed) {
            revert MembershipProposalAlreadyExecuted(id);
        }
        if (block.timestamp >= p.expiresAt) {
            revert MembershipProposalExpired(id, p.expiresAt);
        }
    }

    function _checkProposal(
        uint8 kind,
        uint8 province,
        address[] memory operators
    ) private view {
        if (!isValidProvince(province)) {
            revert MembershipInvalidProvince(province);
        }
        bool member = _memberPosition[province] != 0;
        if (kind == PROPOSAL_ADMIT_MEMBER) {
            if (member) {
                revert MembershipAlreadyMember(province);
            }
            _checkOperators(province, operators);
        } else if (kind == PROPOSAL_REMOVE_MEMBER) {
            if (!member) {
                revert MembershipNotMember(province);
            }
            if (operators.length != 0) {
                revert MembershipInvalidOperators();
            }
            if (_members.length == 1) {
                revert MembershipLastMember(province);
            }
        } else if (kind == PROPOSAL_REPLACE_OPERATORS) {
            if (!member) {
                revert MembershipNotMember(province);
            }
            _checkOperators(province, operators);
        } else {
            revert MembershipInvalidProposalKind(kind);
        }
    }

    /// @dev An operator list is 1 … MAX_OPERATORS distinct non-zero accounts, none of which
    /// operates for another member.
    function _checkOperators(uint8 province, address[] memory operators) private view {
        if (operators.length == 0 || operators.length > MAX_OPERATORS) {
            revert MembershipInvalidOperators();
        }
        for (uint256 i = 0; i < operators.length; ++i) {
            address account = operators[i];
            if (account == address(0)) {
                revert MembershipInvalidOperators();
            }
            for (uint256 j = 0; j < i; ++j) {
                if (operators[j] == account) {
                    revert MembershipInvalidOperators();
                }
            }
            uint8 owner = _provinceOf[account];
            if (owner != 0 && owner != province) {
                revert MembershipOperatorTaken(account, owner);
            }
        }
    }

    function _setOperators(uint8 province, address[] storage operators) private {
        for (uint256 i = 0; i < operators.length; ++i) {
            _provinceOf[operators[i]] = province;
        }
        _operators[province] = operators;
    }

    function _clearOperators(uint8 province) private {
        address[] storage current = _operators[province];
        for (uint256 i = 0; i < current.length; ++i) {
            delete _provinceOf[current[i]];
        }
        delete _operators[province];
    }
}
