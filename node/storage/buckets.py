"""Token buckets in the database (``rate_buckets``), shared by every API process on one
PostgreSQL database (api/ratelimit.py; docs/OPERATIONS.md "Several processes").

:meth:`TokenBuckets.take` is one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement for
all of a request's buckets: PostgreSQL locks each bucket's row, refills it from the database's
own clock (so processes on several machines agree), takes a token when there is one and says
whether it did. Only when a request is refused and it had taken from some of its buckets is a
second statement sent, giving those tokens back (a refused request takes nothing).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text

from node.storage.guard import Executor, storage_errors

# The level after refilling: at most ``burst``, ``rate`` tokens a second since the last take.
_LEVEL = "LEAST(:burst, rate_buckets.tokens + GREATEST(0, {now} - rate_buckets.updated) * :rate)"
_NOW = "EXTRACT(EPOCH FROM clock_timestamp())::float8"


class TokenBuckets:
    """The buckets, read and written in the caller's transaction (PostgreSQL only)."""

    def __init__(self, db: Executor, rate: float, burst: int) -> None:
        self._db = db
        self.rate = rate
        self.burst = burst

    def take(self, names: Sequence[str]) -> dict[str, float]:
        """Take a token from each named bucket that has one; return each bucket's level after
        the statement and whether it granted, as ``{name: level}`` where a refused bucket's
        level is negative: ``-(1 - level)``, the tokens it lacks."""
        if not names:
            return {}
        values = ", ".join(f"(:n{i}, :burst - 1, {_NOW}, true)" for i in range(len(names)))
        level = _LEVEL.format(now=_NOW)
        statement = text(
            f"INSERT INTO rate_buckets (name, tokens, updated, granted) VALUES {values} "
            "ON CONFLICT (name) DO UPDATE SET "
            f"tokens = CASE WHEN {level} >= 1 THEN {level} - 1 ELSE {level} END, "
            f"updated = {_NOW}, granted = {level} >= 1 "
            "RETURNING name, tokens, granted"
        )
        params: dict[str, object] = {"burst": float(self.burst), "rate": self.rate}
        params.update({f"n{i}": name for i, name in enumerate(names)})
        with storage_errors("cannot take from a rate bucket"):
            rows = self._db.execute(statement, params).all()
        return {
            str(name): float(tokens) if granted else -(1.0 - float(tokens))
            for name, tokens, granted in rows
        }

    def give_back(self, names: Sequence[str]) -> None:
        """Return one token to each named bucket (at most up to ``burst``)."""
        if not names:
            return
        with storage_errors("cannot return a token to a rate bucket"):
            for name in names:
                self._db.execute(
                    text(
                        "UPDATE rate_buckets SET tokens = LEAST(:burst, tokens + 1) "
                        "WHERE name = :name"
                    ),
                    {"burst": float(self.burst), "name": name},
                )
