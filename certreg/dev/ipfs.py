"""Start and stop a local, offline IPFS daemon (npm ``ipfs``, js-ipfs) for tests and tools.

Kubo cannot be installed here (its npm and PyPI wrappers download the binary at run time), so
the daemon is js-ipfs 0.66.1, which serves the same HTTP RPC API (``/api/v0/add``, ``cat``,
``pin``…) that ``ipfshttpclient`` speaks and gives Kubo's CIDv0 for ``add`` with default
settings. It needs two fixes on Node 20 (docs/IPFS.md): the
``Promise.withResolvers`` polyfill in ``scripts/ipfs/polyfill.cjs``, preloaded through
``NODE_OPTIONS=--require``, and npm ``overrides`` in ``package.json`` that pin the libp2p
transports (without them the daemon hangs with "no valid addresses were provided for
transports").

Each :class:`IpfsDaemon` gets its own repository and HOME in a temporary directory, binds the
API, gateway and gRPC endpoints to free ports on 127.0.0.1, listens on no swarm address, has no
bootstrap peers, no MDNS and runs ``--offline``: it never talks to a network. The daemon runs in
its own process group, which :meth:`IpfsDaemon.stop` signals by id.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import requests

from certreg.dev.servers import LocalServer, free_port
from node.core.errors import ManifestStoreError

ROOT = Path(__file__).resolve().parents[2]

#: The ``Promise.withResolvers`` polyfill preloaded into the daemon (docs/IPFS.md, "Fixes").
POLYFILL = ROOT / "scripts" / "ipfs" / "polyfill.cjs"


def find_ipfs(root: Path = ROOT) -> Path:
    """Return the js-ipfs CLI script: ``$CERTREG_IPFS`` or ``node_modules/ipfs/src/cli.js``.

    The npm ``bin`` entry (``node_modules/.bin/jsipfs``) is a link to the same script; the script
    itself is returned so that it can be run with the ``node`` found on PATH.

    Raises:
        ManifestStoreError: no such script (run ``npm ci``).
    """
    override = os.environ.get("CERTREG_IPFS")
    if override:
        return Path(override)
    candidate = root / "node_modules" / "ipfs" / "src" / "cli.js"
    if candidate.is_file():
        return candidate
    raise ManifestStoreError(f"js-ipfs not found (looked for {candidate}); run npm ci")


def find_node() -> Path:
    """Return the ``node`` executable on PATH.

    Raises:
        ManifestStoreError: Node.js is not installed.
    """
    found = shutil.which("node")
    if found is None:
        raise ManifestStoreError("node (Node.js) not found on PATH; js-ipfs needs it")
    return Path(found)


def offline_config(config: dict[str, Any], api: int, gateway: int, grpc: int) -> dict[str, Any]:
    """Return ``config`` (a js-ipfs repository config) bound to 127.0.0.1 and cut off.

    API, gateway and gRPC on the given ports; no swarm listeners, no bootstrap peers, no
    delegates, MDNS and WebRTC-star off. ``--offline`` alone would still open the gRPC port
    5003 that every fresh repository shares, so two daemons could not run side by side.
    """
    addresses = dict(config.get("Addresses", {}))
    addresses.update(
        API=f"/ip4/127.0.0.1/tcp/{api}",
        Gateway=f"/ip4/127.0.0.1/tcp/{gateway}",
        RPC=f"/ip4/127.0.0.1/tcp/{grpc}",
        Swarm=[],
        Announce=[],
        Delegates=[],
    )
    discovery = dict(config.get("Discovery", {}))
    discovery["MDNS"] = {**discovery.get("MDNS", {}), "Enabled": False}
    discovery["webRTCStar"] = {**discovery.get("webRTCStar", {}), "Enabled": False}
    return {**config, "Addresses": addresses, "Discovery": discovery, "Bootstrap": []}


class IpfsDaemon(LocalServer):
    """A running js-ipfs daemon; use as a context manager or call :meth:`start` / :meth:`stop`.

    ``api_url`` (``http://127.0.0.1:<port>``) is what :class:`anchor.manifest.IpfsManifestStore`
    takes; ``api_multiaddr`` is the same endpoint as ``ipfshttpclient.Client`` wants it.
    """

    name = "IPFS daemon"
    error = ManifestStoreError
    group = True  # node spawns workers: the daemon runs in its own session, stopped as a whole
    poll_interval = 0.1

    def __init__(
        self,
        *,
        startup_timeout: float = 60.0,
        script: Path | None = None,
        node: Path | None = None,
    ) -> None:
        super().__init__(startup_timeout=startup_timeout)
        self.script = script or find_ipfs()
        self.node = node or find_node()
        self.api_port = 0
        self.gateway_port = 0

    @property
    def api_url(self) -> str:
        """The HTTP RPC API as a URL (``http://127.0.0.1:<port>``)."""
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def api_multiaddr(self) -> str:
        """The HTTP RPC API as a multiaddr (``/ip4/127.0.0.1/tcp/<port>/http``)."""
        return f"/ip4/127.0.0.1/tcp/{self.api_port}/http"

    @property
    def gateway_url(self) -> str:
        """The read-only HTTP gateway (``<gateway_url>/ipfs/<cid>``)."""
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def repo(self) -> Path:
        """The daemon's repository (``IPFS_PATH``; blocks under ``blocks/``), while running.

        Raises:
            ManifestStoreError: the daemon is not running.
        """
        if self._home is None:
            raise ManifestStoreError("the IPFS daemon is not running")
        return Path(self._home.name) / "repo"

    def start(self) -> IpfsDaemon:
        """Initialise a repository in a temp dir, start the daemon and wait until it answers.

        Raises:
            ManifestStoreError: ``init`` failed, the daemon exited, or it did not answer
                ``/api/v0/version`` within the startup timeout.
        """
        if self.process is not None:
            return self
        home = self._make_home("certreg-ipfs-")
        env = self._environment(home)
        try:
            self._init_repository(home, env)
        except BaseException:
            self._cleanup()
            raise
        self._spawn(
            [str(self.node), str(self.script), "daemon", "--offline"], home, env, "daemon.log"
        )
        self._wait_ready(self.api_url)
        return self

    def _environment(self, home: Path) -> dict[str, str]:
        preload = f"--require {POLYFILL}"
        options = os.environ.get("NODE_OPTIONS", "")
        return {
            **os.environ,
            "HOME": str(home),
            "IPFS_PATH": str(home / "repo"),  # the ``repo`` property
            "NODE_OPTIONS": f"{options} {preload}".strip(),
        }

    def _init_repository(self, home: Path, env: dict[str, str]) -> None:
        """``jsipfs init --profile=test`` (no bootstrap, no MDNS), then bind our ports."""
        done = subprocess.run(
            [str(self.node), str(self.script), "init", "--profile=test"],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=self.startup_timeout,
            check=False,
        )
        if done.returncode != 0:
            output = (done.stdout + done.stderr)[-2000:]
            raise ManifestStoreError(f"jsipfs init failed: {output}")
        self.api_port, self.gateway_port = free_port(), free_port()
        path = home / "repo" / "config"
        config = json.loads(path.read_text())
        config = offline_config(config, self.api_port, self.gateway_port, free_port())
        path.write_text(json.dumps(config, indent=2))

    def _answers(self) -> bool:
        try:
            reply = requests.post(f"{self.api_url}/api/v0/version", timeout=1.0)
            return reply.ok and "Version" in reply.json()
        except (requests.RequestException, ValueError):
            return False
