"""The input of ``certreg bench scale``: organisations of the three provinces and N signed
certificates, written as one JSON Lines submission file per province (what each province's
organisations upload), plus a file of the plain certificate fields for the peer.

The rows are the issuer's side (salted, signed; node/issuer.py). Writing them is the
benchmark's "generation" stage, timed on its own and not part of the registry's figures.
Personal data (synthetic holder names and ID numbers) exists only in these files, in a temporary
folder that the benchmark removes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

from certreg.province.organisations import KeySpec, OrganisationFiling
from node.certificate import FIELD_NAMES, Certificate
from node.issuer import sign_certificate, submission_line
from node.sample import synthetic_id_number
from node.signatures import get_suite
from node.snapshot import Network

#: Keys of the scale organisations are valid from 2020-01-01 00:00 China Standard Time.
KEY_VALID_FROM = int(dt.datetime(2020, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp())

#: 钳工 (fitter), filed at all five levels (seeds/001; no work types).
OCCUPATION = ("6-20-01-01", "--", "钳工", "--")
_NAMES = {"44": "广州", "41": "郑州", "43": "长沙"}
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华"


@dataclasses.dataclass(frozen=True)
class ScaleOrganisation:
    """An organisation of the run: its filing and the private key of its key 0."""

    province: str
    filing: OrganisationFiling
    suite: str
    private_key: bytes

    def __repr__(self) -> str:  # the private key stays out of logs
        return f"ScaleOrganisation(province={self.province!r}, code={self.filing.code!r})"


def organisation_code(province: str, index: int) -> str:
    """A class-S code filed with the province (positions 2-5 ``0000``), city 01: Guangdong
    category 1 and a three-digit serial (seeds/003), Henan and Hunan a four-digit sequence
    (seeds/001)."""
    if province == "44":
        return f"S0000{province}011{index + 1:03d}"
    return f"S0000{province}01{index + 1:04d}"


def scale_organisations(province: str, count: int, *, seed: int) -> list[ScaleOrganisation]:
    """``count`` organisations of ``province``, each filed for 钳工 at levels 1-5 with one
    Ed25519 key derived from ``seed``."""
    suite = get_suite("ed25519")
    out = []
    for index in range(count):
        code = organisation_code(province, index)
        key = suite.generate_private_key(random.Random(f"{seed}|{code}").randbytes(32))
        filing = OrganisationFiling.of(
            code=code,
            name=f"{_NAMES.get(province, '某市')}规模测试职业技能评价中心{index + 1}",
            scope=[{"occupation_code": OCCUPATION[0], "levels": [1, 2, 3, 4, 5]}],
            keys=[KeySpec("ed25519", suite.public_key(key), KEY_VALID_FROM)],
        )
        out.append(ScaleOrganisation(province, filing, "ed25519", key))
    return out


@dataclasses.dataclass(frozen=True, slots=True)
class ScaleSubmission:
    """One signed submission row (``line``, JSON Lines) of ``province``."""

    province: str
    certificate_number: str
    line: str

    def __repr__(self) -> str:  # the line holds personal data
        return f"ScaleSubmission(province={self.province!r}, number={self.certificate_number!r})"


def scale_submissions(
    organisations: Sequence[ScaleOrganisation],
    network: Network,
    count: int,
    *,
    seed: int,
    received_on: dt.date,
) -> Iterator[ScaleSubmission]:
    """``count`` certificates, round robin over ``organisations``, issued on ``received_on``,
    levels 1-5 in turn, serials sequential per organisation and level."""
    rng = random.Random(seed)
    serials: Counter[tuple[str, int]] = Counter()
    for index in range(count):
        org = organisations[index % len(organisations)]
        level = 1 + (index // len(organisations)) % 5
        code = org.filing.code
        serials[code, level] += 1
        number = f"{code}{received_on.year % 100:02d}{level}{serials[code, level]:06d}"
        certificate = Certificate(
            holder_name=rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.randint(1, 2))),
            id_type="resident_id",
            id_number=synthetic_id_number(rng),
            occupation_name=OCCUPATION[2],
            occupation_code=OCCUPATION[0],
            work_type_name=OCCUPATION[3],
            work_type_code=OCCUPATION[1],
            level=level,
            certificate_number=number,
            issue_date=received_on.isoformat(),
            organisation_name=org.filing.name,
            organisation_code=code,
        )
        salted, signature = sign_certificate(
            certificate,
            network,
            suite=org.suite,
            private_key=org.private_key,
            key_id=0,
            random_bytes=rng.randbytes,
        )
        yield ScaleSubmission(
            org.province, certificate.certificate_number, submission_line(salted, signature)
        )


def peer_fields(line: str) -> str:
    """The twelve plain certificate fields of a submission row, as one JSON line (the peer's
    input: the same values, without our salts and signature)."""
    row = json.loads(line)
    return json.dumps({name: row[name] for name in FIELD_NAMES}, ensure_ascii=False) + "\n"


def write_inputs(
    submissions: Iterator[ScaleSubmission],
    files: Mapping[str, Path],
    peer_file: Path,
    peer_documents: int,
) -> Counter[str]:
    """Stream ``submissions`` into one file per province (``files``) and the first
    ``peer_documents`` of them, as plain fields, into ``peer_file``; return rows per province."""
    rows: Counter[str] = Counter()
    handles: dict[str, IO[str]] = {}
    try:
        for province, path in files.items():
            handles[province] = path.open("w", encoding="utf-8")
        with peer_file.open("w", encoding="utf-8") as peer:
            for written, submission in enumerate(submissions):
                handles[submission.province].write(submission.line)
                rows[submission.province] += 1
                if written < peer_documents:
                    peer.write(peer_fields(submission.line))
    finally:
        for handle in handles.values():
            handle.close()
    return rows


__all__ = [
    "KEY_VALID_FROM",
    "ScaleOrganisation",
    "ScaleSubmission",
    "organisation_code",
    "peer_fields",
    "scale_organisations",
    "scale_submissions",
    "write_inputs",
]
