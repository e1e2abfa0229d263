"""Token buckets in the database (``rate_buckets``), shared by every API process on one
PostgreSQL database, or on one SQLite file when ``certreg serve --workers N`` runs several
(api/ratelimit.py; docs/OPERATIONS.md "Several processes").

:meth:`TokenBuckets.take` is one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement for
all of a request's buckets: PostgreSQL locks each bucket's row, refills it from the database's
own clock (so processes on several machines agree), takes a token when there is one and says
whether it did. Only when a request is refused and it had taken from some of its buckets is a
second statement sent, giving those tokens back (a refused request takes nothing). SQLite
runs the same statement with its own spelling of the clock and of ``LEAST`` / ``GREATEST``
(the transaction holds the file's write lock, so the buckets' rows cannot change under it).

:meth:`TokenBuckets.forget_full` deletes the buckets of one limiter that have not been touched
for ``burst / rate`` seconds: they have refilled to ``burst``, exactly what a missing bucket
starts with, so no answer changes, and the table holds only the clients seen lately instead
of every client ever seen.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text

from node.storage.guard import Executor, storage_errors

# The level after refilling: at most ``burst``, ``rate`` tokens a second since the last take.
_LEVEL = (
    "{least}(:burst, rate_buckets.tokens + {greatest}(0, {now} - rate_buckets.updated) * :rate)"
)
_SPELLING = {
    "postgresql": {
        "now": "EXTRACT(EPOCH FROM clock_timestamp())::float8",
        "least": "LEAST",
        "greatest": "GREATEST",
    },
    # Unix seconds with milliseconds (julianday counts days from noon, 24 November 4714 BC).
    "sqlite": {
        "now": "((julianday('now') - 2440587.5) * 86400.0)",
        "least": "min",
        "greatest": "max",
    },
}


class TokenBuckets:
    """The buckets, read and written in the caller's transaction (``dialect``: ``postgresql``
    or ``sqlite``)."""

    def __init__(self, db: Executor, rate: float, burst: int, dialect: str = "postgresql") -> None:
        self._db = db
        self.rate = rate
        self.burst = burst
        self._spelling = _SPELLING[dialect]

    def take(self, names: Sequence[str]) -> dict[str, float]:
        """Take a token from each named bucket that has one; return each bucket's level after
        the statement and whether it granted, as ``{name: level}`` where a refused bucket's
        level is negative: ``-(1 - level)``, the tokens it lacks."""
        if not names:
            return {}
        now = self._spelling["now"]
        values = ", ".join(f"(:n{i}, :burst - 1, {now}, true)" for i in range(len(names)))
        level = _LEVEL.format(**self._spelling)
        statement = text(
            f"INSERT INTO rate_buckets (name, tokens, updated, granted) VALUES {values} "
            "ON CONFLICT (name) DO UPDATE SET "
            f"tokens = CASE WHEN {level} >= 1 THEN {level} - 1 ELSE {level} END, "
            f"updated = {now}, granted = {level} >= 1 "
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

    def forget_full(self, prefix: str) -> int:
        """Delete the buckets named ``prefix``… that have refilled to ``burst`` (untouched for
        ``burst / rate`` seconds); return how many. A bucket taken from meanwhile is kept: the
        condition is checked on the row as it is when deleted (PostgreSQL re-reads a row it
        waited for; SQLite holds the write lock)."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = text(
            "DELETE FROM rate_buckets WHERE name LIKE :pattern ESCAPE '\\' "
            f"AND updated < {self._spelling['now']} - :full_after"
        )
        params = {"pattern": escaped + "%", "full_after": self.burst / self.rate}
        with storage_errors("cannot forget full rate buckets"):
            result = self._db.execute(statement, params)
        return int(getattr(result, "rowcount", 0) or 0)

    def give_back(self, names: Sequence[str]) -> None:
        """Return one token to each named bucket (at most up to ``burst``)."""
        if not names:
            return
        with storage_errors("cannot return a token to a rate bucket"):
            for name in names:
                self._db.execute(
                    text(
                        f"UPDATE rate_buckets SET tokens = {self._spelling['least']}"
                        "(:burst, tokens + 1) "
                        "WHERE name = :name"
                    ),
                    {"burst": float(self.burst), "name": name},
                )
