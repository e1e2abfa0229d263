"""The god objects were split (node/storage/repositories.py, anchor/chain.py,
province/organisations.py); the names other code imports stay where it imports them from."""

from __future__ import annotations

import importlib

import pytest

from tests.conftest import ROOT

KEPT = {
    "node.storage": (
        "AuditRecord AuditTrail CertificateRecord CertificateRepository CheckpointRecord "
        "CheckpointRepository OrganisationKeyRecord OrganisationRecord OrganisationRepository "
        "ProvinceLog StoredEntry ReviewRecord ReviewRepository ScreeningData DatabaseNodeStore"
    ),
    "anchor.chain": (
        "RegistryClient connect ClientOptions RetryPolicy with_retries Artifact load_artifact "
        "ChainEvent TxResult Checkpoint AnchorResult Organisation OrganisationKey StatusRecord "
        "StatusChange Proposal ChainError ZERO32 MEMORY_URL is_tester_revert revert_bytes"
    ),
    "province.organisations": (
        "OrganisationService parse_filing parse_time OrganisationChange OrganisationFiling "
        "KeySpec OrganisationMismatch CHINA_TZ MAX_FILING_KEYS ACTION_FILE ACTION_RECONCILE"
    ),
}


@pytest.mark.parametrize("module", sorted(KEPT))
def test_the_split_keeps_every_public_name(module: str) -> None:
    loaded = importlib.import_module(module)
    missing = [name for name in KEPT[module].split() if not hasattr(loaded, name)]
    assert missing == []
    assert set(KEPT[module].split()) <= set(loaded.__all__)


def test_registry_client_composes_a_transport_rather_than_being_one() -> None:
    from anchor.registry import RegistryClient
    from anchor.transport import ChainTransport

    assert not issubclass(RegistryClient, ChainTransport)
    transport_api = {"retry", "call", "transact", "logs"}
    assert not transport_api & set(vars(RegistryClient))


def test_modules_inside_anchor_import_the_adapter_modules_not_the_facade() -> None:
    """``anchor/chain.py`` re-exports for code outside the package; inside it, a module
    imports ``anchor.transport``, ``anchor.codec`` or ``anchor.registry`` directly."""
    for path in sorted((ROOT / "anchor").glob("*.py")):
        if path.name != "chain.py":
            assert "anchor.chain" not in path.read_text(encoding="utf-8"), path
