"""Certificate lifecycle in the provincial node: correction, revocation, suspension,
reinstatement and logical deletion (docs/LIFECYCLE.md).

Every change is ONE database transaction that checks, updates the certificate row, appends
exactly one entry to the province log (docs/FORMATS.md "Log entries") and writes an audit event
(data guide 中就培发〔2022〕1号 art. 13: 全过程可追溯、可倒查). A broken rule raises
:class:`~node.core.errors.InvalidInput` naming the field and the rule, and nothing is written. The
on-chain status is written later by the anchoring worker from the entries appended here; this
module never calls the chain.

Transitions mirror the contract (docs/CONTRACT.md "Certificate status"), plus ``deleted``:

=============  =========================================================
from           to
=============  =========================================================
``active``     ``revoked``, ``suspended``, ``superseded``, ``deleted``
``suspended``  ``active`` (reinstate), ``revoked``, ``superseded``, ``deleted``
others         nothing: ``revoked``, ``superseded`` and ``deleted`` are final
=============  =========================================================

Reason codes come from :mod:`node.core.rules.reasons`: revocation takes the misconduct guidelines'
codes (1xx), suspension 2xx, reinstatement 3xx, correction 4xx
(:func:`node.core.rules.reasons.check_correction` refuses a correction of both holder name and ID
number, data guide art. 14), deletion 5xx (data guide art. 15).

Nothing here puts personal data in a log entry, an audit event, a log message or an exception
message; a free-text ``note`` that contains the certificate's holder name or ID number is
refused (``note.personal_data``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from node.core.certificate import FIELD_NAMES, Certificate
from node.core.crypto.privacy import BlindIndex, PersonalDataCipher
from node.core.crypto.signatures import get_suite, signing_message
from node.core.errors import InvalidInput, VerificationError
from node.core.formats.commitment import SaltedCertificate
from node.core.formats.entry import (
    MAINTENANCE_KEY_PURPOSE,
    Attributes,
    LogEntry,
    Signature,
    registry_code_of,
)
from node.core.formats.snapshot import Network
from node.core.records import check_signature_shape
from node.core.rules.reasons import (
    ACTION_CORRECT,
    ACTION_DELETE,
    ACTION_REINSTATE,
    ACTION_REVOKE,
    ACTION_SUSPEND,
    Reason,
    check_correction,
    check_lineage,
    check_reason,
)
from node.core.rules.scope import check_scope, filed_scope
from node.core.rules.validation import validate_certificate
from node.core.time import CHINA_STANDARD_TIME
from node.services.intake_checks import active_organisation, check_issuer_signature
from node.storage import (
    AuditTrail,
    CertificateRecord,
    CertificateRepository,
    Database,
    OrganisationRepository,
    ProvinceLog,
)
from node.storage.schema import CertificateRow, table_of

log = logging.getLogger(__name__)

_CERTS: Final = table_of(CertificateRow)
_T = TypeVar("_T")

#: Statuses from which each action may start (docs/CONTRACT.md "Certificate status"; deletion
#: follows the same rule as revocation, which is how it reaches the chain).
ALLOWED_FROM: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        ACTION_CORRECT: frozenset({"active", "suspended"}),
        ACTION_REVOKE: frozenset({"active", "suspended"}),
        ACTION_SUSPEND: frozenset({"active"}),
        ACTION_REINSTATE: frozenset({"suspended"}),
        ACTION_DELETE: frozenset({"active", "suspended"}),
    }
)
#: Statuses nothing leaves.
FINAL_STATUSES: Final = frozenset({"revoked", "superseded", "deleted"})
#: The status each status action sets.
_TARGET_STATUS: Final = {
    ACTION_REVOKE: "revoked",
    ACTION_SUSPEND: "suspended",
    ACTION_REINSTATE: "active",
    ACTION_DELETE: "deleted",
}
#: Actor ids are stored in ``audit_events.actor`` (128 characters).
MAX_ACTOR_LENGTH: Final = 128


@dataclasses.dataclass(frozen=True, slots=True)
class LifecycleOutcome:
    """What one lifecycle change did (no personal data).

    ``commitment`` is the certificate whose status changed, or the new version for a
    correction, whose ``supersedes`` is the old one. ``status`` is that certificate's status
    afterwards.
    """

    kind: str
    certificate_number: str
    commitment: bytes
    log_index: int
    reason: Reason
    status: str
    supersedes: bytes | None = None


def check_actor(field: str, actor: object) -> str:
    """Return ``actor`` when it is a non-empty id of at most 128 characters.

    Raises:
        InvalidInput: ``field`` / ``actor.missing`` (empty or not a string) or
            ``actor.length``.
    """
    if not isinstance(actor, str) or not actor.strip():
        raise InvalidInput(field, "actor.missing", "who acts must be named (data guide art. 13)")
    if len(actor) > MAX_ACTOR_LENGTH:
        raise InvalidInput(field, "actor.length", f"at most {MAX_ACTOR_LENGTH} characters")
    return actor


def check_note(note: str | None, *certificates: Certificate) -> None:
    """Refuse a free-text note that holds a holder name or ID number of ``certificates``:
    audit rows never carry personal data (docs/STORAGE.md "Personal data").

    Raises:
        InvalidInput: ``note`` / ``note.type`` or ``note.personal_data``.
    """
    if note is None:
        return
    if not isinstance(note, str):
        raise InvalidInput("note", "note.type", "must be a string")
    folded = note.casefold()
    for certificate in certificates:
        for value in (certificate.holder_name, certificate.id_number):
            if value and value.casefold() in folded:
                raise InvalidInput(
                    "note",
                    "note.personal_data",
                    "the note must not contain the holder name or the ID number",
                )


def changed_fields(old: Certificate, new: Certificate) -> frozenset[str]:
    """Return the field paths whose values differ between two versions of a certificate."""
    return frozenset(name for name in FIELD_NAMES if getattr(old, name) != getattr(new, name))


class LifecycleService:
    """Changes the status of, or corrects, certificates of one province.

    Each public method runs in one transaction of its own, or, when ``session`` is given, in
    the caller's transaction (the caller commits; :class:`node.services.review.ReviewService` uses
    this to record a flag and suspend in one transaction).
    """

    def __init__(
        self,
        db: Database,
        province: str,
        network: Network,
        cipher: PersonalDataCipher,
        blind_index: BlindIndex,
        *,
        clock: Callable[[], dt.datetime],
        qualification_number: re.Pattern[str] | None = None,
    ) -> None:
        self._db = db
        self._province = province
        self._network = network
        self._cipher = cipher
        self._index = blind_index
        self._clock = clock
        #: The province's 职业资格证书 number format (node.json ``qualification_number``): a
        #: corrected vocational_qualification certificate is checked against it, as at intake.
        self._qualification_number = qualification_number

    def __repr__(self) -> str:
        return f"LifecycleService(province={self._province!r})"

    @property
    def province(self) -> str:
        """The province whose certificates this service changes."""
        return self._province

    def _run(self, session: Session | None, work: Callable[[Session], _T]) -> _T:
        if session is not None:
            return work(session)
        with self._db.transaction() as own:
            return work(own)

    def certificate(
        self, commitment: bytes, *, session: Session | None = None, field: str = "commitment"
    ) -> CertificateRecord:
        """Return the certificate ``commitment`` of this province (no personal data).

        Raises:
            InvalidInput: ``field`` / ``certificate.unknown`` or ``certificate.province``.
        """
        return self._run(
            session,
            lambda s: self._current(
                s, CertificateRepository(s, self._cipher, self._index), field, commitment
            ),
        )

    def check_note(
        self, commitment: bytes, note: str | None, *, session: Session | None = None
    ) -> None:
        """Refuse a note that holds the holder name or ID number of certificate
        ``commitment`` (decrypts the record; nothing leaves).

        Raises:
            InvalidInput: ``note`` / ``note.personal_data``; the certificate rules of
                :meth:`certificate`.
        """
        if note is None:
            return

        def work(s: Session) -> None:
            certificates = CertificateRepository(s, self._cipher, self._index)
            record = self._current(s, certificates, "commitment", commitment)
            check_note(note, certificates.salted(record).certificate())

        self._run(session, work)

    # ----------------------------------------------------------------------------------------
    # Status changes

    def revoke(
        self,
        commitment: bytes,
        *,
        reason: int,
        actor: str,
        note: str | None = None,
        session: Session | None = None,
    ) -> LifecycleOutcome:
        """Revoke a certificate for misconduct (misconduct guidelines arts. 8, 12, 14, 15):
        ``active`` or ``suspended`` becomes ``revoked``, final.

        Raises:
            InvalidInput: see :meth:`_change_status`; ``reason`` must be a 1xx code.
        """
        return self._run(
            session,
            lambda s: self._change_status(s, ACTION_REVOKE, commitment, reason, actor, note),
        )

    def suspend(
        self,
        commitment: bytes,
        *,
        reason: int,
        actor: str,
        note: str | None = None,
        session: Session | None = None,
    ) -> LifecycleOutcome:
        """Suspend an ``active`` certificate's query service pending review (data guide
        art. 17; misconduct guidelines art. 13).

        Raises:
            InvalidInput: see :meth:`_change_status`; ``reason`` must be a 2xx code.
        """
        return self._run(
            session,
            lambda s: self._change_status(s, ACTION_SUSPEND, commitment, reason, actor, note),
        )

    def reinstate(
        self,
        commitment: bytes,
        *,
        reason: int,
        actor: str,
        note: str | None = None,
        session: Session | None = None,
    ) -> LifecycleOutcome:
        """Reinstate a ``suspended`` certificate after review (data guide art. 17; misconduct
        guidelines art. 19).

        Raises:
            InvalidInput: see :meth:`_change_status`; ``reason`` must be a 3xx code.
        """
        return self._run(
            session,
            lambda s: self._change_status(s, ACTION_REINSTATE, commitment, reason, actor, note),
        )

    def delete(
        self,
        commitment: bytes,
        *,
        reason: int,
        actor: str,
        note: str | None = None,
        session: Session | None = None,
    ) -> LifecycleOutcome:
        """Delete a certificate logically at the province's request (data guide art. 15): the
        row and its encrypted record stay, the status becomes ``deleted`` (final).

        Raises:
            InvalidInput: see :meth:`_change_status`; ``reason`` must be a 5xx code.
        """
        return self._run(
            session,
            lambda s: self._change_status(s, ACTION_DELETE, commitment, reason, actor, note),
        )

    def _change_status(
        self,
        session: Session,
        action: str,
        commitment: bytes,
        code: int,
        actor: str,
        note: str | None,
    ) -> LifecycleOutcome:
        """Check, update the row, append the status entry, write the audit event.

        Raises:
            InvalidInput: ``actor`` / ``actor.missing`` or ``actor.length``; ``reason`` /
                ``reason.unknown`` or ``reason.not_for_action``; ``commitment`` /
                ``certificate.unknown`` or ``certificate.province``; ``status`` /
                ``certificate.final`` or ``certificate.transition``; ``note`` /
                ``note.personal_data``.
        """
        check_actor("actor", actor)
        reason = check_reason(action, code)
        certificates = CertificateRepository(session, self._cipher, self._index)
        record = self._current(session, certificates, "commitment", commitment)
        self._check_transition(action, record)
        if note is not None:
            check_note(note, certificates.salted(record).certificate())

        now = self._clock()
        status = _TARGET_STATUS[action]
        if action == ACTION_DELETE:
            certificates.mark_deleted(commitment, now=now)
        else:
            certificates.set_status(commitment, status, now=now)
        entry = LogEntry(
            kind=action,
            province=self._province,
            organisation_code=record.organisation_code,
            certificate_number=record.certificate_number,
            commitment=commitment,
            reason=int(reason),
        )
        [index] = ProvinceLog(session, self._province).append([entry], now=now)
        AuditTrail(session).record(
            actor=actor,
            action=action,
            target_type="certificate",
            target_id=commitment.hex(),
            now=now,
            reason=int(reason),
            note=note,
            details={
                "certificate_number": record.certificate_number,
                "log_index": index,
                "from_status": record.status,
                "to_status": status,
            },
        )
        log.info(
            "%s certificate %s (reason %d) at log index %d of province %s",
            action,
            record.certificate_number,
            reason,
            index,
            self._province,
        )
        return LifecycleOutcome(
            kind=action,
            certificate_number=record.certificate_number,
            commitment=commitment,
            log_index=index,
            reason=reason,
            status=status,
        )

    # ----------------------------------------------------------------------------------------
    # Correction

    def correct(
        self,
        old_commitment: bytes,
        salted: SaltedCertificate,
        signature: Signature,
        *,
        reason: int,
        requested_by: str,
        confirmed_by: str | None,
        commitment: bytes | None = None,
        note: str | None = None,
        session: Session | None = None,
        maintenance_key: bytes | None = None,
    ) -> LifecycleOutcome:
        """Replace a certificate by a corrected version that supersedes it (data guide arts.
        11, 14): the organisation (``requested_by``) gives the reason, a province operator
        (``confirmed_by``, another person) confirms.

        A ``signature`` whose ``signer`` is ``province`` is the province's own, by its
        maintenance key (``Membership`` purpose 3, whose public key the caller read from the
        contract and passes as ``maintenance_key``): the province maintains the certificates of
        an organisation that was terminated or vanished (seed 002 第十六条). It is allowed only
        for a terminated organisation (``organisation_code`` /
        ``maintenance.organisation_active``), and an organisation-signed correction of such a
        certificate is refused (``signature`` / ``maintenance.province_required``). The entry
        carries ``signature.signer`` so verifiers and auditors tell the two apart.

        The new version keeps the certificate number (so the organisation, issue year, level
        and serial) and is checked like intake: every field rule, the organisation filed here
        and active, the filed scope, and the issuer's signature by a key valid on the issue
        date. ``commitment``, when given, is the one the issuer sent; it must equal the one
        recomputed from ``salted``. The old row becomes ``superseded`` (linked to the new
        one), the new row is ``active``; the ``correct`` entry carries the new commitment,
        ``links = [old]``, the reason, the new attributes and signature.

        Raises:
            InvalidInput: the first broken rule, in this order: ``requested_by`` /
                ``actor.missing``; ``confirmed_by`` / ``correct.confirmer_missing`` or
                ``correct.confirmer_same``; the signature shape (``signature.*``); a full
                record (``commitment.redacted``) and ``commitment`` / ``commitment.mismatch``;
                the field rules (:func:`node.core.rules.validation.validate_certificate`);
                ``old_commitment`` / ``certificate.unknown`` or ``certificate.province``;
                ``status`` / ``certificate.final``; ``certificate_number`` /
                ``correction.number``; the reason (:func:`node.core.rules.reasons.check_correction`:
                ``reason`` / ``correct.nothing_changed``, ``correct.reason_mismatch``,
                ``id_number`` / ``correct.name_and_id_number``); ``id_number`` /
                ``correct.lineage_name_and_id_number`` (name and ID number both differ from the
                lineage's original, :func:`node.core.rules.reasons.check_lineage`); ``commitment`` /
                ``certificate.duplicate``; ``organisation_code`` / ``organisation.unknown``,
                ``organisation.not_active``; ``occupation_code`` / ``scope.occupation``,
                ``level`` / ``scope.level``; ``key_id`` / ``signature.unknown_key``,
                ``signature.key_not_valid``, ``signature_suite`` /
                ``signature.suite_mismatch``, ``signature`` / ``signature.invalid``; for a
                province signature ``maintenance.organisation_active``,
                ``maintenance.key_missing``, ``maintenance.signature``; ``note`` /
                ``note.personal_data``. Nothing is written.
        """
        return self._run(
            session,
            lambda s: self._correct(
                s,
                old_commitment,
                salted,
                signature,
                reason,
                requested_by,
                confirmed_by,
                commitment,
                note,
                maintenance_key,
            ),
        )

    def _correct(
        self,
        session: Session,
        old_commitment: bytes,
        salted: SaltedCertificate,
        signature: Signature,
        code: int,
        requested_by: str,
        confirmed_by: str | None,
        expected_commitment: bytes | None,
        note: str | None,
        maintenance_key: bytes | None = None,
    ) -> LifecycleOutcome:
        # 1. Who asks and who confirms (data guide art. 14: the province confirms).
        check_actor("requested_by", requested_by)
        if confirmed_by is None or not isinstance(confirmed_by, str) or not confirmed_by.strip():
            raise InvalidInput(
                "confirmed_by",
                "correct.confirmer_missing",
                "a correction needs the confirming province operator (data guide art. 14)",
            )
        check_actor("confirmed_by", confirmed_by)
        if confirmed_by.strip() == requested_by.strip():
            raise InvalidInput(
                "confirmed_by",
                "correct.confirmer_same",
                "the confirming operator must not be the requester (data guide art. 14)",
            )
        # 2. The new version: signature shape, full record, commitment, field rules.
        check_signature_shape(signature)
        certificate = salted.certificate()
        commitment = salted.commitment()
        if expected_commitment is not None and expected_commitment != commitment:
            raise InvalidInput(
                "commitment",
                "commitment.mismatch",
                "the commitment recomputed from the fields and salts differs from the one sent",
            )
        now = self._clock()
        validate_certificate(
            certificate,
            today=now.astimezone(CHINA_STANDARD_TIME).date(),
            qualification_number=self._qualification_number,
        )
        # 3. The old version: known, this province's, not final.
        certificates = CertificateRepository(session, self._cipher, self._index)
        old = self._current(session, certificates, "old_commitment", old_commitment)
        self._check_transition(ACTION_CORRECT, old)
        # 4. Same number (so the same organisation, year, level and serial), a reason that
        #    names what changed, never both holder name and ID number (data guide art. 14).
        if certificate.certificate_number != old.certificate_number:
            raise InvalidInput(
                "certificate_number",
                "correction.number",
                "a correction keeps the certificate number (data guide art. 14)",
            )
        previous = certificates.salted(old).certificate()
        if certificate.certificate_type != previous.certificate_type:
            raise InvalidInput(
                "certificate_type",
                "correction.certificate_type",
                f"a correction keeps the certificate type ({previous.certificate_type})",
            )
        changed = changed_fields(previous, certificate)
        reason = check_correction(changed, code)
        original = _original(certificates, old)
        if original is not old:
            check_lineage(changed_fields(certificates.salted(original).certificate(), certificate))
        if certificates.get(commitment) is not None:
            raise InvalidInput("commitment", "certificate.duplicate", "commitment already stored")
        # 5. As at intake: organisation filed here and active, scope, signature.
        organisations = OrganisationRepository(session)
        # The issuer's registry code: a special_ability certificate names its examining body.
        registry_code = registry_code_of(certificate, self._province)
        filed = organisations.get(registry_code)
        terminated = (
            filed is not None and filed.province == self._province and filed.status == "terminated"
        )
        if signature.by_province:
            if filed is None or filed.province != self._province:
                raise InvalidInput(
                    "organisation_code",
                    "organisation.unknown",
                    "the organisation is not filed in this province",
                )
            if not terminated:
                raise InvalidInput(
                    "organisation_code",
                    "maintenance.organisation_active",
                    f"the organisation is {filed.status}: the province maintains only a "
                    "terminated or vanished organisation's certificates (seed 002 第十六条); "
                    "the organisation signs its own corrections",
                )
            check_scope(certificate, filed_scope(filed.scope))
            check_maintenance_signature(signature, maintenance_key, commitment, self._network)
        else:
            if terminated:
                raise InvalidInput(
                    "signature",
                    "maintenance.province_required",
                    "the organisation is terminated: its certificates are maintained by the "
                    "province, which signs the correction (seed 002 第十六条; "
                    "`certreg node correct --by-province`)",
                )
            organisation = active_organisation(organisations, registry_code, self._province)
            check_scope(certificate, filed_scope(organisation.scope))
            check_issuer_signature(
                organisations, organisation, signature, certificate, commitment, self._network
            )
        check_note(note, previous, certificate)

        certificates.add_correction(old_commitment, salted, signature=signature, submitted_at=now)
        entry = LogEntry(
            kind=ACTION_CORRECT,
            province=self._province,
            organisation_code=registry_code,
            certificate_number=certificate.certificate_number,
            commitment=commitment,
            links=(old_commitment,),
            reason=int(reason),
            attributes=Attributes.of(certificate),
            signature=signature,
        )
        [index] = ProvinceLog(session, self._province).append([entry], now=now)
        certificates.mark_logged(commitment, index)
        AuditTrail(session).record(
            actor=confirmed_by,
            action=ACTION_CORRECT,
            target_type="certificate",
            target_id=old_commitment.hex(),
            now=now,
            reason=int(reason),
            note=note,
            details={
                "certificate_number": certificate.certificate_number,
                "log_index": index,
                "successor": commitment.hex(),
                "requested_by": requested_by,
                "confirmed_by": confirmed_by,
                "changed_fields": sorted(changed),
                "from_status": old.status,
            },
        )
        log.info(
            "corrected certificate %s (reason %d) at log index %d of province %s",
            certificate.certificate_number,
            reason,
            index,
            self._province,
        )
        return LifecycleOutcome(
            kind=ACTION_CORRECT,
            certificate_number=certificate.certificate_number,
            commitment=commitment,
            log_index=index,
            reason=reason,
            status="active",
            supersedes=old_commitment,
        )

    # ----------------------------------------------------------------------------------------
    # Shared checks

    def _current(
        self,
        session: Session,
        certificates: CertificateRepository,
        field: str,
        commitment: bytes,
    ) -> CertificateRecord:
        """Lock and return the certificate ``commitment`` of this province.

        The row lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has one writer) makes two
        concurrent changes of one certificate queue, so the second sees the first's status.

        Raises:
            InvalidInput: ``field`` / ``certificate.unknown`` or ``certificate.province``.
        """
        if not isinstance(commitment, bytes) or len(commitment) != 32:
            raise InvalidInput(field, "certificate.unknown", "must be a 32-byte commitment")
        session.execute(
            select(_CERTS.c.id).where(_CERTS.c.commitment == commitment).with_for_update()
        )
        record = certificates.get(commitment)
        if record is None:
            raise InvalidInput(field, "certificate.unknown", "no certificate with this commitment")
        if record.province != self._province:
            raise InvalidInput(
                field,
                "certificate.province",
                f"only the issuing province changes a certificate; this node is {self._province}",
            )
        return record

    @staticmethod
    def _check_transition(action: str, record: CertificateRecord) -> None:
        """Refuse a change the contract would refuse (docs/CONTRACT.md "Certificate status").

        Raises:
            InvalidInput: ``status`` / ``certificate.final`` (revoked, superseded or deleted)
                or ``certificate.transition`` (e.g. reinstating an active certificate).
        """
        if record.status in FINAL_STATUSES or record.superseded_by is not None:
            raise InvalidInput(
                "status", "certificate.final", f"the certificate is {record.status}; final"
            )
        if record.status not in ALLOWED_FROM[action]:
            raise InvalidInput(
                "status",
                "certificate.transition",
                f"cannot {action} a certificate that is {record.status}",
            )


def check_maintenance_signature(
    signature: Signature, maintenance_key: bytes | None, commitment: bytes, network: Network
) -> None:
    """Check a province-signed correction's signature with the province's maintenance key.

    Raises:
        InvalidInput: ``key_id`` / ``entry.province_signature`` (not key id 3); ``signature`` /
            ``maintenance.key_missing`` (the province published no
            maintenance key on the contract) or ``maintenance.signature`` (not an Ed25519
            signature by that key over the commitment).
    """
    if signature.key_id != MAINTENANCE_KEY_PURPOSE:
        raise InvalidInput(
            "key_id",
            "entry.province_signature",
            f"the province signs with its maintenance key: key_id {MAINTENANCE_KEY_PURPOSE}",
        )
    if maintenance_key is None:
        raise InvalidInput(
            "signature",
            "maintenance.key_missing",
            "the province has published no maintenance key (setMemberKey purpose "
            f"{MAINTENANCE_KEY_PURPOSE})",
        )
    message = signing_message(network.chain_id, network.contract, commitment)
    try:
        if signature.suite != "ed25519":
            raise VerificationError("the maintenance key is Ed25519")
        get_suite("ed25519").verify(maintenance_key, message, signature.value)
    except VerificationError as exc:
        raise InvalidInput(
            "signature",
            "maintenance.signature",
            "not signed by the province's published maintenance key",
        ) from exc


def _original(certificates: CertificateRepository, record: CertificateRecord) -> CertificateRecord:
    """The first version of ``record``'s lineage: follow the ``superseded_by`` links back
    among the versions stored under its certificate number (a correction keeps the number)."""
    by_successor = {
        version.superseded_by: version
        for version in certificates.history(record.certificate_number)
        if version.superseded_by is not None
    }
    current = record
    seen = {current.commitment}
    while (previous := by_successor.get(current.commitment)) is not None:
        if previous.commitment in seen:  # a cycle cannot be stored; stop rather than loop
            break
        seen.add(previous.commitment)
        current = previous
    return current


__all__ = [
    "ALLOWED_FROM",
    "FINAL_STATUSES",
    "LifecycleOutcome",
    "LifecycleService",
    "changed_fields",
    "check_actor",
    "check_maintenance_signature",
    "check_note",
]
