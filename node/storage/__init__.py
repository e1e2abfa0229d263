"""The provincial node's storage: SQLAlchemy 2 models, Alembic migrations, repositories (one
module each: ``certificates``, ``organisations``, ``log``, ``checkpoints``, ``audit_trail``,
``reviews``; shared helpers in ``common``, the encrypted record in ``sealing``) and the
database-backed Merkle node store. See ``docs/STORAGE.md``.

Everything works on a transaction the caller opens (``Database.transaction()``) and commits.
"""

from node.storage.audit_trail import AuditRecord, AuditTrail
from node.storage.certificates import CertificateRecord, CertificateRepository
from node.storage.checkpoints import CheckpointRecord, CheckpointRepository
from node.storage.database import (
    Database,
    current_revision,
    head_revision,
    make_engine,
    open_database,
    upgrade,
)
from node.storage.log import ProvinceLog, StoredEntry
from node.storage.nodestore import DatabaseNodeStore
from node.storage.organisations import (
    OrganisationKeyRecord,
    OrganisationRecord,
    OrganisationRepository,
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
