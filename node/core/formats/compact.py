"""The compact text form of a bundle, for QR codes.

``CR1:`` + Base64url (no padding) of raw DEFLATE (level 9) of a CBOR array holding the bundle's
values in a fixed order, hex strings as byte strings. Decoding gives back the identical bundle.
A bundle with every field disclosed and a 24-hash proof fits a version 40 QR code at error
correction level M (2,331 bytes in byte mode).
"""

from __future__ import annotations

import base64
import re
import zlib
from typing import Any

import cbor2

from node.core import safejson
from node.core.certificate import CERTIFICATE_TYPES, FieldValue
from node.core.errors import InvalidInput
from node.core.formats.bundle import AnchorRef, Bundle, InclusionProof, field_names_of
from node.core.formats.commitment import Disclosed, FieldProof, Redacted, SaltedCertificate
from node.core.formats.entry import ENTRY_KINDS, SUITES, Attributes, LogEntry, Signature
from node.core.formats.snapshot import Network

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


def encode_compact(bundle: Bundle) -> str:
    """Return the compact text form of a bundle."""
    entry = bundle.entry
    fields: list[Any] = []
    for name in field_names_of(bundle.version):
        proof = bundle.certificate.fields[name]
        fields.append(proof.hash if isinstance(proof, Redacted) else [proof.value, proof.salt])
    attributes = entry.attributes
    signature = entry.signature
    array = [
        bundle.version,
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
            None
            if signature is None
            else [SUITES.index(signature.suite), signature.key_id, signature.value],
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
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = compressor.compress(cbor2.dumps(array)) + compressor.flush()
    return PREFIX + base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


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


def _attributes(item: Any, version: int) -> Attributes:
    if not isinstance(item, list) or len(item) != (5 if version == 2 else 4):
        raise InvalidInput("compact", "compact.structure", "wrong number of attributes")
    return Attributes(
        _str(item[0]),
        _int(item[1]),
        _str(item[2]),
        _str(item[3]),
        _index(CERTIFICATE_TYPES, item[4]) if version == 2 else None,
    )


def _from_array(array: Any) -> Bundle:
    version, chain_id, contract, fields, entry, proof, anchor = array
    if type(version) is not int or version not in (1, 2):
        raise InvalidInput("compact", "compact.version", "unsupported version")
    names = field_names_of(version)
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
            attributes=None if attributes is None else _attributes(attributes, version),
            signature=None
            if signature is None
            else Signature(_index(SUITES, signature[0]), _int(signature[1]), _bytes(signature[2])),
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


def parse_bundle_text(text: str) -> Any:
    """Return a bundle's JSON object from its JSON text or its compact form.

    Raises:
        InvalidInput: the text is neither (field ``bundle`` or ``compact``).
    """
    stripped = text.strip()
    if stripped.startswith(PREFIX):
        return decode_compact(stripped).to_json()
    return safejson.loads(stripped, "bundle", max_bytes=MAX_BUNDLE_BYTES, rule="bundle.json")
