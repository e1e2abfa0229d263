"""The checks of a signed certificate record that need no database (intake checks 1-4 of
:mod:`node.services.intake`): signature shape, a full record and its commitment, every field
rule, and the province of the certificate number; and the reading of a bulk row into the salted
record, the issuer signature and the late-upload reason. Pure, so bulk intake runs them in worker
processes before touching the database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from node.core.certificate import SKILL_LEVEL, TYPE_FIELD, Certificate, committed_field_names
from node.core.crypto.signatures import get_suite
from node.core.errors import InvalidInput
from node.core.formats.commitment import Disclosed, SaltedCertificate
from node.core.formats.entry import Signature
from node.core.formats.submissions import InvalidRow, ParsedRow
from node.core.rules.certnum import CertificateNumber, SpecialAbilityNumber
from node.core.rules.flags import Flag
from node.core.rules.validation import QualificationNumber, validate_certificate
from node.core.rules.vocabulary import Vocabulary


def check_signature_shape(signature: Signature) -> None:
    """Check the shape of an issuer signature: a known suite, a key id that fits ``uint32`` and
    a value of the suite's length (docs/FORMATS.md "Signatures").

    Raises:
        InvalidInput: ``signature_suite`` / ``signature.suite_unknown``, ``key_id`` /
            ``signature.key_id``, ``signature`` / ``signature.length``.
    """
    suite = get_suite(signature.suite)
    if (
        isinstance(signature.key_id, bool)
        or not isinstance(signature.key_id, int)
        or not 0 <= signature.key_id <= 0xFFFFFFFF
    ):
        raise InvalidInput("key_id", "signature.key_id", "must be an integer 0-4294967295")
    if not isinstance(signature.value, bytes) or len(signature.value) != suite.signature_length:
        raise InvalidInput(
            "signature",
            "signature.length",
            f"must be {suite.signature_length} bytes for {suite.name}",
        )


@dataclasses.dataclass(frozen=True, slots=True)
class CheckedRecord:
    """What :func:`check_record` read from a salted record that passed checks 1-4."""

    certificate: Certificate
    commitment: bytes
    number: CertificateNumber | SpecialAbilityNumber | QualificationNumber
    issue_date: dt.date
    warnings: tuple[Flag, ...] = ()
    """Warnings of the names check (``occupation.not_in_catalogue``)."""


def check_record(
    salted: SaltedCertificate,
    signature: Signature,
    received_on: dt.date,
    province: str,
    expected_commitment: bytes | None = None,
    *,
    vocabulary: Vocabulary,
    qualification_number: re.Pattern[str] | None = None,
) -> CheckedRecord:
    """Checks 1-4 of the module docstring, which need no database: signature shape, full record
    and commitment (equal to ``expected_commitment`` when given), every field rule on
    ``received_on``, and the certificate number's province is ``province``. Pure, so the bulk
    path (:mod:`node.services.intake_batch`) runs it for a whole chunk before touching the database.

    Raises:
        InvalidInput: the first broken rule, as listed in the module docstring.
    """
    # 1. Signature shape.
    check_signature_shape(signature)
    # 2. Full record and commitment.
    certificate = salted.certificate()
    commitment = salted.commitment()
    if expected_commitment is not None and expected_commitment != commitment:
        raise InvalidInput(
            "commitment",
            "commitment.mismatch",
            "the commitment recomputed from the fields and salts differs from the one sent",
        )
    # 3. Field rules (certificate number against organisation, year and level included).
    number, issue_date = validate_certificate(
        certificate, today=received_on, qualification_number=qualification_number
    )
    # 4. This node's province (a special_ability number names none: its examining body is
    # looked up among this province's filings under the registry code).
    if isinstance(number, QualificationNumber):
        if certificate.organisation_code[5:7] != province:
            raise InvalidInput(
                "organisation_code",
                "certnum.province.node",
                f"positions 6-7 must be this node's province {province}",
            )
    elif isinstance(number, CertificateNumber) and number.province != province:
        raise InvalidInput(
            "certificate_number",
            "certnum.province.node",
            f"positions 6-7 must be this node's province {province}",
        )
    # 4b. Names: forbidden words, the occupation catalogue (人社鉴发〔2021〕1号 §五(二);
    #     粤人社办〔2020〕39号 附件 4 §二(四)4).
    warnings = vocabulary.check(certificate)
    return CheckedRecord(certificate, commitment, number, issue_date, warnings)


def salted_from_row(row: ParsedRow) -> tuple[SaltedCertificate, Signature, int | None]:
    """Turn a parsed bulk row into the salted record, the issuer signature and the late reason.

    Raises:
        InvalidRow: the row carries no signature and salts (``intake.unsigned``): the node
            cannot compute the commitment the issuer signed without the salts.
    """
    salts = row.extras.get("salts")
    suite = row.extras.get("signature_suite")
    key_id = row.extras.get("key_id")
    value = row.extras.get("signature")
    if (
        not isinstance(salts, dict)
        or not isinstance(suite, str)
        or not isinstance(key_id, int)
        or not isinstance(value, bytes)
    ):
        raise InvalidRow(
            row.row_number,
            "salts",
            "intake.unsigned",
            "the row has no issuer signature and salts; the province accepts only certificates "
            "signed by their issuer (signature_suite, key_id, signature, salts)",
        )
    certificate_type = row.fields.get(TYPE_FIELD, SKILL_LEVEL)
    names = committed_field_names(str(certificate_type))
    salted = SaltedCertificate({name: Disclosed(row.fields[name], salts[name]) for name in names})
    late = row.extras.get("late_reason")
    return salted, Signature(suite, key_id, value), late if isinstance(late, int) else None
