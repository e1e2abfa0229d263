"""Faults on a real multi-validator chain: three go-ethereum validators sealing by Clique proof of
authority (one per founding province, :mod:`certreg.dev.geth`), each province's node talking to
its own validator.

- One province's validator killed (SIGKILL): the other two keep sealing and anchoring; the
  province's node keeps taking in certificates and its anchored certificates keep verifying
  (against the chain as the other validators serve it); its new checkpoint waits. Restarted,
  the validator catches up and the waiting checkpoint is anchored once.
- A worker killed (SIGKILL) while its checkpoint waits for its confirmations: restarted, it
  anchors nothing twice and loses nothing (one CheckpointAnchored event per checkpoint).
- A watchdog fails a test when no block is sealed for ten Clique periods, with each validator's
  Clique snapshot in the failure (shown by stopping two of the three signers: one signer alone
  may not seal two blocks in a row).
- A partition: Hunan's validator cut off from the other two (its P2P links removed both ways
  with geth's admin API; no iptables or network namespace is needed): the majority seals on,
  Hunan's checkpoint sent to its own validator waits; healed, it is anchored exactly once (the
  original and a resend may land in one block: the second reverts as already anchored, and
  the client reads that from the state after the block).
- After the validator fault, the audit of all three provinces' logs is clean: each province
  files a real organisation (its scope document in the store) and takes in signed
  certificates issued two days before, received today.

One network serves the module (starting three validators takes seconds); every test leaves
all three running.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from anchor.chain import ClientOptions, RegistryClient, connect
from anchor.manifest import LocalManifestStore
from anchor.snapshot import take_snapshot
from anchor.transport import RetryPolicy
from audit.auditor import AuditOptions, audit
from certreg.dev.geth import BlockWatchdog, CliqueNetwork, block_number, find_geth, rpc
from certreg.dev.sample import SAMPLE_ORGANISATION_NAME as ORG_NAME
from node.core.errors import ChainError
from node.core.formats.entry import LogEntry
from node.core.formats.snapshot import SnapshotTrustSource
from node.core.rules.workdays import WorkdayCalendar
from node.core.time import china_date
from node.core.verify import ResultCode, verify_bundle
from node.storage import ProvinceLog, open_database
from province.node import LogState, ProvinceNode
from province.organisations import parse_filing
from tests.anchor.entries import make_entries
from tests.conftest import today_calendar
from tests.node.storage.conftest import blind_index, cipher
from tests.province.helpers import (
    ACTOR,
    KEY,
    NOW,
    ORG,
    SCOPE,
    SUITE,
    certificate,
    salted,
    sign,
)
from tests.servers import missing

pytestmark = pytest.mark.geth

PROVINCES = ("44", "41", "43")
CONFIRMATIONS = 3  # the Clique default (anchor/engines.py)
WAIT = 90.0
#: The day certificates are received (China), fixed for the module: the worker test takes in
#: the same three certificates of Henan as the validator test, even across midnight.
TODAY = china_date(dt.datetime.now(dt.UTC))


class Consortium:
    """The network, the contract and each province's operator key."""

    def __init__(
        self,
        network: CliqueNetwork,
        address: str,
        keys: dict[str, str],
        urls: dict[str, str] | None = None,
    ) -> None:
        self.network = network
        self.address = address
        self.keys = keys
        self.urls = urls  # a worker process's: the RPC URLs without the network

    def client(self, province: str, via: str | None = None) -> RegistryClient:
        """``province``'s operator client on its own validator (or on ``via``'s)."""
        options = ClientOptions(
            confirmations=CONFIRMATIONS,
            receipt_timeout=30.0,
            poll_interval=0.1,
            retry=RetryPolicy(attempts=2, initial_delay=0.1, max_delay=0.2),
        )
        url = (
            self.urls[via or province]
            if self.urls is not None
            else self.network[via or province].url
        )
        return RegistryClient(
            connect(url), self.address, private_key=self.keys[province], options=options
        )

    def node(
        self, province: str, folder: Path, calendar: WorkdayCalendar | None = None
    ) -> ProvinceNode:
        folder.mkdir(parents=True, exist_ok=True)
        return ProvinceNode(
            province=province,
            db=open_database(f"sqlite:///{folder / 'node.db'}"),
            client=self.client(province),
            store=LocalManifestStore(folder.parent / "manifests"),
            cipher=cipher(),
            blind_index=blind_index(),
            batch_size=1000,
            max_age_seconds=3600.0,
            calendar=calendar or WorkdayCalendar.default(),
        )


@pytest.fixture(scope="module")
def consortium() -> Iterator[Consortium]:
    try:
        find_geth()
    except ChainError as exc:
        missing(os.environ, str(exc))
    keys = {p: "0x" + os.urandom(32).hex() for p in PROVINCES}
    founders = [(int(p), str(Account.from_key(k).address)) for p, k in keys.items()]
    with CliqueNetwork(PROVINCES, funded=[a for _, a in founders]) as network:
        w3 = connect(network["41"].url)
        deployed, _ = RegistryClient.deploy(
            w3,
            founders,
            sender=w3.eth.accounts[0],  # Henan's validator, unlocked
            options=ClientOptions(confirmations=CONFIRMATIONS, poll_interval=0.1),
        )
        yield Consortium(network, deployed.address, keys)


@pytest.fixture
def watchdog(consortium: Consortium) -> Iterator[BlockWatchdog]:
    """Fails the test when the network seals no block for ten periods."""
    with BlockWatchdog(consortium.network) as dog:
        yield dog
    dog.check()


def for_province(entry: LogEntry, province: str) -> LogEntry:
    """A sample entry of 44 moved to ``province`` (its codes carry the province at 6-7)."""

    def moved(code: str) -> str:
        return code[:5] + province + code[7:]

    return dataclasses.replace(
        entry,
        province=province,
        organisation_code=moved(entry.organisation_code),
        certificate_number=moved(entry.certificate_number),
    )


def organisation_of(province: str) -> str:
    """The sample organisation's code moved to ``province`` (the province is at 6-7)."""
    return ORG[:5] + province + ORG[7:]


def file_organisation(node: ProvinceNode) -> None:
    """File ``node``'s province's organisation, on chain and in the node (idempotent; its
    scope document is published to the node's store)."""
    node.organisations.file(
        parse_filing({
            "code": organisation_of(node.province), "name": ORG_NAME, "scope": SCOPE,
            "keys": [{"suite": "ed25519", "public_key": SUITE.public_key(KEY).hex(),
                      "valid_from": "2025-01-01"}],
        }),
        actor=ACTOR,
    )  # fmt: skip


def take_in(node: ProvinceNode, serials: range) -> None:
    """Take in the signed certificates ``serials`` of ``node``'s province's organisation,
    issued two days before today and received today (China), as the organisation would submit
    them (no chain call); the same serials give the same entries in any node of the province
    (deterministic salts and signatures)."""
    code = organisation_of(node.province)
    today = TODAY
    issued = today - dt.timedelta(days=2)
    for serial in serials:
        s = salted(
            certificate(
                serial,
                organisation_code=code,
                issue_date=issued.isoformat(),
                certificate_number=f"{code}{issued.year % 100:02d}3{serial:06d}",
            )
        )
        node.intake.submit(s, sign(node, s), received_on=today, late_reason=None, actor=ACTOR)


def anchor_until_final(node: ProvinceNode, timeout: float = WAIT) -> None:
    """Anchor until everything in ``node``'s log is in a confirmed checkpoint."""
    deadline = time.monotonic() + timeout
    while (status := node.status()).anchored_size < status.log_size:
        assert time.monotonic() < deadline, f"log {node.province} not anchored: {status}"
        node.anchor_once(force=True)
        time.sleep(0.3)


def anchored_sizes(client: RegistryClient, province: int) -> list[int]:
    """The size of each CheckpointAnchored event of ``province`` in the canonical chain."""
    return [
        int(e.args["size"])
        for e in client.iter_events(0, names=["CheckpointAnchored"])
        if int(e.args["province"]) == province
    ]


def verdicts(node: ProvinceNode, reader: RegistryClient) -> list[Any]:
    """Each of ``node``'s bundles verified against a snapshot of ``reader``'s chain."""
    trust = SnapshotTrustSource(take_snapshot(reader, block=reader.final_block()))
    now = int(time.time()) + 60
    return [verify_bundle(b, trust, at=now).code for _, b in node.bundles.iter_bundles()]


def test_one_validator_down_the_others_anchor_and_its_checkpoints_wait(
    consortium: Consortium, watchdog: BlockWatchdog, tmp_path: Path
) -> None:
    network = consortium.network
    calendar = today_calendar()
    nodes = {p: consortium.node(p, tmp_path / p, calendar) for p in PROVINCES}
    try:
        for node in nodes.values():
            file_organisation(node)
        guangdong = nodes["44"]
        take_in(guangdong, range(1, 3))
        anchor_until_final(guangdong)
        assert consortium.client("44").checkpoint_count(44) == 1

        network["44"].kill()  # a crash of Guangdong's validator
        down_at = max(block_number(network[p].url) for p in ("41", "43"))

        # Henan and Hunan keep anchoring on their own validators.
        for province in ("41", "43"):
            take_in(nodes[province], range(1, 4))
            anchor_until_final(nodes[province])
        henan = consortium.client("41")
        assert henan.checkpoint_count(41) == henan.checkpoint_count(43) == 1
        assert henan.block_number() > down_at + CONFIRMATIONS

        # Guangdong's node takes in certificates; its anchored ones still verify (against the
        # chain the other validators serve); its new checkpoint waits for its validator.
        take_in(guangdong, range(3, 6))
        with pytest.raises(ChainError):
            guangdong.anchor_once(force=True)
        status = guangdong.status()
        assert (status.log_size, status.anchored_size) == (5, 2)
        assert verdicts(guangdong, henan) == [ResultCode.VALID] * 2
        assert henan.checkpoint_count(44) == 1

        # Restarted, the validator catches up and the waiting checkpoint is anchored once.
        network["44"].start()
        head = henan.block_number()
        deadline = time.monotonic() + WAIT
        while block_number(network["44"].url) < head:
            assert time.monotonic() < deadline, network.describe()
            time.sleep(0.3)
        anchor_until_final(guangdong)
        assert guangdong.status().anchored_size == 5
        assert anchored_sizes(henan, 44) == [2, 5]
        assert verdicts(guangdong, consortium.client("44")) == [ResultCode.VALID] * 5
        for province in ("41", "43"):  # anchoring went on for the others meanwhile too
            assert anchored_sizes(henan, int(province)) == [3]

        # The audit of the whole chain, all three provinces' logs, finds nothing.
        report = audit(
            henan, LocalManifestStore(tmp_path / "manifests"), AuditOptions(calendar=calendar)
        )
        assert report.clean, report.to_json()
        assert (report.counts["checkpoints"], report.counts["entries"]) == (4, 11)
    finally:
        if not network["44"].running():
            network["44"].start()
        for node in nodes.values():
            node.close()


def test_the_watchdog_fails_when_no_block_comes_for_ten_periods(consortium: Consortium) -> None:
    network = consortium.network
    with BlockWatchdog(network) as dog:
        dog.check()  # sealing: nothing to report
        try:
            for province in ("41", "43"):  # one signer of three may not seal twice in a row
                network[province].stop()
            deadline = time.monotonic() + 10 * network.period + 15
            while dog.failure is None:
                assert time.monotonic() < deadline, "the watchdog did not notice the stall"
                time.sleep(0.5)
        finally:
            for province in ("41", "43"):
                network[province].start()
        with pytest.raises(ChainError, match="no block for 10 s") as failure:
            dog.check()
    message = str(failure.value)
    assert "41: stopped" in message and "43: stopped" in message
    assert "44: head" in message and "signers" in message  # Guangdong's Clique snapshot
    network.wait_blocks(2, timeout=WAIT)  # sealing again once restarted


_WORKER = """
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.province.test_clique import Consortium

consortium = Consortium(None, {address!r}, {keys!r}, urls={{"41": {url!r}}})
node = consortium.node("41", Path({folder!r}))
while True:
    node.anchor_once(force=True)
    time.sleep(0.1)
"""


def _states(db: Path) -> list[tuple[int, int, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT checkpoint_index, tree_size, state FROM checkpoints WHERE province = '41' "
            "ORDER BY checkpoint_index"
        ).fetchall()
    return [(int(i), int(n), str(st)) for i, n, st in rows]


def test_a_worker_killed_mid_anchoring_anchors_nothing_twice_and_loses_nothing(
    consortium: Consortium, watchdog: BlockWatchdog, tmp_path: Path
) -> None:
    folder = tmp_path / "41"
    node = consortium.node("41", folder)
    try:
        # The same first three certificates as the validator test (a chain checkpoint of size
        # 3 is then adopted, whichever test ran first), then three more entries.
        file_organisation(node)
        take_in(node, range(1, 4))
        with node.db.transaction() as session:
            entries = [for_province(e, "41") for e in make_entries(3, start=50)]
            ProvinceLog(session, "41").append(entries, now=NOW)
    finally:
        node.close()
    before = anchored_sizes(consortium.client("41"), 41)
    script = _WORKER.format(
        root=str(Path(__file__).resolve().parents[2]),
        address=consortium.address,
        keys=consortium.keys,
        url=consortium.network["41"].url,
        folder=str(folder),
    )
    worker = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)])
    try:
        # Killed once its checkpoint of size 6 is mined but not yet final (submitted).
        deadline = time.monotonic() + WAIT
        while not any(n == 6 and st == "submitted" for _, n, st in _states(folder / "node.db")):
            assert worker.poll() is None, "the worker exited"
            assert time.monotonic() < deadline, _states(folder / "node.db")
            time.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    assert worker.returncode == -signal.SIGKILL

    restarted = consortium.node("41", folder)
    try:
        anchor_until_final(restarted)
        assert restarted.anchor_once(force=True) is None  # nothing left, nothing sent again
        status = restarted.status()
        assert (status.log_size, status.anchored_size, status.open_checkpoint) == (6, 6, None)
    finally:
        restarted.close()
    sizes = anchored_sizes(consortium.client("41"), 41)
    assert sizes == [*before, 6]  # one event for the checkpoint the killed worker sent
    assert [n for _, n, st in _states(folder / "node.db") if st == "confirmed"] == (
        [3, 6] if before == [3] else [6]
    )


def _cut(network: CliqueNetwork, alone: str, *, heal: bool = False) -> None:
    """Cut (or heal) the P2P links between ``alone``'s validator and the others, both ways,
    through geth's admin API (static and trusted peers: nothing dials again until healed)."""
    others = [p for p in PROVINCES if p != alone]
    for a, b in [(alone, p) for p in others] + [(p, alone) for p in others]:
        enode = network[b].validator.enode
        if heal:
            rpc(network[a].url, "admin_addTrustedPeer", [enode])
            rpc(network[a].url, "admin_addPeer", [enode])
        else:
            rpc(network[a].url, "admin_removePeer", [enode])
            rpc(network[a].url, "admin_removeTrustedPeer", [enode])
    wanted = len(others) if heal else 0
    deadline = time.monotonic() + WAIT
    while int(rpc(network[alone].url, "net_peerCount"), 16) != wanted:
        assert time.monotonic() < deadline, network.describe()
        time.sleep(0.2)


def test_a_partitioned_validator_rejoins_and_its_checkpoint_is_anchored_once(
    consortium: Consortium, watchdog: BlockWatchdog, tmp_path: Path
) -> None:
    """Hunan's validator cut off from the other two (P2P links removed both ways): the others
    keep sealing; Hunan's node sends its checkpoint to its own validator, which alone may seal
    at most one block of a fork that never reaches its confirmations. Healed, Hunan's validator
    takes the majority's chain (its fork block, if any, is dropped) and the checkpoint is
    anchored exactly once, and Hunan's log and the chain agree."""
    network = consortium.network
    calendar = today_calendar()
    hunan = consortium.node("43", tmp_path / "43", calendar)
    henan = consortium.client("41")
    try:
        # The same first three certificates as the validator test (a chain checkpoint of size
        # 3 is then adopted, whichever test ran first), then two more.
        file_organisation(hunan)
        take_in(hunan, range(1, 4))
        anchor_until_final(hunan)
        before = anchored_sizes(henan, 43)
        take_in(hunan, range(4, 6))

        _cut(network, "43")
        try:
            cut_at = block_number(network["41"].url)
            with contextlib.suppress(ChainError):
                hunan.anchor_once(force=True)  # sent to the isolated validator only
            deadline = time.monotonic() + WAIT
            while block_number(network["41"].url) < cut_at + 2 * CONFIRMATIONS:
                assert time.monotonic() < deadline, network.describe()
                time.sleep(0.3)
            # The majority sealed on without the checkpoint; Hunan's is not final anywhere.
            assert anchored_sizes(henan, 43) == before
            assert hunan.status().anchored_size == 3
        finally:
            _cut(network, "43", heal=True)

        head = block_number(network["41"].url)
        deadline = time.monotonic() + WAIT
        while block_number(network["43"].url) < head:
            assert time.monotonic() < deadline, network.describe()
            time.sleep(0.3)
        anchor_until_final(hunan)
        assert hunan.status().anchored_size == 5
        assert anchored_sizes(henan, 43) == [*before, 5]  # one event for the checkpoint
        assert anchored_sizes(consortium.client("43"), 43) == [*before, 5]
        # Hunan's log and the chain agree (the clean audit of every log is the validator test's).
        assert hunan.log_state() == LogState("ok")
    finally:
        hunan.close()
