"""The published JSON Schemas (``schemas/``) against the strict Python parsers.

The parsers (``Bundle.from_json``, ``LogEntry.from_json``, ``Snapshot.from_json``) are
authoritative. These tests check that the samples are valid under the schemas, that the schemas
are themselves valid draft 2020-12 schemas, and that the schema and the parser agree on a list of
mutated documents: each one is refused by both (or, for the few listed, accepted by both).
The rules JSON Schema cannot express are pinned in ``KNOWN_GAPS``: the schema accepts them, the
parser refuses them.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from certreg.dev.sample import make_sample
from node.core.errors import InvalidInput
from node.core.formats.bundle import Bundle
from node.core.formats.snapshot import Snapshot

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = ROOT / "schemas"
SUITES = ("ed25519", "ecdsa-secp256k1", "sm2-sm3")
HEX64 = "ab" * 32
TX = "0x" + "cd" * 32
CJK = re.compile(r"[\u4e00-\u9fff]")

Doc = dict[str, Any]
Mutation = Callable[[Doc], None]
Key = str | int


@functools.cache
def _schema(name: str) -> Doc:
    value: Doc = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    return value


@functools.cache
def _validator(name: str) -> Any:
    return Draft202012Validator(_schema(name))


def _schema_accepts(name: str, doc: Any) -> bool:
    return bool(_validator(name).is_valid(doc))


def _parser_accepts(name: str, doc: Any) -> bool:
    parse: Callable[[Any], object] = Bundle.from_json if name == "bundle" else Snapshot.from_json
    try:
        parse(doc)
    except InvalidInput:
        return False
    return True


@functools.cache
def _sample_json(suite: str) -> tuple[Doc, Doc, Doc]:
    sample = make_sample(1, suite)
    return sample.bundle.to_json(), sample.redacted.to_json(), sample.snapshot.to_json()


def _bundle() -> Doc:
    return copy.deepcopy(_sample_json("ed25519")[0])


def _snapshot() -> Doc:
    """The sample snapshot plus one status record, so that records can be mutated too."""
    doc = copy.deepcopy(_sample_json("ed25519")[2])
    doc["statuses"].append(
        {
            "province": "44",
            "commitment": HEX64,
            "status": "superseded",
            "reason": 3,
            "successor": "ef" * 32,
            "block_number": 30,
            "timestamp": 1767229000,
            "transaction_hash": TX,
        }
    )
    return doc


def _set(*path: Key, value: Any) -> Mutation:
    def mutate(doc: Doc) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(*path: Key) -> Mutation:
    def mutate(doc: Doc) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def _all(*mutations: Mutation) -> Mutation:
    def mutate(doc: Doc) -> None:
        for mutation in mutations:
            mutation(doc)

    return mutate


def _status_entry(kind: str) -> Mutation:
    """Turn the bundle's entry into a well-formed status entry of ``kind``."""
    return _all(
        _set("entry", "kind", value=kind),
        _set("entry", "reason", value=1),
        _set("entry", "attributes", value=None),
        _set("entry", "signature", value=None),
    )


_correct_entry = _all(
    _set("entry", "kind", value="correct"),
    _set("entry", "links", value=[HEX64]),
    _set("entry", "reason", value=2),
)

BUNDLE_REFUSED: list[tuple[str, Mutation]] = [
    # unknown keys
    ("unknown top-level key", _set("extra", value=1)),
    ("unknown key in network", _set("network", "extra", value=1)),
    ("unknown field in fields", _set("fields", "nickname", value={"hash": HEX64})),
    ("unknown key in a disclosed field", _set("fields", "holder_name", "extra", value=1)),
    ("unknown key in a redacted field", _set("fields", "id_number", "extra", value=1)),
    ("unknown key in entry", _set("entry", "extra", value=1)),
    ("unknown key in attributes", _set("entry", "attributes", "extra", value=1)),
    ("unknown key in signature", _set("entry", "signature", "extra", value=1)),
    ("unknown key in proof", _set("proof", "extra", value=1)),
    ("unknown key in anchor", _set("anchor", "extra", value=1)),
    # missing keys
    ("missing type", _delete("type")),
    ("missing network", _delete("network")),
    ("missing field", _delete("fields", "level")),
    ("missing salt", _delete("fields", "holder_name", "salt")),
    ("missing value", _delete("fields", "holder_name", "value")),
    ("missing entry key", _delete("entry", "reason")),
    ("missing attribute", _delete("entry", "attributes", "level")),
    ("missing signature key", _delete("entry", "signature", "key_id")),
    ("missing proof hashes", _delete("proof", "hashes")),
    ("missing anchor root", _delete("anchor", "root")),
    ("missing chain id", _delete("network", "chain_id")),
    ("empty fields object", _set("fields", value={})),
    # constants and wrong types
    ("wrong type", _set("type", value="certreg.snapshot")),
    ("version 2", _set("version", value=2)),
    ("version as string", _set("version", value="1")),
    ("version as boolean", _set("version", value=True)),
    ("entry v 2", _set("entry", "v", value=2)),
    ("entry v as boolean", _set("entry", "v", value=True)),
    ("fields is an array", _set("fields", value=[])),
    ("entry is null", _set("entry", value=None)),
    ("field is a string", _set("fields", "holder_name", value="张三")),
    ("text value is a number", _set("fields", "holder_name", "value", value=3)),
    ("text value is null", _set("fields", "holder_name", "value", value=None)),
    ("level value is a string", _set("fields", "level", "value", value="3")),
    ("level value is a boolean", _set("fields", "level", "value", value=True)),
    ("chain id is a string", _set("network", "chain_id", value="31337")),
    ("chain id 0", _set("network", "chain_id", value=0)),
    ("chain id beyond 2**53", _set("network", "chain_id", value=2**53)),
    ("leaf index negative", _set("proof", "leaf_index", value=-1)),
    ("leaf index fractional", _set("proof", "leaf_index", value=1.5)),
    ("tree size 0", _set("proof", "tree_size", value=0)),
    ("tree size beyond uint64", _set("proof", "tree_size", value=2**64)),
    ("tree size 2**53", _set("proof", "tree_size", value=2**53)),
    ("leaf index 2**53", _set("proof", "leaf_index", value=2**53)),
    ("anchor tree size 0", _set("anchor", "tree_size", value=0)),
    ("anchor checkpoint index is null", _set("anchor", "checkpoint_index", value=None)),
    ("block number is a string", _set("anchor", "block_number", value="17")),
    ("proof hashes is an object", _set("proof", "hashes", value={})),
    ("links is null", _set("entry", "links", value=None)),
    ("key id beyond uint32", _set("entry", "signature", "key_id", value=2**32)),
    ("reason beyond uint16", _set("entry", "reason", value=65536)),
    ("reason is a string", _set("entry", "reason", value="1")),
    ("attributes is a list", _set("entry", "attributes", value=[])),
    # levels
    ("level 6", _set("fields", "level", "value", value=6)),
    ("level 0", _set("fields", "level", "value", value=0)),
    ("attribute level 6", _set("entry", "attributes", "level", value=6)),
    # bad hex
    ("salt uppercase", _set("fields", "holder_name", "salt", value="AB" * 32)),
    ("salt 31 bytes", _set("fields", "holder_name", "salt", value="ab" * 31)),
    ("salt 33 bytes", _set("fields", "holder_name", "salt", value="ab" * 33)),
    ("salt with 0x", _set("fields", "holder_name", "salt", value="0x" + "ab" * 31)),
    ("salt with trailing newline", _set("fields", "holder_name", "salt", value=HEX64 + "\n")),
    ("redacted hash not hex", _set("fields", "id_number", "hash", value="zz" * 32)),
    ("commitment odd length", _set("entry", "commitment", value="a" * 63)),
    ("link not hex", _all(_correct_entry, _set("entry", "links", value=["g" * 64]))),
    ("root 31 bytes", _set("anchor", "root", value="00" * 31)),
    ("proof hash bad", _set("proof", "hashes", 0, value="00" * 31)),
    ("proof hash is a number", _set("proof", "hashes", 0, value=0)),
    ("signature odd length", _set("entry", "signature", "value", value="abc")),
    ("signature empty", _set("entry", "signature", "value", value="")),
    ("signature 257 bytes", _set("entry", "signature", "value", value="00" * 257)),
    ("signature trailing newline", _set("entry", "signature", "value", value="00" * 64 + "\n")),
    ("signature uppercase", _set("entry", "signature", "value", value="AB" * 64)),
    ("contract without 0x", _set("network", "contract", value="ab" * 20)),
    ("contract EIP-55 case", _set("network", "contract", value="0x" + "AB" * 20)),
    ("contract 19 bytes", _set("network", "contract", value="0x" + "ab" * 19)),
    ("tx hash without 0x", _set("anchor", "transaction_hash", value="cd" * 32)),
    ("tx hash 0X", _set("anchor", "transaction_hash", value="0X" + "cd" * 32)),
    ("tx hash trailing newline", _set("anchor", "transaction_hash", value=TX + "\n")),
    # string shapes
    ("text value 201 characters", _set("fields", "holder_name", "value", value="张" * 201)),
    ("anchor province 90", _set("anchor", "province", value="90")),
    ("anchor province 3 digits", _set("anchor", "province", value="440")),
    ("anchor province trailing newline", _set("anchor", "province", value="44\n")),
    ("entry province a number", _set("entry", "province", value=44)),
    ("organisation code lowercase", _set("entry", "organisation_code", value="s000144011001")),
    ("certificate number 21 characters", _set("entry", "certificate_number", value="S" + "0" * 20)),
    ("issue date slashes", _set("entry", "attributes", "issue_date", value="2025/06/18")),
    ("issue date newline", _set("entry", "attributes", "issue_date", value="2025-06-18\n")),
    ("occupation code bad", _set("entry", "attributes", "occupation_code", value="6-18-01")),
    ("work type code ---", _set("entry", "attributes", "work_type_code", value="---")),
    ("work type code -- newline", _set("entry", "attributes", "work_type_code", value="--\n")),
    ("unknown suite", _set("entry", "signature", "suite", value="rsa")),
    # redacted and disclosed together
    (
        "redacted and value together",
        _set("fields", "id_number", value={"hash": HEX64, "value": "x", "salt": HEX64}),
    ),
    ("hash and value", _set("fields", "id_number", value={"hash": HEX64, "value": "x"})),
    ("hash and salt", _set("fields", "id_number", value={"hash": HEX64, "salt": HEX64})),
    ("value without salt", _set("fields", "id_number", value={"value": "x"})),
    ("empty field object", _set("fields", "id_number", value={})),
    # per-kind rules
    ("unknown kind", _set("entry", "kind", value="renew")),
    ("kind is null", _set("entry", "kind", value=None)),
    ("issue without attributes", _set("entry", "attributes", value=None)),
    ("issue without signature", _set("entry", "signature", value=None)),
    ("issue with a link", _set("entry", "links", value=[HEX64])),
    ("correct without link", _all(_correct_entry, _set("entry", "links", value=[]))),
    ("correct with two links", _all(_correct_entry, _set("entry", "links", value=[HEX64] * 2))),
    ("correct without reason", _all(_correct_entry, _set("entry", "reason", value=None))),
    ("correct without signature", _all(_correct_entry, _set("entry", "signature", value=None))),
    *[
        (
            f"{kind} entry with attributes",
            _all(
                _set("entry", "kind", value=kind),
                _set("entry", "reason", value=1),
                _set("entry", "signature", value=None),
            ),
        )
        for kind in ("revoke", "suspend", "reinstate", "delete")
    ],
    (
        "revoke entry with attributes and signature",
        _all(_set("entry", "kind", value="revoke"), _set("entry", "reason", value=1)),
    ),
    (
        "revoke entry with signature",
        _all(
            _status_entry("revoke"),
            _set("entry", "signature", value={"suite": "ed25519", "key_id": 0, "value": "00" * 64}),
        ),
    ),
    (
        "revoke entry without reason",
        _all(_status_entry("revoke"), _set("entry", "reason", value=None)),
    ),
    (
        "suspend entry with a link",
        _all(_status_entry("suspend"), _set("entry", "links", value=[HEX64])),
    ),
    # proof size
    ("65 proof hashes", _set("proof", "hashes", value=[HEX64] * 65)),
]
# Not every refusal is a mutation of a valid bundle: whole-document replacements.
BUNDLE_REFUSED_DOCS: list[tuple[str, Any]] = [
    ("bundle is an array", []),
    ("bundle is a string", "certreg.bundle"),
    ("bundle is null", None),
    ("bundle is empty", {}),
]

BUNDLE_ACCEPTED: list[tuple[str, Mutation]] = [
    ("issue with a late-upload reason", _set("entry", "reason", value=7)),
    ("correct entry", _correct_entry),
    *[
        (f"{kind} entry", _status_entry(kind))
        for kind in ("revoke", "suspend", "reinstate", "delete")
    ],
    ("empty proof", _set("proof", "hashes", value=[])),
    ("64 proof hashes", _set("proof", "hashes", value=[HEX64] * 64)),
    (
        "every text field redacted",
        _all(
            *(
                _set("fields", name, value={"hash": HEX64})
                for name in (
                    "holder_name",
                    "id_type",
                    "id_number",
                    "occupation_name",
                    "work_type_name",
                )
            )
        ),
    ),
    # The parser (not the verifier) lets entry-mirrored fields be redacted.
    ("level redacted", _set("fields", "level", value={"hash": HEX64})),
    ("empty text value", _set("fields", "organisation_name", "value", value="")),
    ("text value 200 characters", _set("fields", "holder_name", "value", value="张" * 200)),
    ("work type code --", _set("entry", "attributes", "work_type_code", value="--")),
    ("largest leaf index, 2**53 - 1", _set("proof", "leaf_index", value=2**53 - 1)),
    ("version 1.0", _set("version", value=1.0)),
]

SNAPSHOT_REFUSED: list[tuple[str, Mutation]] = [
    ("unknown top-level key", _set("extra", value=1)),
    ("unknown key in network", _set("network", "extra", value=1)),
    ("unknown key in block", _set("block", "extra", value=1)),
    ("unknown key in member", _set("members", 0, "extra", value=1)),
    ("unknown key in organisation", _set("organisations", 0, "extra", value=1)),
    ("unknown key in key", _set("organisations", 0, "keys", 0, "extra", value=1)),
    ("unknown key in checkpoint", _set("checkpoints", 0, "extra", value=1)),
    ("unknown key in status", _set("statuses", 0, "extra", value=1)),
    ("missing statuses", _delete("statuses")),
    ("missing block hash", _delete("block", "hash")),
    ("missing operators", _delete("members", 0, "operators")),
    ("missing scope hash", _delete("organisations", 0, "scope_hash")),
    ("missing valid_until", _delete("organisations", 0, "keys", 0, "valid_until")),
    ("missing manifest cid", _delete("checkpoints", 0, "manifest_cid")),
    ("missing successor", _delete("statuses", 0, "successor")),
    ("wrong type", _set("type", value="certreg.bundle")),
    ("version 2", _set("version", value=2)),
    ("version as boolean", _set("version", value=True)),
    ("members is an object", _set("members", value={})),
    ("member is a string", _set("members", 0, value="44")),
    ("block number negative", _set("block", "number", value=-1)),
    ("block timestamp is a string", _set("block", "timestamp", value="0")),
    ("block hash without 0x", _set("block", "hash", value="ab" * 32)),
    ("operator uppercase", _set("members", 0, "operators", 0, value="0x" + "AB" * 20)),
    ("operator 32 bytes", _set("members", 0, "operators", 0, value=TX)),
    ("operator is null", _set("members", 0, "operators", 0, value=None)),
    ("101 operators", _set("members", 0, "operators", value=["0x" + "ab" * 20] * 101)),
    ("1001 members", lambda doc: doc.__setitem__("members", doc["members"][:1] * 1001)),
    ("member province 9x", _set("members", 0, "province", value="91")),
    ("organisation code 12 digits", _set("organisations", 0, "code", value="S00014401100")),
    ("organisation status unknown", _set("organisations", 0, "status", value="filed")),
    ("organisation status none", _set("organisations", 0, "status", value="none")),
    ("scope hash short", _set("organisations", 0, "scope_hash", value="ab" * 31)),
    ("key suite unknown", _set("organisations", 0, "keys", 0, "suite", value="ed448")),
    ("key id beyond uint32", _set("organisations", 0, "keys", 0, "key_id", value=2**32)),
    ("public key odd", _set("organisations", 0, "keys", 0, "public_key", value="abc")),
    ("public key newline", _set("organisations", 0, "keys", 0, "public_key", value="ab\n")),
    ("valid from negative", _set("organisations", 0, "keys", 0, "valid_from", value=-1)),
    ("valid until beyond uint64", _set("organisations", 0, "keys", 0, "valid_until", value=2**64)),
    ("valid until 2**53", _set("organisations", 0, "keys", 0, "valid_until", value=2**53)),
    ("checkpoint index 2**53", _set("checkpoints", 0, "index", value=2**53)),
    ("checkpoint tree size 0", _set("checkpoints", 0, "tree_size", value=0)),
    ("checkpoint root uppercase", _set("checkpoints", 0, "root", value="AB" * 32)),
    ("checkpoint cid is a number", _set("checkpoints", 0, "manifest_cid", value=1)),
    ("checkpoint tx no 0x", _set("checkpoints", 0, "transaction_hash", value="ab" * 32)),
    ("status unknown", _set("statuses", 0, "status", value="expired")),
    ("status reason null", _set("statuses", 0, "reason", value=None)),
    ("status reason beyond uint16", _set("statuses", 0, "reason", value=65536)),
    ("status successor bad", _set("statuses", 0, "successor", value="ab")),
    ("status commitment 0x", _set("statuses", 0, "commitment", value=TX)),
]

SNAPSHOT_ACCEPTED: list[tuple[str, Mutation]] = [
    ("no statuses", _set("statuses", value=[])),
    ("status without successor", _set("statuses", 0, "successor", value=None)),
    ("empty public key", _set("organisations", 0, "keys", 0, "public_key", value="")),
    ("empty manifest cid", _set("checkpoints", 0, "manifest_cid", value="")),
    ("reinstated status", _set("statuses", 0, "status", value="reinstated")),
    ("terminated organisation", _set("organisations", 0, "status", value="terminated")),
]

#: What JSON Schema cannot express: accepted by the schema, refused by the parser.
KNOWN_GAPS: list[tuple[str, str, Mutation]] = [
    # JSON has one number type: 17.0 is the integer 17 to a schema, a float to the parser.
    ("bundle", "integral float", _set("anchor", "block_number", value=17.0)),
    ("snapshot", "integral float", _set("block", "number", value=10.0)),
    # Cross-field equalities need the value of another key.
    (
        "bundle",
        "organisation code not a prefix",
        _set("entry", "organisation_code", value="S000144011002"),
    ),
    ("bundle", "province not positions 6-7", _set("entry", "province", value="41")),
]


def _mutated(base: Callable[[], Doc], mutation: Mutation) -> Doc:
    doc = base()
    mutation(doc)
    return doc


def _ids(cases: list[tuple[str, Mutation]]) -> list[str]:
    return [name for name, _ in cases]


def _walk(node: Any, path: str = "#") -> Iterator[tuple[str, Doc]]:
    """Yield every schema object, skipping the if/then conditions (they are not object types)."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key in ("if", "then", "else", "not"):
                continue
            if key in ("properties", "$defs"):
                for name, sub in value.items():
                    yield from _walk(sub, f"{path}/{key}/{name}")
            else:
                yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk(item, f"{path}/{i}")


@pytest.mark.parametrize("name", ["bundle", "snapshot"])
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = _schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://certreg.example/schemas/{name}-v1.json"
    assert schema["title"]


#: The only optional properties: written only when set, so that older documents keep their bytes
#: (the province's maintenance signature, 中就培发〔2022〕1号 art. 16).
OPTIONAL = {("#/$defs/signature", "signer"), ("#/$defs/member", "maintenance_keys")}


@pytest.mark.parametrize("name", ["bundle", "snapshot"])
def test_every_object_is_closed_and_every_property_described(name: str) -> None:
    for path, node in _walk(_schema(name)):
        if "properties" in node:
            assert node.get("type") == "object", path
            assert node.get("additionalProperties") is False, path
            optional = {key for where, key in OPTIONAL if where == path}
            assert set(node["required"]) == set(node["properties"]) - optional, path
            for key, sub in node["properties"].items():
                assert sub.get("description"), f"{path}/properties/{key}"


def test_certificate_fields_carry_their_chinese_names() -> None:
    fields = _schema("bundle")["properties"]["fields"]["properties"]
    assert len(fields) == 12
    for key, sub in fields.items():
        assert CJK.search(sub["description"]), key


@pytest.mark.parametrize("suite", SUITES)
def test_samples_are_valid(suite: str) -> None:
    bundle, redacted, snapshot = _sample_json(suite)
    assert "hash" in redacted["fields"]["id_number"]
    for name, doc in (("bundle", bundle), ("bundle", redacted), ("snapshot", snapshot)):
        errors = [e.message for e in _validator(name).iter_errors(doc)]
        assert errors == []
        assert _parser_accepts(name, doc)


def test_base_documents_are_valid() -> None:
    for name, doc in (("bundle", _bundle()), ("snapshot", _snapshot())):
        assert _schema_accepts(name, doc)
        assert _parser_accepts(name, doc)


@pytest.mark.parametrize(("case", "mutation"), BUNDLE_REFUSED, ids=_ids(BUNDLE_REFUSED))
def test_bundle_refused_by_both(case: str, mutation: Mutation) -> None:
    doc = _mutated(_bundle, mutation)
    assert not _schema_accepts("bundle", doc), case
    with pytest.raises(InvalidInput):
        Bundle.from_json(doc)


@pytest.mark.parametrize(
    ("case", "doc"), BUNDLE_REFUSED_DOCS, ids=[n for n, _ in BUNDLE_REFUSED_DOCS]
)
def test_bundle_documents_refused_by_both(case: str, doc: Any) -> None:
    assert not _schema_accepts("bundle", doc), case
    with pytest.raises(InvalidInput):
        Bundle.from_json(doc)


@pytest.mark.parametrize(("case", "mutation"), BUNDLE_ACCEPTED, ids=_ids(BUNDLE_ACCEPTED))
def test_bundle_accepted_by_both(case: str, mutation: Mutation) -> None:
    doc = _mutated(_bundle, mutation)
    assert _schema_accepts("bundle", doc), [
        e.message for e in _validator("bundle").iter_errors(doc)
    ]
    Bundle.from_json(doc)


@pytest.mark.parametrize(("case", "mutation"), SNAPSHOT_REFUSED, ids=_ids(SNAPSHOT_REFUSED))
def test_snapshot_refused_by_both(case: str, mutation: Mutation) -> None:
    doc = _mutated(_snapshot, mutation)
    assert not _schema_accepts("snapshot", doc), case
    with pytest.raises(InvalidInput):
        Snapshot.from_json(doc)


@pytest.mark.parametrize(("case", "mutation"), SNAPSHOT_ACCEPTED, ids=_ids(SNAPSHOT_ACCEPTED))
def test_snapshot_accepted_by_both(case: str, mutation: Mutation) -> None:
    doc = _mutated(_snapshot, mutation)
    assert _schema_accepts("snapshot", doc), [
        e.message for e in _validator("snapshot").iter_errors(doc)
    ]
    Snapshot.from_json(doc)


@pytest.mark.parametrize(
    ("name", "case", "mutation"), KNOWN_GAPS, ids=[f"{n}-{c}" for n, c, _ in KNOWN_GAPS]
)
def test_known_gaps(name: str, case: str, mutation: Mutation) -> None:
    """The schema is looser than the parser here; if this starts failing, update the schema."""
    doc = _mutated(_bundle if name == "bundle" else _snapshot, mutation)
    assert _schema_accepts(name, doc), case
    assert not _parser_accepts(name, doc), case


@pytest.mark.parametrize("name", ["bundle", "snapshot"])
def test_unknown_key_anywhere_is_refused_by_both(name: str) -> None:
    """Add an unknown key to every object of the sample, one at a time."""
    base = _bundle() if name == "bundle" else _snapshot()
    objects: list[tuple[Key, ...]] = []

    def collect(node: Any, path: tuple[Key, ...]) -> None:
        if isinstance(node, dict):
            objects.append(path)
            for key, value in node.items():
                collect(value, (*path, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                collect(value, (*path, i))

    collect(base, ())
    assert len(objects) > 10
    for path in objects:
        doc = _mutated(lambda: copy.deepcopy(base), _set(*path, "x-extra", value=None))
        assert not _schema_accepts(name, doc), path
        assert not _parser_accepts(name, doc), path


def test_bundle_v2_schema_accepts_every_type_and_refuses_a_graded_special_ability() -> None:
    """schemas/bundle-v2.schema.json: the format 2 samples of every type are valid; a
    special_ability graded in the entry, a bundle without its type and a v1 entry are not."""
    schema = json.loads((SCHEMAS / "bundle-v2.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "https://certreg.example/schemas/bundle-v2.json"
    validator = Draft202012Validator(schema)
    for certificate_type in ("special_ability", "vocational_qualification"):
        doc = make_sample(5, others=2, certificate_type=certificate_type).bundle.to_json()
        assert list(validator.iter_errors(doc)) == [], certificate_type
        assert _parser_accepts("bundle", doc)
    doc = make_sample(5, others=2, certificate_type="special_ability").bundle.to_json()
    untyped = copy.deepcopy(doc)
    del untyped["fields"]["certificate_type"]
    v1_entry = copy.deepcopy(doc)
    v1_entry["entry"]["v"] = 1
    for bad in (untyped, v1_entry):
        assert not validator.is_valid(bad)
        assert not _parser_accepts("bundle", bad)
    assert not validator.is_valid(_bundle())  # a version 1 bundle is not a version 2 one


def test_province_maintenance_documents_are_valid() -> None:
    """A bundle signed by the province's maintenance key and a snapshot whose member carries
    maintenance keys (tests/vectors/bundles-maintenance.json) pass the schemas and the parsers;
    an empty ``maintenance_keys`` and an unknown signer are refused by both."""
    vectors = json.loads(
        (ROOT / "tests" / "vectors" / "bundles-maintenance.json").read_text(encoding="utf-8")
    )
    bundle = vectors["tests"][0]["input"]["bundle"]
    snapshot = vectors["snapshots"]["terminated"]
    assert bundle["entry"]["signature"]["signer"] == "province"
    assert _schema_accepts("bundle", bundle) and _parser_accepts("bundle", bundle)
    assert _schema_accepts("snapshot", snapshot) and _parser_accepts("snapshot", snapshot)
    empty = copy.deepcopy(snapshot)
    [member] = [m for m in empty["members"] if "maintenance_keys" in m]
    member["maintenance_keys"] = []
    assert not _schema_accepts("snapshot", empty) and not _parser_accepts("snapshot", empty)
    unknown = copy.deepcopy(bundle)
    unknown["entry"]["signature"]["signer"] = "organisation"
    assert not _schema_accepts("bundle", unknown) and not _parser_accepts("bundle", unknown)
