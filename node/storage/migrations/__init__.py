"""Alembic migrations of the node database, run by ``node.storage.upgrade``."""
