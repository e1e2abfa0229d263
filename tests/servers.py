"""The external servers of the test suite, one instance each per pytest run.

``postgres`` (a throwaway PostgreSQL cluster, or ``CERTREG_TEST_POSTGRES_URL``), ``anvil_node``
(a real anvil chain) and ``ipfs_daemon`` (an offline js-ipfs daemon) are session-scoped and
registered once, from the root ``tests/conftest.py``: every suite (storage, node, contract,
anchor, province) asks for them by name and gets the same instance. Suite conftests must not
import these fixtures: an imported fixture function is a second definition, and pytest would
start a second server for the suite that imported it. :data:`STARTS` counts the starts and each
fixture refuses to start its server twice in one run.

A server whose program is missing fails the test under ``CI=true`` (it must run there) and
skips it elsewhere; a server that is present but does not start is an error everywhere.
"""

from __future__ import annotations

import collections
import itertools
import os
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

import psycopg
import pytest
from sqlalchemy.engine import make_url

from certreg.dev.anvil import AnvilNode, find_anvil
from certreg.dev.ipfs import IpfsDaemon, find_ipfs, find_node
from node.core.errors import ChainError, ManifestStoreError
from node.storage import upgrade
from tests.node.storage.pgserver import PostgresServer, find_bindir, start_postgres

#: How many times each server was started in this process (one run: at most 1 each).
STARTS: collections.Counter[str] = collections.Counter()


def missing(environ: Mapping[str, str], message: str) -> NoReturn:
    """Fail under ``CI=true`` (every server must run there); skip elsewhere."""
    if environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _count_start(name: str) -> None:
    if STARTS[name]:
        raise AssertionError(
            f"a second {name} server in one run: a conftest re-imports the {name} fixture "
            "(tests/servers.py registers it once, from tests/conftest.py)"
        )
    STARTS[name] += 1


# ---------------------------------------------------------------------------------------------
# PostgreSQL

_counter = itertools.count()


class PostgresAdmin:
    """Creates databases on the test server: empty ones, or copies of a migrated template."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.template = f"certreg_tpl_{os.getpid()}"
        self._template_ready = False
        self.created: list[str] = []

    def _admin(self) -> psycopg.Connection[Any]:
        u = self.url
        return psycopg.connect(
            host=u.host, port=u.port, user=u.username, password=u.password,
            dbname=u.database or "postgres", autocommit=True,
        )  # fmt: skip

    def create(self, *, migrated: bool) -> str:
        name = f"certreg_t{os.getpid()}_{next(_counter)}"
        with self._admin() as conn:
            if migrated and not self._template_ready:
                conn.execute(f"CREATE DATABASE {self.template} TEMPLATE template0")
                self.created.append(self.template)
                upgrade(self._url(self.template))
                self._template_ready = True
            source = self.template if migrated else "template0"
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {source}")
            self.created.insert(0, name)
        return self._url(name)

    def _url(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop_created(self) -> None:
        """Drop the scratch databases this run created (on a server the suite did not start).

        Whole test databases, not rows: the registry's own code never deletes anything.
        """
        with self._admin() as conn:
            for name in self.created:
                conn.execute(f"DROP DATABASE IF EXISTS {name}")


NO_POSTGRES = (
    "PostgreSQL binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin: "
    "run scripts/setup.sh as root (apt-get install postgresql) or set CERTREG_TEST_POSTGRES_URL"
)


def no_postgres(environ: Mapping[str, str]) -> NoReturn:
    """Fail under ``CI=true`` (the PostgreSQL half must run there); skip elsewhere."""
    missing(environ, NO_POSTGRES)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresAdmin]:
    """The run's PostgreSQL: ``CERTREG_TEST_POSTGRES_URL``, or a cluster started (and stopped
    by PID) here."""
    url = os.environ.get("CERTREG_TEST_POSTGRES_URL")
    if url:
        admin = PostgresAdmin(url)
        yield admin
        admin.drop_created()
        return
    bindir = find_bindir()
    if bindir is None:
        no_postgres(os.environ)
    assert bindir is not None
    _count_start("postgres")
    server: PostgresServer = start_postgres(bindir)
    try:
        yield PostgresAdmin(server.url("postgres"))
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# anvil


@pytest.fixture(scope="session")
def anvil_node() -> Iterator[AnvilNode]:
    """The run's anvil chain (12 funded accounts), stopped by PID at the end.

    Tests share it: deploy a fresh contract or use ``evm_snapshot`` / ``evm_revert`` (the
    contract suite's ``reg`` fixture) rather than relying on an empty chain.
    """
    try:
        find_anvil()
    except ChainError as exc:
        missing(os.environ, f"{exc} (npm ci installs @foundry-rs/anvil)")
    _count_start("anvil")
    with AnvilNode(extra_args=["--accounts", "12"]) as node:
        yield node


# ---------------------------------------------------------------------------------------------
# IPFS


@pytest.fixture(scope="session")
def ipfs_daemon() -> Iterator[IpfsDaemon]:
    """The run's offline js-ipfs daemon (``api_url`` for ``IpfsManifestStore``), stopped by
    its process group at the end (docs/IPFS.md)."""
    try:
        find_ipfs()
        find_node()
    except ManifestStoreError as exc:
        missing(os.environ, f"{exc} (docs/IPFS.md)")
    _count_start("ipfs")
    with IpfsDaemon() as daemon:
        yield daemon
