"""The compact text form of a bundle, for QR codes.

``CR1:`` + Base64url (no padding) of raw DEFLATE (level 9) of a CBOR array holding the bundle's
values in a fixed order, hex strings as byte strings. Decoding gives back the identical bundle.
A bundle with every field disclosed and a 24-hash proof fits a version 40 QR code at error
correction level M (2,331 bytes in byte mode).

Array version 1 is a format-1 bundle without cosignatures, array version 3 a format-2 bundle (the
certificate's type committed: thirteen fields, and the type's index in ``CERTIFICATE_TYPES`` after
the entry's four attributes) without cosignatures. A bundle with cosignatures (its ``witness``) is
array version 2, of either format (twelve or thirteen fields), which leaves out every value the rest
determines, so that the cosignatures still fit: the entry's province, organisation code, number and
attributes (the disclosed fields), its commitment (recomputed from the fields), the anchor's
province and tree size (the entry's, the proof's) and its root (recomputed from the leaf and the
proof). Only a bundle whose values agree can be written so (``compact.inconsistent`` otherwise).
"""

from __future__ import annotations

import base64
import re
import zlib
from typing import Any

import cbor2

from node.core import safejson
from node.core.certificate import (
    CERTIFICATE_TYPES,
    FIELD_NAMES,
    FIELD_NAMES_V2,
    TYPE_FIELD,
    FieldValue,
)
from node.core.errors import InvalidInput, VerificationError
from node.core.formats.bundle import AnchorRef, Bundle, InclusionProof, field_names_of
from node.core.formats.commitment import (
    Disclosed,
    FieldProof,
    Redacted,
    SaltedCertificate,
    commitment_of,
)
from node.core.formats.entry import (
    CERTIFICATE_KINDS,
    ENTRY_KINDS,
    SIGNERS,
    SUITES,
    Attributes,
    LogEntry,
    Signature,
)
from node.core.formats.snapshot import Network
from node.core.formats.trust import ProvinceSignature, Witness
from node.core.merkle import root_from_inclusion

PREFIX = "CR1:"
QR_CAPACITY_M = 2331  # bytes, QR version 40, error correction level M, byte mode
MAX_COMPRESSED = 16 * 1024
MAX_DECOMPRESSED = 64 * 1024
#: The deepest nesting of CBOR arrays and maps accepted (the bundle array is 3 deep).
MAX_CBOR_DEPTH = 16
_ARGUMENT_SIZES = {24: 1, 25: 2, 26: 4, 27: 8}
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
#: A bundle's JSON text larger than this is refused (``json.size``); real ones are a few KiB.
MAX_BUNDLE_BYTES = 1024 * 1024


def _fields(bundle: Bundle) -> list[Any]:
    fields: list[Any] = []
    for name in field_names_of(bundle.version):
        proof = bundle.certificate.fields[name]
        fields.append(proof.hash if isinstance(proof, Redacted) else [proof.value, proof.salt])
    return fields


def _pack(array: list[Any]) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = compressor.compress(cbor2.dumps(array)) + compressor.flush()
    return PREFIX + base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def encode_compact(bundle: Bundle) -> str:
    """Return the compact text form of a bundle (array version 2 when it has a witness).

    Raises:
        InvalidInput: ``compact.inconsistent``: a bundle with a witness whose values do not
            agree (array version 2 cannot hold it).
    """
    if bundle.witness is not None:
        return _pack(_array_v2(bundle, bundle.witness))
    entry = bundle.entry
    fields = _fields(bundle)
    attributes = entry.attributes
    signature = entry.signature
    array = [
        1 if bundle.version == 1 else 3,
        bundle.network.chain_id,
        bundle.network.contract,
        fields,
        [
            ENTRY_KINDS.index(entry.kind),
            entry.province,
            entry.organisation_code,
            entry.certificate_number,
            entry.commitment,
            list(entry.links),
            entry.reason,
            None
            if attributes is None
            else [
                attributes.issue_date,
                attributes.level,
                attributes.occupation_code,
                attributes.work_type_code,
                # Format 2 adds the type's index in CERTIFICATE_TYPES.
                *(
                    []
                    if attributes.certificate_type is None
                    else [CERTIFICATE_TYPES.index(attributes.certificate_type)]
                ),
            ],
            None if signature is None else _signature_array(signature),
        ],
        [bundle.proof.leaf_index, bundle.proof.tree_size, list(bundle.proof.hashes)],
        [
            bundle.anchor.province,
            bundle.anchor.checkpoint_index,
            bundle.anchor.tree_size,
            bundle.anchor.root,
            bundle.anchor.block_number,
            bundle.anchor.transaction_hash,
        ],
    ]
    return _pack(array)


def _array_v2(bundle: Bundle, witness: Witness) -> list[Any]:
    """Array version 2 (see the module docstring), after checking that the values it leaves
    out are exactly the ones decoding rebuilds."""
    entry, proof, anchor = bundle.entry, bundle.proof, bundle.anchor
    if _derived(bundle) != (entry, anchor):
        raise InvalidInput(
            "compact",
            "compact.inconsistent",
            "a bundle with cosignatures is written compactly only when its entry and anchor "
            "agree with its fields and proof",
        )
    signature = entry.signature
    assert signature is not None  # _derived checked the kind
    return [
        2,
        bundle.network.chain_id,
        bundle.network.contract,
        _fields(bundle),
        [
            ENTRY_KINDS.index(entry.kind),
            list(entry.links),
            entry.reason,
            _signature_array(signature),
        ],
        [proof.leaf_index, proof.tree_size, list(proof.hashes)],
        [anchor.checkpoint_index, anchor.block_number, anchor.transaction_hash],
        [
            witness.timestamp,
            witness.previous_size,
            [[int(c.province), c.signature] for c in witness.cosignatures],
        ],
    ]


def _derived(bundle: Bundle) -> tuple[LogEntry, AnchorRef] | None:
    """The entry and anchor that array version 2 rebuilds from the bundle's other values."""
    entry, anchor = bundle.entry, bundle.anchor
    if entry.kind not in CERTIFICATE_KINDS or entry.signature is None:
        return None
    return _derive(
        bundle.certificate,
        entry.kind,
        entry.links,
        entry.reason,
        entry.signature,
        bundle.proof,
        (anchor.checkpoint_index, anchor.block_number, anchor.transaction_hash),
    )


def _derive(
    certificate: SaltedCertificate,
    kind: str,
    links: tuple[bytes, ...],
    reason: int | None,
    signature: Signature,
    proof: InclusionProof,
    anchor: tuple[int, int, bytes],
) -> tuple[LogEntry, AnchorRef] | None:
    """The entry and anchor rebuilt from the fields, the proof and the values array version 2
    keeps (None when they cannot be: a public field redacted, an entry the rules refuse, a
    proof that leads nowhere)."""
    values: dict[str, Any] = {}
    public: tuple[str, ...] = ("certificate_number", "organisation_code", "issue_date", "level",
                               "occupation_code", "work_type_code")  # fmt: skip
    if TYPE_FIELD in certificate.fields:
        public += (TYPE_FIELD,)
    for name in public:
        field = certificate.fields[name]
        if not isinstance(field, Disclosed):
            return None
        values[name] = field.value
    number = values["certificate_number"]
    try:
        entry = LogEntry(
            kind=kind,
            province=str(number)[5:7],
            organisation_code=values["organisation_code"],
            certificate_number=number,
            commitment=commitment_of(certificate.field_hashes().values()),
            links=links,
            reason=reason,
            attributes=Attributes(
                values["issue_date"],
                values["level"],
                values["occupation_code"],
                values["work_type_code"],
                values.get(TYPE_FIELD),
            ),
            signature=signature,
        )
        root = root_from_inclusion(
            entry.leaf_hash(), proof.leaf_index, proof.tree_size, proof.hashes
        )
    except (VerificationError, InvalidInput, ValueError, TypeError):
        return None
    checkpoint_index, block_number, transaction_hash = anchor
    return entry, AnchorRef(
        province=entry.province,
        checkpoint_index=checkpoint_index,
        tree_size=proof.tree_size,
        root=root,
        block_number=block_number,
        transaction_hash=transaction_hash,
    )


def decode_compact(text: str) -> Bundle:
    """Parse the compact text form back into a bundle, strictly: the exact prefix, canonical
    Base64url (the alphabet only, no padding, no whitespace, zero unused bits), one DEFLATE
    stream with nothing after it, and one CBOR item of the kinds the encoder writes, nested at
    most :data:`MAX_CBOR_DEPTH` deep, with nothing after it. One bundle has one compact text.

    Raises:
        InvalidInput: the text is not a valid compact bundle (field ``compact``; rules
            ``compact.prefix``, ``compact.size``, ``compact.base64``, ``compact.deflate``,
            ``compact.trailing``, ``compact.cbor``, ``compact.encoding``, ``compact.structure``).
    """
    if not text.startswith(PREFIX):
        raise InvalidInput("compact", "compact.prefix", f"must start with {PREFIX!r}")
    body = text[len(PREFIX) :]
    if len(body) > MAX_COMPRESSED * 2:
        raise InvalidInput("compact", "compact.size", "too long")
    if not _BASE64URL.fullmatch(body) or len(body) % 4 == 1:
        raise InvalidInput("compact", "compact.base64", "must be unpadded Base64url")
    packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    if base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii") != body:
        raise InvalidInput("compact", "compact.base64", "not canonical Base64url (unused bits)")
    try:
        inflater = zlib.decompressobj(-15)
        raw = inflater.decompress(packed, MAX_DECOMPRESSED)
    except zlib.error as exc:
        raise InvalidInput("compact", "compact.encoding", "cannot inflate") from exc
    if inflater.unconsumed_tail or not inflater.eof:
        raise InvalidInput("compact", "compact.deflate", "truncated or too large")
    if inflater.unused_data:
        raise InvalidInput("compact", "compact.trailing", "data after the DEFLATE stream")
    check_cbor(raw)
    try:
        array = cbor2.loads(raw)
    except (ValueError, RecursionError, cbor2.CBORDecodeError) as exc:
        raise InvalidInput("compact", "compact.encoding", "cannot decode the CBOR") from exc
    try:
        bundle = _from_array(array)
    except InvalidInput as exc:
        if exc.field.startswith("compact"):
            raise
        raise InvalidInput(f"compact.{exc.field}", exc.rule, exc.message) from exc
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise InvalidInput("compact", "compact.structure", f"unexpected structure: {exc}") from exc
    # Re-read through the strict JSON parser so both forms obey exactly the same rules.
    return Bundle.from_json(bundle.to_json())


def check_cbor(data: bytes) -> None:
    """Check, without recursion, that ``data`` is exactly one CBOR item of the kinds the encoder
    writes (unsigned and negative integers, byte and text strings, arrays and maps of definite
    length, false, true, null) nested at most :data:`MAX_CBOR_DEPTH` deep, with nothing after it
    (the rules of the browser's decoder, ``api/static/js/cbor.js``).

    Raises:
        InvalidInput: ``compact.cbor``.
    """

    def refuse(message: str) -> InvalidInput:
        return InvalidInput("compact", "compact.cbor", message)

    at = 0
    # Items still to read at each open level; the top level expects one item.
    pending = [1]
    while pending:
        if pending[-1] == 0:
            pending.pop()
            continue
        pending[-1] -= 1
        if at >= len(data):
            raise refuse("truncated")
        head = data[at]
        at += 1
        major, info = head >> 5, head & 31
        if info < 24:
            argument = info
        elif info in _ARGUMENT_SIZES:
            size = _ARGUMENT_SIZES[info]
            if at + size > len(data):
                raise refuse("truncated")
            argument = int.from_bytes(data[at : at + size], "big")
            at += size
        else:
            raise refuse("unsupported length encoding")
        if major in (2, 3):
            if argument > len(data) - at:
                raise refuse("length beyond input")
            at += argument
        elif major in (4, 5):
            count = argument * (2 if major == 5 else 1)
            if count > len(data) - at:
                raise refuse("length beyond input")
            if len(pending) > MAX_CBOR_DEPTH:
                raise refuse("nested too deeply")
            pending.append(count)
        elif major == 6:
            raise refuse("tags are not supported")
        elif major == 7 and head not in (0xF4, 0xF5, 0xF6):
            raise refuse("unsupported simple value or float")
    if at != len(data):
        raise refuse("trailing bytes")


def _bytes(value: Any, size: int | None = None) -> bytes:
    if not isinstance(value, bytes) or (size is not None and len(value) != size):
        raise InvalidInput("compact", "compact.structure", "expected a byte string")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("compact", "compact.structure", "expected an integer")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput("compact", "compact.structure", "expected a string")
    return value


def _index(options: tuple[str, ...], value: Any) -> str:
    index = _int(value)
    if not 0 <= index < len(options):
        raise InvalidInput("compact", "compact.structure", "unknown enumeration value")
    return options[index]


def _field_proofs(fields: Any, names: tuple[str, ...] | None = None) -> dict[str, FieldProof]:
    """The field proofs; ``names`` the format's fields (None: either format, by the count)."""
    if names is None:
        names = FIELD_NAMES_V2 if len(fields) == len(FIELD_NAMES_V2) else FIELD_NAMES
    if len(fields) != len(names):
        raise InvalidInput("compact", "compact.structure", "wrong number of fields")
    proofs: dict[str, FieldProof] = {}
    for name, item in zip(names, fields, strict=True):
        if isinstance(item, bytes):
            proofs[name] = Redacted(_bytes(item, 32))
        else:
            value, salt = item
            typed: FieldValue = _int(value) if name == "level" else _str(value)
            proofs[name] = Disclosed(typed, _bytes(salt, 32))
    return proofs


def _attributes(item: Any, version: int) -> Attributes:
    """An entry's attributes: four, and in format 2 the type's index as a fifth."""
    if not isinstance(item, list) or len(item) != (5 if version == 2 else 4):
        raise InvalidInput("compact", "compact.structure", "wrong number of attributes")
    return Attributes(
        _str(item[0]),
        _int(item[1]),
        _str(item[2]),
        _str(item[3]),
        _index(CERTIFICATE_TYPES, item[4]) if version == 2 else None,
    )


def _signature_array(signature: Signature) -> list[Any]:
    """``[suite index, key id, value]``, and a province's signature adds its signer's index in
    ``SIGNERS`` (so an organisation's keeps its bytes)."""
    out: list[Any] = [SUITES.index(signature.suite), signature.key_id, signature.value]
    if signature.signer is not None:
        out.append(SIGNERS.index(signature.signer))
    return out


def _signature(array: Any) -> Signature:
    if not isinstance(array, list) or len(array) not in (3, 4):
        raise InvalidInput("compact", "compact.structure", "a signature has 3 or 4 values")
    signer = None if len(array) == 3 else _index(SIGNERS, array[3])
    return Signature(_index(SUITES, array[0]), _int(array[1]), _bytes(array[2]), signer=signer)


def _from_array(array: Any) -> Bundle:
    if isinstance(array, list) and array and array[0] == 2:
        return _from_array_v2(array)
    version, chain_id, contract, fields, entry, proof, anchor = array
    if type(version) is not int or version not in (1, 3):
        raise InvalidInput("compact", "compact.version", "unsupported version")
    bundle_version = 1 if version == 1 else 2
    proofs = _field_proofs(fields, field_names_of(bundle_version))
    kind, province, org, number, commitment, links, reason, attributes, signature = entry
    leaf_index, tree_size, hashes = proof
    a_province, cp_index, a_size, root, block, tx = anchor
    return Bundle(
        network=Network(_int(chain_id), _bytes(contract, 20)),
        certificate=SaltedCertificate(proofs),
        entry=LogEntry(
            kind=_index(ENTRY_KINDS, kind),
            province=_str(province),
            organisation_code=_str(org),
            certificate_number=_str(number),
            commitment=_bytes(commitment, 32),
            links=tuple(_bytes(link, 32) for link in links),
            reason=None if reason is None else _int(reason),
            attributes=None if attributes is None else _attributes(attributes, bundle_version),
            signature=None if signature is None else _signature(signature),
        ),
        proof=InclusionProof(
            _int(leaf_index), _int(tree_size), tuple(_bytes(h, 32) for h in hashes)
        ),
        anchor=AnchorRef(
            _str(a_province),
            _int(cp_index),
            _int(a_size),
            _bytes(root, 32),
            _int(block),
            _bytes(tx, 32),
        ),
    )


def _from_array_v2(array: Any) -> Bundle:
    _, chain_id, contract, fields, entry, proof, anchor, witness = array
    kind, links, reason, signature = entry
    leaf_index, tree_size, hashes = proof
    cp_index, block, tx = anchor
    timestamp, previous_size, cosignatures = witness
    certificate = SaltedCertificate(_field_proofs(fields))
    inclusion = InclusionProof(
        _int(leaf_index), _int(tree_size), tuple(_bytes(h, 32) for h in hashes)
    )
    derived = _derive(
        certificate,
        _index(CERTIFICATE_KINDS, kind),
        tuple(_bytes(link, 32) for link in links),
        None if reason is None else _int(reason),
        _signature(signature),
        inclusion,
        (_int(cp_index), _int(block), _bytes(tx, 32)),
    )
    if derived is None:
        raise InvalidInput(
            "compact", "compact.structure", "version 2 needs the public fields and a valid proof"
        )
    return Bundle(
        network=Network(_int(chain_id), _bytes(contract, 20)),
        certificate=certificate,
        entry=derived[0],
        proof=inclusion,
        anchor=derived[1],
        witness=Witness(
            _int(timestamp),
            _int(previous_size),
            tuple(
                ProvinceSignature(f"{_int(province):02d}", _bytes(value))
                for province, value in cosignatures
            ),
        ),
    )


def parse_bundle_text(text: str) -> Any:
    """Return a bundle's JSON object from its JSON text or its compact form.

    Raises:
        InvalidInput: the text is neither (field ``bundle`` or ``compact``).
    """
    stripped = text.strip()
    if stripped.startswith(PREFIX):
        return decode_compact(stripped).to_json()
    return safejson.loads(stripped, "bundle", max_bytes=MAX_BUNDLE_BYTES, rule="bundle.json")
