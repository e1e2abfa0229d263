"""A deterministic sample: one province log, a valid bundle, its redacted form and a snapshot.

Used by ``certreg sample``, the test vectors and the benchmarks. Everything derives from the
seed, so the same seed gives the same files (the SM2 suite signs with a random nonce, so its
signature bytes differ between runs while still verifying).
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from typing import Any

from node.core.certificate import (
    SKILL_LEVEL,
    SPECIAL_ABILITY,
    UNGRADED_LEVEL,
    VOCATIONAL_QUALIFICATION,
    Certificate,
)
from node.core.crypto.signatures import Sm2Sm3Suite, get_suite, signing_message
from node.core.errors import InvalidInput
from node.core.formats.bundle import AnchorRef, Bundle, InclusionProof
from node.core.formats.commitment import SaltedCertificate, salt_certificate
from node.core.formats.entry import (
    Attributes,
    LogEntry,
    Signature,
    examining_body_registry_code,
)
from node.core.formats.snapshot import (
    BlockRef,
    Checkpoint,
    Member,
    Network,
    Organisation,
    OrganisationKey,
    Snapshot,
)
from node.core.merkle import MerkleLog
from node.core.rules.idnumber import resident_id_check_character

SAMPLE_CHAIN_ID = 31337
FOUNDERS = ("44", "41", "43")
#: Noon of 2025-01-01 in China Standard Time: when the sample organisation's key became valid.
KEY_VALID_FROM = 1735704000
SAMPLE_TIME = 1767225600  # 2026-01-01T00:00:00Z: when the sample checkpoints were anchored

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华梅晓"
#: Occupations as the seeds name them (certreg/dev/occupations.py): 车工 with its work type 数控车床
#: and 电工 (seed 002), 钳工 (seed 001), 中式烹调师.
_OCCUPATIONS = (
    ("6-18-01-01", "车工", "6-18-01-01-02", "数控车床"),
    ("6-20-01-01", "钳工", "--", "--"),
    ("4-03-02-01", "中式烹调师", "--", "--"),
    ("6-31-01-03", "电工", "--", "--"),
)


#: The sample 专项职业能力 examining body: 郑州 area 1601, the digit 5, serial 001 (豫人社办函
#: 〔2020〕41号 二(四) gives 16015000 for the city centre and 16015xxx for the bodies it manages).
SAMPLE_EXAMINING_BODY = "16015001"
#: The sample special abilities: the related occupation's code, the ability's name.
_SPECIAL_ABILITIES = (
    ("4-03-02-01", "中式面点制作"),
    ("4-10-01-01", "美甲"),
)
#: The sample 职业资格证书 organisation (Hunan) and its configured number: the province's
#: configuration (node.json ``qualification_number``) sets the format; the sample uses
#: 2-digit year, 2-digit province, 13-digit organisation-and-serial.
SAMPLE_QUALIFICATION_ORGANISATION = "S000143011001"


def sample_organisation(certificate_type: str = SKILL_LEVEL) -> tuple[str, str]:
    """The sample's (province, registry code) for a certificate type."""
    if certificate_type == SPECIAL_ABILITY:
        return "41", examining_body_registry_code(SAMPLE_EXAMINING_BODY, "41")
    if certificate_type == VOCATIONAL_QUALIFICATION:
        return "43", SAMPLE_QUALIFICATION_ORGANISATION
    return "44", "S000144011001"


@dataclasses.dataclass(frozen=True, slots=True)
class SampleSet:
    """What ``certreg sample`` writes."""

    bundle: Bundle
    redacted: Bundle
    snapshot: Snapshot
    private_key: bytes
    log: MerkleLog


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()


def _sign(suite: str, private_key: bytes, message: bytes) -> bytes:
    """Sign; for SM2 with a nonce derived from key and message, so samples are reproducible.

    The sample's private key derives from a public seed, so a predictable nonce costs nothing.
    """
    signer = get_suite(suite)
    if isinstance(signer, Sm2Sm3Suite):
        for counter in range(16):
            nonce = _digest("sample sm2 nonce", private_key.hex(), message.hex(), counter)
            try:
                return signer.sign_with_nonce(private_key, message, nonce)
            except InvalidInput:
                continue
    return signer.sign(private_key, message)


def sample_network() -> Network:
    """The sample consortium's network: a local chain id and a fixed contract address."""
    return Network(SAMPLE_CHAIN_ID, _digest("certreg sample contract")[:20])


def synthetic_id_number(rng: random.Random) -> str:
    """Return a valid-looking synthetic resident ID (GB 11643), never a real person's."""
    area = rng.choice(("440106", "440304", "410102", "430104"))
    year = rng.randint(1965, 2004)
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    first17 = f"{area}{year:04d}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
    return first17 + resident_id_check_character(first17)


#: The filed name of the sample organisation, printed on its certificates
#: (人社鉴发〔2021〕1号 §二(三)).
SAMPLE_ORGANISATION_NAME = "广州市示例职业技能评价中心有限公司"


def _holder(rng: random.Random) -> dict[str, Any]:
    """A synthetic holder: name, then ID number, drawn from ``rng`` in that order."""
    return {
        "holder_name": rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(2)),
        "id_type": "resident_id",
        "id_number": synthetic_id_number(rng),
    }


def _occupation(occupation: tuple[str, str, str, str]) -> dict[str, Any]:
    """The occupation and work-type fields of one of ``_OCCUPATIONS``."""
    code, name, work_type_code, work_type_name = occupation
    return {
        "occupation_name": name,
        "occupation_code": code,
        "work_type_name": work_type_name,
        "work_type_code": work_type_code,
    }


def sample_certificate(
    rng: random.Random, serial: int, level: int = 3, certificate_type: str = SKILL_LEVEL
) -> Certificate:
    """A Guangdong certificate of the sample organisation (S000144011001, 广州, enterprise); a
    Henan 专项职业能力证书 of examining body 16015001 or a Hunan 职业资格证书 for the
    other types."""
    if certificate_type == SPECIAL_ABILITY:
        code, name = _SPECIAL_ABILITIES[serial % len(_SPECIAL_ABILITIES)]
        return Certificate(
            **_holder(rng),
            occupation_name=name,
            occupation_code=code,
            work_type_name="--",
            work_type_code="--",
            level=UNGRADED_LEVEL,
            certificate_number=f"25{SAMPLE_EXAMINING_BODY}{serial:05d}",
            issue_date="2025-06-18",
            organisation_name="郑州市示例专项职业能力考核站",
            organisation_code=SAMPLE_EXAMINING_BODY,
            certificate_type=SPECIAL_ABILITY,
        )
    occupation = _OCCUPATIONS[serial % len(_OCCUPATIONS)]
    if certificate_type == VOCATIONAL_QUALIFICATION:
        return Certificate(
            **_holder(rng),
            **_occupation(occupation),
            level=level,
            certificate_number=f"2543{SAMPLE_QUALIFICATION_ORGANISATION[1:]}{serial:04d}",
            issue_date="2025-06-18",
            organisation_name="长沙市示例职业技能鉴定所",
            organisation_code=SAMPLE_QUALIFICATION_ORGANISATION,
            certificate_type=VOCATIONAL_QUALIFICATION,
        )
    organisation_code = "S000144011001"
    return Certificate(
        **_holder(rng),
        **_occupation(occupation),
        level=level,
        certificate_number=f"{organisation_code}25{level}{serial:06d}",
        issue_date="2025-06-18",
        organisation_name=SAMPLE_ORGANISATION_NAME,
        organisation_code=organisation_code,
    )


def sample_entry(
    rng: random.Random,
    serial: int,
    network: Network,
    suite: str,
    private_key: bytes,
    certificate_type: str = SKILL_LEVEL,
) -> tuple[SaltedCertificate, LogEntry]:
    """A salted sample certificate and its signed ``issue`` entry (province 44, key 0; the
    province of :func:`sample_organisation` for the other types)."""
    certificate = sample_certificate(rng, serial, certificate_type=certificate_type)
    province, registry_code = sample_organisation(certificate_type)
    salted = salt_certificate(certificate, rng.randbytes)
    commitment = salted.commitment()
    value = _sign(
        suite, private_key, signing_message(network.chain_id, network.contract, commitment)
    )
    entry = LogEntry(
        kind="issue",
        province=province,
        organisation_code=registry_code,
        certificate_number=certificate.certificate_number,
        commitment=commitment,
        attributes=Attributes.of(certificate),
        signature=Signature(suite, 0, value),
    )
    return salted, entry


def make_sample(
    seed: int = 1,
    suite: str = "ed25519",
    *,
    others: int = 12,
    certificate_type: str = SKILL_LEVEL,
) -> SampleSet:
    """Build a province log of ``others + 1`` certificates anchored in two checkpoints.

    The sample certificate is the last one; the snapshot holds both checkpoints. Every
    certificate is of ``certificate_type``.
    """
    province, registry_code = sample_organisation(certificate_type)
    rng = random.Random(seed)
    network = sample_network()
    signer = get_suite(suite)
    private_key = signer.generate_private_key(_digest("sample key", seed, suite))
    public_key = signer.public_key(private_key)

    log = MerkleLog()
    entries: list[tuple[SaltedCertificate, LogEntry]] = []
    for serial in range(1, others + 2):
        salted, entry = sample_entry(rng, serial, network, suite, private_key, certificate_type)
        log.append(entry.leaf_hash())
        entries.append((salted, entry))

    first_size = max(1, len(entries) // 2)
    checkpoints = tuple(
        Checkpoint(
            province=province,
            index=index,
            tree_size=size,
            root=log.root(size),
            block_number=10 + 5 * index,
            timestamp=SAMPLE_TIME + 60 * index,
            manifest_cid="bafy" + _digest("manifest", seed, index).hex()[:52],
            transaction_hash=_digest("anchor tx", seed, index),
        )
        for index, size in enumerate((first_size, len(entries)))
    )
    anchor = checkpoints[-1]
    salted, entry = entries[-1]
    bundle = Bundle(
        network=network,
        certificate=salted,
        entry=entry,
        proof=InclusionProof(
            leaf_index=len(entries) - 1,
            tree_size=anchor.tree_size,
            hashes=tuple(log.inclusion_proof(len(entries) - 1, anchor.tree_size)),
        ),
        anchor=AnchorRef(
            province=anchor.province,
            checkpoint_index=anchor.index,
            tree_size=anchor.tree_size,
            root=anchor.root,
            block_number=anchor.block_number,
            transaction_hash=anchor.transaction_hash,
        ),
    )
    snapshot = Snapshot(
        network=network,
        block=BlockRef(
            number=anchor.block_number + 3,
            hash=_digest("block", seed, anchor.block_number + 3),
            timestamp=anchor.timestamp + 36,
        ),
        members=tuple(
            Member(province, (_digest("operator", province)[:20],)) for province in FOUNDERS
        ),
        organisations=(
            Organisation(
                code=registry_code,
                province=province,
                status="active",
                scope_hash=_digest("scope", registry_code),
                keys=(
                    OrganisationKey(
                        key_id=0,
                        suite=suite,
                        public_key=public_key,
                        valid_from=KEY_VALID_FROM,
                        valid_until=0,
                    ),
                ),
            ),
        ),
        checkpoints=checkpoints,
        statuses=(),
    )
    return SampleSet(
        bundle=bundle,
        redacted=bundle.redact("id_number"),
        snapshot=snapshot,
        private_key=private_key,
        log=log,
    )
