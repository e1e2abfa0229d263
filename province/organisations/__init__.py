"""Organisation filing (备案) mirrored to the contract: filing, suspension, reactivation,
termination (code retired), scope updates, key rotation and key revocation.

A province files the assessment organisations it supervises (data guide 中就培发〔2022〕1号
arts. 8-9; docs/DOMAIN.md "Who is who"): code, name, class, category, the occupations and levels
it may certify, and its signing keys. The contract is the root of trust (docs/ARCHITECTURE.md "Trust
model", docs/CONTRACT.md "Organisations"), the node's database keeps the same facts for intake.
Every change goes to both, in this order:

1. **validate** everything (the input, the database and the chain are read; nothing is sent or
   written on bad input, which raises :class:`~node.core.errors.InvalidInput` naming the field and
   the rule);
2. **publish** the scope document, when the change has one (``node/core/rules/scope.py``; the same
   bytes
   give the same CID, so publishing again is harmless);
3. **send** the transaction(s), unless the chain already holds the change: a call repeated
   after a crash between steps 3 and 4 compares the chain with what it would send and sends
   nothing when they agree;
4. **write** the database and an audit event in ONE transaction.

The database therefore never runs ahead of the chain. When the two disagree in a way no crash
between steps 3 and 4 explains, :class:`OrganisationMismatch` (an
:class:`~node.core.errors.InconsistencyError`) is raised with both values. :meth:`reconcile` settles
every organisation of the province: it adopts what the chain has and the database lacks
(including organisations filed on chain whose database write was lost: their name, category
and scope come back from the published scope document).

A code retired by termination is never filed again (rule §4 of 人社鉴发〔2019〕2号, seed 001;
DOMAIN.md "Code lifecycle"); its keys can still be revoked, as on the contract.

Rule ids (field in brackets): ``filing.type`` / ``filing.keys`` (``filing``); ``keys.type``,
``keys.empty``, ``keys.too_many`` (``keys``); ``key.type``, ``key.keys``, ``key.suite``,
``key.public_key``, ``key.time``, ``key.validity`` (``keys[i].…`` or the argument);
``key.effective_at`` (``effective_at``: rotation before the previous key's start);
``key.unknown`` (``key_id``), ``key.lengthen`` and ``key.before_valid_from``
(``effective_at``); ``organisation.province_node`` (``code``), ``organisation.unknown``,
``organisation.duplicate``, ``organisation.retired`` (``code``), ``organisation.terminated``
(``status``); the rules of :mod:`node.core.rules.scope` and
:func:`node.core.rules.certnum.parse_organisation_code`.

The package's modules, one concern each: :mod:`~province.organisations.filing` (filings read and
checked), :mod:`~province.organisations.mirror` (the chain and database pair every change works
on, statuses, :class:`OrganisationChange`, :class:`OrganisationMismatch`),
:mod:`~province.organisations.changes` (filing, status and scope),
:mod:`~province.organisations.keys` (rotation and revocation),
:mod:`~province.organisations.reconcile`, and :mod:`~province.organisations.service`
(:class:`OrganisationService`, which composes them).
"""

from province.organisations.filing import (
    CHINA_TZ,
    MAX_FILING_KEYS,
    KeySpec,
    OrganisationFiling,
    parse_filing,
    parse_time,
)
from province.organisations.mirror import (
    ACTION_FILE,
    ACTION_REACTIVATE,
    ACTION_RECONCILE,
    ACTION_REVOKE_KEY,
    ACTION_ROTATE_KEY,
    ACTION_SUSPEND,
    ACTION_TERMINATE,
    ACTION_UPDATE_SCOPE,
    CHAIN_STATUS,
    DB_STATUS,
    OrganisationChange,
    OrganisationMismatch,
)
from province.organisations.service import OrganisationService

__all__ = [
    "ACTION_FILE",
    "ACTION_REACTIVATE",
    "ACTION_RECONCILE",
    "ACTION_REVOKE_KEY",
    "ACTION_ROTATE_KEY",
    "ACTION_SUSPEND",
    "ACTION_TERMINATE",
    "ACTION_UPDATE_SCOPE",
    "CHAIN_STATUS",
    "CHINA_TZ",
    "DB_STATUS",
    "MAX_FILING_KEYS",
    "KeySpec",
    "OrganisationChange",
    "OrganisationFiling",
    "OrganisationMismatch",
    "OrganisationService",
    "parse_filing",
    "parse_time",
]
