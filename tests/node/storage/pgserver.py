"""The throwaway PostgreSQL cluster of the tests: now in :mod:`certreg.dev.postgres` (``certreg
bench province`` starts one too); kept under this name for the tests that import it."""

from certreg.dev.postgres import PostgresServer, find_bindir, start_postgres

__all__ = ["PostgresServer", "find_bindir", "start_postgres"]
