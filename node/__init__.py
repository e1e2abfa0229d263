"""The province node's lower layers, each a package of its own (docs/ARCHITECTURE.md):

- :mod:`node.core`: pure certificate rules, formats, cryptography, the Merkle log and the
  verifier (no I/O, no clock, no process-wide state);
- :mod:`node.storage`: the SQLAlchemy schema, migrations and repositories (SQLite, PostgreSQL);
- :mod:`node.services`: database-bound, chain-free services (intake, lifecycle, review, bundles).

Dependencies point down only (core <- storage <- services), enforced by import-linter.
"""
