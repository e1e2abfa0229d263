"""Start and stop a local anvil node (npm ``@foundry-rs/anvil``) for tests and tools.

The npm package ships the binary in a platform package beside it,
``node_modules/@foundry-rs/anvil-<os>-<arch>/bin/anvil``; its ``bin.mjs`` only picks that file
and spawns it, so we spawn the binary directly. Anvil runs with ``--prune-history`` and a
private temporary HOME: without them it writes ~0.5 MB per block under ``~/.foundry`` and never
cleans up (docs/DEV.md). It listens on 127.0.0.1 only and is stopped by its PID.
"""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

import requests

from certreg.dev.servers import LocalServer, free_port
from node.core.errors import ChainError

ROOT = Path(__file__).resolve().parents[2]

# Anvil's default mnemonic ("test test … junk") gives these well-known development keys; they
# hold test ether on every fresh anvil chain and must never be used elsewhere.
ANVIL_DEV_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
)


def find_anvil(root: Path = ROOT) -> Path:
    """Return the anvil binary: ``$CERTREG_ANVIL``, the npm platform package, or PATH.

    Raises ChainError when none exists.
    """
    override = os.environ.get("CERTREG_ANVIL")
    if override:
        return Path(override)
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    system = platform.system().lower()
    candidate = root / "node_modules" / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"
    if candidate.is_file():
        return candidate
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise ChainError(f"anvil not found (looked for {candidate}); run npm install")


class AnvilNode(LocalServer):
    """A running anvil process; use as a context manager or call :meth:`start` / :meth:`stop`.

    ``extra_args`` go to anvil unchanged (for example ``["--state", path]`` to persist, or
    ``["--hardfork", "paris"]``). Stopping sends SIGTERM first, which also dumps ``--state``.
    ``prune_history`` False keeps the history, which ``anvil_reorg`` needs (it answers
    "Required data unavailable" otherwise); for a short-lived chain only (~0.5 MB per block).
    """

    name = "anvil"
    error = ChainError

    def __init__(
        self,
        *,
        port: int | None = None,
        extra_args: list[str] | None = None,
        startup_timeout: float = 15.0,
        binary: Path | None = None,
        prune_history: bool = True,
    ) -> None:
        super().__init__(startup_timeout=startup_timeout)
        self.prune_history = prune_history
        self.port = port or free_port()
        self.extra_args = list(extra_args or [])
        self.binary = binary or find_anvil()

    @property
    def url(self) -> str:
        """The JSON-RPC URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AnvilNode:
        """Start anvil and wait until it answers ``eth_chainId``.

        Raises ChainError when it exits or does not answer within the startup timeout.
        """
        if self.process is not None:
            return self
        home = self._make_home("certreg-anvil-")
        env = {**os.environ, "HOME": str(home)}
        args = [
            str(self.binary),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *(["--prune-history"] if self.prune_history else []),
            *self.extra_args,
        ]
        self._spawn(args, home, env, "anvil.log")
        self._wait_ready(self.url)
        return self

    def _answers(self) -> bool:
        try:
            reply = requests.post(
                self.url,
                json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                timeout=1.0,
            )
            return reply.ok and "result" in reply.json()
        except (requests.RequestException, ValueError):
            return False
