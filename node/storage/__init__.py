"""The provincial node's storage: SQLAlchemy 2 models, Alembic migrations, repositories and
the database-backed Merkle node store. See ``docs/STORAGE.md``.

Everything works on a transaction the caller opens (``Database.transaction()``) and commits.
"""

from node.storage.database import (
    Database,
    current_revision,
    head_revision,
    make_engine,
    open_database,
    upgrade,
)
from node.storage.nodestore import DatabaseNodeStore
from node.storage.repositories import (
    AuditRecord,
    AuditTrail,
    CertificateRecord,
    CertificateRepository,
    CheckpointRecord,
    CheckpointRepository,
    OrganisationKeyRecord,
    OrganisationRecord,
    OrganisationRepository,
    ProvinceLog,
    StoredEntry,
)
from node.storage.reviews import ReviewRecord, ReviewRepository, ScreeningData

__all__ = [
    "AuditRecord",
    "AuditTrail",
    "CertificateRecord",
    "CertificateRepository",
    "CheckpointRecord",
    "CheckpointRepository",
    "Database",
    "DatabaseNodeStore",
    "OrganisationKeyRecord",
    "OrganisationRecord",
    "OrganisationRepository",
    "ProvinceLog",
    "ReviewRecord",
    "ReviewRepository",
    "ScreeningData",
    "StoredEntry",
    "current_revision",
    "head_revision",
    "make_engine",
    "open_database",
    "upgrade",
]
