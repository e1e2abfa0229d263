"""``witness_statements`` (node/storage/witness.py, migration 0012) on SQLite and PostgreSQL:
a statement is recorded once per (witness, province, index, root), read back as written, and
found by checkpoint, witness, kind and order."""

from __future__ import annotations

import dataclasses

from node.storage import Database
from node.storage.witness import StoredStatement, WitnessStatements
from tests.node.storage.conftest import NOW


def item(witness: str, index: int, kind: str = "cosignature", root: int = 1) -> StoredStatement:
    return StoredStatement(
        witness=witness, province="44", index=index, tree_size=index + 3,
        root=bytes([root]) * 32, kind=kind, statement={"index": index}, signature=b"\x05" * 64,
        rule=None if kind == "cosignature" else "witness.inconsistent",
        detail=None if kind == "cosignature" else "another root", cid=f"Qm{witness}{index}",
        frontier=b"\x02" * 32 if witness == "41" else None, created_at=NOW,
    )  # fmt: skip


def test_statements_are_kept_once_and_read_back(database: Database) -> None:
    statements = [item("41", 0), item("43", 0), item("41", 1), item("41", 2, "refusal", 9)]
    with database.transaction() as session:
        repo = WitnessStatements(session)
        assert all(repo.add(s) for s in statements)
        assert not repo.add(item("41", 1))  # the same statement again
        # Another root at the same index is another statement (a rewritten checkpoint).
        assert repo.add(item("41", 1, "refusal", 7))
    with database.transaction() as session:
        repo = WitnessStatements(session)
        last = repo.last_cosigned("41", "44")
        assert last == statements[2]
        assert repo.last_cosigned("43", "44") == statements[1]
        assert repo.last_cosigned("41", "45") is None
        assert (repo.latest_index("41", "44"), repo.latest_index("11", "44")) == (2, -1)
        assert [(s.witness, s.index) for s in repo.of("44", index=0)] == [("41", 0), ("43", 0)]
        assert [s.index for s in repo.of("44", witness="41", after=0)] == [1, 1, 2]
        refused = repo.of("44", kind="refusal")
        assert [(s.index, s.root[0]) for s in refused] == [(1, 7), (2, 9)]
        assert all(s.refused and s.rule == "witness.inconsistent" for s in refused)
        assert dataclasses.replace(repo.of("44", index=2)[0], created_at=NOW) == statements[3]
