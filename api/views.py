"""JSON views of the node's records for the API: what each public resource shows.

None of these shows personal data except :func:`search_match`, which shows a certificate to
someone who already knows two of number, holder name and ID number (data guide art. 20), with
the personal fields the caller may not see in full masked (:func:`node.core.sharing.
certificate_view`: the ID number for the public, as the agreement says for a partner).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from node.core.certificate import Certificate
from node.core.sharing import certificate_view
from node.core.sharing import mask_id_number as mask_id_number
from node.services.intake_checks import Accepted
from node.services.lifecycle import LifecycleOutcome
from node.storage import (
    CertificateRecord,
    CheckpointRecord,
    OrganisationKeyRecord,
    OrganisationRecord,
)
from node.storage.organisation_details import DetailsRecord


def certificate_status(record: CertificateRecord) -> dict[str, Any]:
    """A certificate version's public status (no personal data)."""
    return {
        "commitment": record.commitment.hex(),
        "certificate_number": record.certificate_number,
        "province": record.province,
        "organisation_code": record.organisation_code,
        "status": record.status,
        "superseded_by": None if record.superseded_by is None else record.superseded_by.hex(),
        "log_index": record.log_index,
        "checkpoint_index": record.checkpoint_index,
        "status_changed_at": record.status_changed_at.isoformat(),
    }


def search_match(
    record: CertificateRecord, certificate: Certificate | None, full: Sequence[str] | None
) -> dict[str, Any]:
    """A search hit: the province, number, commitment and status; a superseded version names
    its successor (``superseded_by``); an active one shows its fields with the personal fields
    not in ``full`` masked (``full`` None: status only, e.g. a partner allowed ``status``
    only). A suspended one shows its status only: its query service is suspended (data guide
    art. 17); revoked and superseded ones their status only."""
    view: dict[str, Any] = {
        "province": record.province,
        "certificate_number": record.certificate_number,
        "commitment": record.commitment.hex(),
        "status": record.status,
    }
    if record.superseded_by is not None:
        view["superseded_by"] = record.superseded_by.hex()
    if certificate is not None and record.status == "active" and full is not None:
        view["certificate"] = certificate_view(certificate, full)
    return view


def organisation(
    record: OrganisationRecord,
    keys: list[OrganisationKeyRecord],
    details: DetailsRecord | None = None,
) -> dict[str, Any]:
    """An organisation of the registry, with its keys and the public particulars of its filing
    (人社鉴发〔2019〕3号 三: address, contact, filing number; Henan's filing period) and, after a
    merger, the code it was merged into (None where not filed)."""
    d = details or DetailsRecord(record.code)
    period = (
        None
        if d.filing_from is None
        else {
            "from": d.filing_from.isoformat(),
            "until": None if d.filing_until is None else d.filing_until.isoformat(),
        }
    )
    return {
        "code": record.code,
        "province": record.province,
        "name": record.name,
        "org_class": record.org_class,
        "category": record.category,
        "scope": record.scope,
        "scope_hash": None if record.scope_hash is None else record.scope_hash.hex(),
        "status": record.status,
        "address": d.address,
        "contact": d.contact,
        "filing_number": d.filing_number,
        "filing_period": period,
        "merged_into": d.merged_into,
        "keys": [
            {
                "key_id": k.key_id,
                "suite": k.suite,
                "public_key": k.public_key.hex(),
                "valid_from": k.valid_from,
                "valid_until": k.valid_until,
            }
            for k in keys
        ],
    }


def checkpoint(record: CheckpointRecord) -> dict[str, Any]:
    """A checkpoint of the province log and its anchoring."""
    return {
        "province": record.province,
        "index": record.index,
        "tree_size": record.tree_size,
        "root": record.root.hex(),
        "state": record.state,
        "manifest_cid": record.manifest_cid,
        "transaction_hash": record.transaction_hash,
        "block_number": record.block_number,
    }


def accepted(result: Accepted) -> dict[str, Any]:
    """An accepted certificate (no personal data)."""
    return {
        "certificate_number": result.certificate_number,
        "commitment": result.commitment.hex(),
        "log_index": result.log_index,
        "late_reason": result.late_reason,
        "working_days": result.working_days,
        "warnings": [w.code for w in result.warnings],
    }


def lifecycle(outcome: LifecycleOutcome) -> dict[str, Any]:
    """A lifecycle change (no personal data)."""
    return {
        "kind": outcome.kind,
        "certificate_number": outcome.certificate_number,
        "commitment": outcome.commitment.hex(),
        "log_index": outcome.log_index,
        "reason": int(outcome.reason),
        "status": outcome.status,
        "supersedes": None if outcome.supersedes is None else outcome.supersedes.hex(),
    }
