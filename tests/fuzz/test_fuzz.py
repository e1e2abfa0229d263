"""Fuzzing the parsers of untrusted input (tests/fuzz/targets.py) with hypothesis.

``make test`` runs each target for a bounded number of examples (``CERTREG_FUZZ_EXAMPLES``,
default 150); ``make fuzz`` runs them far longer (and from a fresh random seed each time).
Inputs are random bytes, random JSON (nested deep), bracket runs and mutations of a valid input
(byte flips, insertions, deletions, duplications). Every file of ``corpus/<target>/`` — the
inputs that crashed something once (issue "Hostile input and contention") — is replayed too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.targets import TARGETS, seeds

CORPUS = Path(__file__).resolve().parent / "corpus"
EXAMPLES = int(os.environ.get("CERTREG_FUZZ_EXAMPLES", "150"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=os.environ.get("CERTREG_FUZZ_RANDOM") != "1",
    database=None,
)

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=40,
)


@st.composite
def _mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "duplicate", "bracket"]))
        at = draw(st.integers(0, max(0, len(data))))
        if kind == "flip" and data:
            at = min(at, len(data) - 1)
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and data:
            del data[at : at + draw(st.integers(1, 16))]
        elif kind == "duplicate" and data:
            piece = bytes(data[at : at + draw(st.integers(1, 64))])
            data[at:at] = piece
        elif kind == "bracket":
            data[at:at] = draw(st.sampled_from([b"[", b"{", b'{"a":'])) * draw(st.integers(1, 5000))
    return bytes(data)


def inputs(target: str) -> st.SearchStrategy[bytes]:
    seed = seeds().get(target, b"")
    strategies = [
        st.binary(max_size=512),
        _json.map(lambda v: json.dumps(v).encode()),
        st.integers(1, 100_000).map(lambda n: b"[" * n),
        st.integers(1, 10_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    ]
    if seed:
        strategies.append(_mutated(seed))
    return st.one_of(strategies)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzz(target: str) -> None:
    @FUZZ
    @given(inputs(target))
    def run(data: bytes) -> None:
        TARGETS[target](data)

    run()


def _corpus() -> list[tuple[str, Path]]:
    return sorted(
        (path.parent.name, path) for path in CORPUS.glob("*/*") if path.parent.name in TARGETS
    )


@pytest.mark.parametrize(("target", "path"), _corpus(), ids=lambda v: getattr(v, "name", v))
def test_regression_corpus(target: str, path: Path) -> None:
    TARGETS[target](path.read_bytes())


def test_the_corpus_holds_the_inputs_found_by_the_issue() -> None:
    found = {(target, path.name) for target, path in _corpus()}
    assert len(found) >= 10
    assert {target for target, _ in found} >= {"bundle", "snapshot", "manifest", "upload", "json"}
