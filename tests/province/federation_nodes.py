"""Three province nodes (44 广东, 41 河南, 43 湖南) on one in-process EVM, each with its own
SQLite database, federation key published on the contract, and API served by a real uvicorn
server on 127.0.0.1, for the tests of queries across provinces (docs/SHARING.md). Guangdong
holds the sample organisation's three anchored certificates."""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import requests
import uvicorn

from anchor.chain import RegistryClient, connect
from anchor.manifest import LocalManifestStore
from anchor.trust_roots import publish_checkpoint_key
from api.app import create_app
from api.auth import create_api_key
from api.context import ApiSettings
from certreg.dev.servers import free_port
from node.core.crypto.signatures import get_suite
from node.core.rules.workdays import WorkdayCalendar
from node.services.intake_checks import Accepted
from node.storage import open_database
from province.federation import Federation
from province.node import ProvinceNode
from tests.node.storage.conftest import blind_index, cipher
from tests.province.helpers import NOW, file_sample_organisation, issue

PROVINCES = ("44", "41", "43")


class Server:
    """One app served by uvicorn in a thread of this process (real HTTP on loopback)."""

    def __init__(self, app: Any, port: int) -> None:
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=20)
        self._server = None


@dataclasses.dataclass
class Province:
    code: str
    node: ProvinceNode
    server: Server
    keys: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.url

    def get(self, path: str, params: dict[str, str] | None = None, role: str | None = None,
            key: str | None = None) -> requests.Response:  # fmt: skip
        token = key or (self.keys[role] if role else None)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(self.url + path, params=params, headers=headers, timeout=30)


@dataclasses.dataclass
class Consortium:
    provinces: dict[str, Province]
    issued: list[Accepted]
    #: Each node's request-signing key.
    secrets: dict[str, bytes]

    def __getitem__(self, code: str) -> Province:
        return self.provinces[code]

    def close(self) -> None:
        for province in self.provinces.values():
            province.server.stop()
            province.node.close()


def checkpoint_key(code: str) -> bytes:
    """Province ``code``'s checkpoint-signing key (Ed25519) in these tests."""
    return get_suite("ed25519").generate_private_key(f"checkpoint {code}".encode().ljust(32, b"."))


def start_consortium(folder: Path, *, checkpoint_keys: bool = False) -> Consortium:
    """Deploy, set up the three nodes, publish their keys and serve their APIs (with
    ``checkpoint_keys``, each node also publishes its checkpoint-signing key and serves signed
    snapshots, ``certreg serve --checkpoint-key``)."""
    w3 = connect("memory")
    accounts = list(w3.eth.accounts)
    founders = [(int(p), accounts[i]) for i, p in enumerate(PROVINCES)]
    first, _ = RegistryClient.deploy(w3, founders, sender=accounts[0])
    ports = {p: free_port() for p in PROVINCES}
    peers = {p: f"http://127.0.0.1:{port}" for p, port in ports.items()}
    provinces: dict[str, Province] = {}
    issued: list[Accepted] = []
    keys_of = {p: secrets.token_bytes(32) for p in PROVINCES}
    for i, code in enumerate(PROVINCES):
        client = RegistryClient(w3, first.address, sender=accounts[i])
        db = open_database(f"sqlite:///{folder / f'node-{code}.db'}")
        # Generous: on a loaded 2-core machine a first query (keys read from the chain) can
        # take over a second; the "does not answer in time" test waits this long.
        federation = Federation(code, keys_of[code], peers, client, timeout=5.0)
        node = ProvinceNode(
            province=code,
            db=db,
            client=client,
            store=LocalManifestStore(folder / "manifests"),
            cipher=cipher(),
            blind_index=blind_index(),
            batch_size=1000,
            max_age_seconds=3600.0,
            clock=lambda: NOW,
            calendar=WorkdayCalendar.default(),
            federation=federation,
        )
        federation.register()
        if code == "44":
            file_sample_organisation(db, client)
            issued = [issue(node, serial) for serial in (1, 2, 3)]
            node.anchor_all()
        keys = {
            "operator": create_api_key(db, "operator", code),
            "auditor": create_api_key(db, "auditor"),
        }
        key_file = None
        if checkpoint_keys:
            private = checkpoint_key(code)
            publish_checkpoint_key(client, "ed25519", get_suite("ed25519").public_key(private))
            key_file = folder / f"checkpoint-{code}.hex"
            key_file.write_text(private.hex() + "\n", encoding="ascii")
        settings = ApiSettings(  # with the page at /static
            search_rate=1e6, search_burst=10**6, verify_burst=10**6, checkpoint_key=key_file
        )
        server = Server(create_app(node, settings), ports[code])
        server.start()
        provinces[code] = Province(code, node, server, keys)
    return Consortium(provinces, issued, keys_of)
