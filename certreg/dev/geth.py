"""A local Clique proof-of-authority network of go-ethereum (geth 1.13) validators, one per
province, for tests and ``certreg dev up --engine clique``.

geth is built from source by ``scripts/setup.sh`` into ``.tools/bin/geth`` (``go install
github.com/ethereum/go-ethereum/cmd/geth@v1.13.15``; 1.14 removed Clique sealing). Each validator
is one geth process with its own data directory, on 127.0.0.1 only:

- the genesis (:func:`clique_genesis`) has ``clique.period`` seconds between blocks, every fork up
  to London at block 0 and no Shanghai or Cancun (Clique in 1.13 refuses them; the contract is
  compiled for ``paris``), and the sorted signer addresses in ``extraData``;
- each validator seals with its own account (a keystore file with a development password,
  ``--unlock --allow-insecure-unlock``) and knows the others as static peers through its TOML
  config (1.13 ignores ``static-nodes.json``); discovery is off; its node key is written before
  the first start so that every enode is known in advance;
- P2P, HTTP and auth-RPC ports are distinct per validator; IPC is off.

web3.py needs the proof-of-authority ``extraData`` middleware to read Clique blocks
(:func:`anchor.transport.connect` adds it to every HTTP connection).

:class:`GethNode` is one validator process (a :class:`~certreg.dev.servers.LocalServer`: started
and stopped by its PID, killed with SIGKILL for fault tests); :class:`CliqueNetwork` writes a
network into a folder and starts, stops and restarts its validators. :func:`geth_argv` is the
command line, shared with the detached processes of ``certreg dev up``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from eth_keys.datatypes import PrivateKey
from eth_typing import HexStr

from certreg.dev.servers import LocalServer, free_port
from node.core.errors import ChainError

ROOT = Path(__file__).resolve().parents[2]
GETH_VERSION = "1.13.15"
#: Where scripts/setup.sh builds geth (gitignored).
TOOLS_GETH = ROOT / ".tools" / "bin" / "geth"
#: Seconds between Clique blocks.
CLIQUE_PERIOD = 1
CLIQUE_EPOCH = 30_000
CLIQUE_CHAIN_ID = 7_744
#: The keystore password of the development validators (on this machine only).
DEV_PASSWORD = "certreg-dev-validator"
#: Development funds of each validator and funded account (wei).
FUNDS = 10**24
#: A block gas limit large enough for deploying the consortium contract.
GAS_LIMIT = 30_000_000
_VANITY = b"\x00" * 32
_SEAL = b"\x00" * 65


def find_geth(root: Path = ROOT) -> Path:
    """Return the geth binary: ``$CERTREG_GETH``, ``.tools/bin/geth`` (scripts/setup.sh builds
    it), or ``geth`` on PATH.

    Raises ChainError when none exists.
    """
    override = os.environ.get("CERTREG_GETH")
    if override:
        return Path(override)
    candidate = root / ".tools" / "bin" / "geth"
    if candidate.is_file():
        return candidate
    found = shutil.which("geth")
    if found:
        return Path(found)
    raise ChainError(
        f"geth not found (looked for {candidate}); scripts/setup.sh builds go-ethereum "
        f"v{GETH_VERSION} there (needs Go)"
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Validator:
    """One Clique signer and the ports of its geth process."""

    name: str
    key: str
    node_key: str
    p2p_port: int
    http_port: int
    auth_port: int

    @property
    def address(self) -> str:
        """The signer's checksummed address."""
        return str(Account.from_key(self.key).address)

    @property
    def enode(self) -> str:
        """The enode URL the other validators dial (its node key's public key)."""
        public = PrivateKey(bytes.fromhex(self.node_key)).public_key.to_hex()[2:]
        return f"enode://{public}@127.0.0.1:{self.p2p_port}"

    @property
    def url(self) -> str:
        """Its JSON-RPC URL."""
        return f"http://127.0.0.1:{self.http_port}"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Validator:
        return cls(**{f.name: value[f.name] for f in dataclasses.fields(cls)})

    @classmethod
    def new(cls, name: str, ports: Iterable[int] | None = None) -> Validator:
        """A validator with fresh keys and free ports (or the three ``ports`` given)."""
        p2p, http, auth = tuple(ports) if ports is not None else (free_port(), 0, 0)
        if ports is None:
            chosen = {p2p}
            http = _free_port_not_in(chosen)
            auth = _free_port_not_in(chosen)
        return cls(
            name=name,
            key="0x" + secrets.token_bytes(32).hex(),
            node_key=secrets.token_bytes(32).hex(),
            p2p_port=p2p,
            http_port=http,
            auth_port=auth,
        )


def _free_port_not_in(chosen: set[int]) -> int:
    while (port := free_port()) in chosen:
        pass
    chosen.add(port)
    return port


def clique_genesis(
    signers: Sequence[str],
    *,
    chain_id: int = CLIQUE_CHAIN_ID,
    period: int = CLIQUE_PERIOD,
    funded: Iterable[str] = (),
) -> dict[str, Any]:
    """The genesis of a Clique network sealed by ``signers`` (addresses), with every fork up to
    London at block 0 and none after, and ``FUNDS`` for each signer and ``funded`` account."""
    ordered = sorted({bytes.fromhex(s.removeprefix("0x")) for s in signers})
    extra = _VANITY + b"".join(ordered) + _SEAL
    forks = (
        "homesteadBlock", "eip150Block", "eip155Block", "eip158Block", "byzantiumBlock",
        "constantinopleBlock", "petersburgBlock", "istanbulBlock", "berlinBlock", "londonBlock",
    )  # fmt: skip
    alloc = {a.removeprefix("0x").lower(): {"balance": hex(FUNDS)} for a in [*signers, *funded]}
    return {
        "config": {
            "chainId": chain_id,
            **dict.fromkeys(forks, 0),
            "clique": {"period": period, "epoch": CLIQUE_EPOCH},
        },
        "difficulty": "0x1",
        "gasLimit": hex(GAS_LIMIT),
        "extraData": "0x" + extra.hex(),
        "alloc": alloc,
    }


def _toml_strings(values: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def write_validator(
    folder: Path, validator: Validator, peers: Sequence[Validator], genesis: Path, geth: Path
) -> None:
    """Lay out ``folder`` for ``validator``: its keystore (scrypt-light development password),
    node key, password file and TOML config naming ``peers`` as static nodes, then ``geth
    init`` with ``genesis``.

    Raises ChainError when ``geth init`` fails.
    """
    data = folder / "data"
    (data / "keystore").mkdir(parents=True, exist_ok=True)
    (data / "geth").mkdir(parents=True, exist_ok=True)
    keystore = Account.encrypt(HexStr(validator.key), DEV_PASSWORD, kdf="pbkdf2", iterations=1024)
    address = validator.address.removeprefix("0x").lower()
    (data / "keystore" / f"UTC--certreg--{address}").write_text(json.dumps(keystore))
    (data / "geth" / "nodekey").write_text(validator.node_key)
    (folder / "password").write_text(DEV_PASSWORD + "\n")
    static = [p.enode for p in peers if p.name != validator.name]
    (folder / "config.toml").write_text(
        f"[Node.P2P]\nStaticNodes = {_toml_strings(static)}\nTrustedNodes = "
        f"{_toml_strings(static)}\n"
    )
    done = subprocess.run(
        [str(geth), "--datadir", str(data), "init", str(genesis)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise ChainError(f"geth init failed: {(done.stdout + done.stderr)[-1500:]}")


def write_network(
    folder: Path,
    validators: Sequence[Validator],
    *,
    chain_id: int = CLIQUE_CHAIN_ID,
    period: int = CLIQUE_PERIOD,
    funded: Iterable[str] = (),
    geth: Path | None = None,
) -> None:
    """Write the genesis of ``validators`` and each one's folder ``folder/<name>``."""
    binary = geth or find_geth()
    folder.mkdir(parents=True, exist_ok=True)
    genesis = folder / "genesis.json"
    genesis.write_text(
        json.dumps(
            clique_genesis(
                [v.address for v in validators], chain_id=chain_id, period=period, funded=funded
            ),
            indent=2,
        )
    )
    (folder / "validators.json").write_text(
        json.dumps({"chain_id": chain_id, "validators": [v.to_json() for v in validators]})
    )
    for validator in validators:
        write_validator(folder / validator.name, validator, validators, genesis, binary)


def read_validators(folder: Path) -> tuple[int, list[Validator]]:
    """The chain id and validators :func:`write_network` recorded in ``folder``."""
    value = json.loads((folder / "validators.json").read_text())
    return int(value["chain_id"]), [Validator.from_json(v) for v in value["validators"]]


def geth_argv(geth: Path, folder: Path, validator: Validator, chain_id: int) -> list[str]:
    """The command line of ``validator``'s geth process (its folder as :func:`write_validator`
    laid it out)."""
    return [
        str(geth),
        "--datadir", str(folder / "data"),
        "--config", str(folder / "config.toml"),
        "--networkid", str(chain_id),
        "--port", str(validator.p2p_port),
        "--nat", "none",
        "--nodiscover",
        "--ipcdisable",
        "--syncmode", "full",
        "--http", "--http.addr", "127.0.0.1", "--http.port", str(validator.http_port),
        "--http.api", "eth,net,web3,clique,txpool,admin",
        "--authrpc.addr", "127.0.0.1", "--authrpc.port", str(validator.auth_port),
        "--mine", "--miner.etherbase", validator.address,
        "--unlock", validator.address,
        "--password", str(folder / "password"),
        "--allow-insecure-unlock",
        "--verbosity", "3",
    ]  # fmt: skip


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 2.0) -> Any:
    """One JSON-RPC call; raises ChainError for a transport or JSON-RPC error."""
    try:
        reply = requests.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []},
            timeout=timeout,
        )
        value = reply.json()
    except (requests.RequestException, ValueError) as exc:
        raise ChainError(f"{method} on {url}: {exc}") from exc
    if "error" in value:
        raise ChainError(f"{method} on {url}: {value['error']}")
    return value.get("result")


def block_number(url: str) -> int:
    """The validator's head block number."""
    return int(rpc(url, "eth_blockNumber"), 16)


def clique_snapshot(url: str) -> Any:
    """The validator's Clique snapshot at its head (signers, recent signers, votes)."""
    return rpc(url, "clique_getSnapshot", ["latest"], timeout=5.0)


class GethNode(LocalServer):
    """One validator's geth process over a folder :func:`write_validator` laid out; the folder
    survives :meth:`stop`, so the validator can be started again where it stopped."""

    name = "geth"
    error = ChainError
    group = True

    def __init__(
        self,
        folder: Path,
        validator: Validator,
        chain_id: int,
        *,
        geth: Path | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        super().__init__(startup_timeout=startup_timeout)
        self.folder = folder
        self.validator = validator
        self.chain_id = chain_id
        self.binary = geth or find_geth()
        self.starts = 0

    @property
    def url(self) -> str:
        return self.validator.url

    def start(self) -> GethNode:
        """Start geth and wait until it answers ``eth_chainId``.

        Raises ChainError when it exits or does not answer within the startup timeout.
        """
        if self.process is not None:
            return self
        self.starts += 1
        log = self.folder / f"geth-{self.starts}.log"
        env = {**os.environ, "HOME": str(self.folder)}
        self._spawn(
            geth_argv(self.binary, self.folder, self.validator, self.chain_id),
            self.folder,
            env,
            log.name,
        )
        self._wait_ready(self.url)
        return self

    def _answers(self) -> bool:
        try:
            return rpc(self.url, "eth_chainId", timeout=1.0) is not None
        except ChainError:
            return False

    def kill(self) -> None:
        """SIGKILL the process (a crash: no clean shutdown), keep the folder."""
        process = self.process
        if process is not None and process.poll() is None:
            self._signal(signal.SIGKILL)
            process.wait(timeout=30)
        self.process = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        """Everything this validator logged, all starts."""
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.folder.glob("geth-*.log"))
        )


class CliqueNetwork:
    """``count`` Clique validators named ``names`` in ``folder`` (a temporary folder by
    default, removed by :meth:`stop`); ``funded`` accounts get development funds at genesis.

    Use as a context manager or call :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        names: Sequence[str] = ("44", "41", "43"),
        *,
        folder: Path | None = None,
        funded: Iterable[str] = (),
        chain_id: int = CLIQUE_CHAIN_ID,
        period: int = CLIQUE_PERIOD,
        geth: Path | None = None,
    ) -> None:
        self.binary = geth or find_geth()
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        if folder is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="certreg-clique-")
            folder = Path(self._temporary.name)
        self.folder = folder
        self.chain_id = chain_id
        self.period = period
        self.validators = [Validator.new(name) for name in names]
        write_network(
            folder,
            self.validators,
            chain_id=chain_id,
            period=period,
            funded=funded,
            geth=self.binary,
        )
        self.nodes = {
            v.name: GethNode(folder / v.name, v, chain_id, geth=self.binary)
            for v in self.validators
        }

    def __getitem__(self, name: str) -> GethNode:
        return self.nodes[name]

    @property
    def urls(self) -> dict[str, str]:
        return {name: node.url for name, node in self.nodes.items()}

    def connect_peers(self) -> None:
        """Ask every running validator to dial the others now (``admin_addPeer``). The static
        peers of its configuration are dialled at start, but a validator started before the
        others waits ~30 s before dialling again, while each seals a block of its own."""
        running = [node for node in self.nodes.values() if node.running()]
        for node in running:
            for other in running:
                if other is not node:
                    rpc(node.url, "admin_addPeer", [other.validator.enode])

    def start(self) -> CliqueNetwork:
        """Start every validator; wait until they are peered and blocks are being sealed.

        Raises ChainError when a validator does not start or no block comes in time.
        """
        try:
            for node in self.nodes.values():
                node.start()
            self.connect_peers()
            self.wait_blocks(2, timeout=60.0)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_blocks(self, count: int, *, timeout: float, names: Iterable[str] | None = None) -> int:
        """Wait until every running validator (or those ``names``) is ``count`` blocks past
        the highest head seen now; return that head.

        Raises ChainError on timeout, with each validator's head and Clique snapshot.
        """
        chosen = [self.nodes[n] for n in names] if names is not None else list(self.running())
        start = max(_head_or(n.url, -1) for n in chosen)
        target = start + count
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            heads = [_head_or(n.url, -1) for n in chosen]
            if min(heads) >= target:
                return min(heads)
            time.sleep(0.2)
        raise ChainError(f"no block {target} within {timeout:.0f} s: {self.describe()}")

    def running(self) -> list[GethNode]:
        return [n for n in self.nodes.values() if n.running()]

    def describe(self) -> str:
        """Each validator's head block and Clique snapshot (for failure messages)."""
        parts = []
        for name, node in self.nodes.items():
            if not node.running():
                parts.append(f"{name}: stopped")
                continue
            try:
                snapshot = clique_snapshot(node.url)
                parts.append(f"{name}: head {block_number(node.url)}, snapshot {snapshot}")
            except ChainError as exc:
                parts.append(f"{name}: {exc}")
        return "; ".join(parts)

    def stop(self) -> None:
        """Stop every validator by its PID and remove a temporary folder."""
        for node in self.nodes.values():
            with contextlib.suppress(Exception):
                node.stop()
        if self._temporary is not None:
            self._temporary.cleanup()
            self._temporary = None

    def __enter__(self) -> CliqueNetwork:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class BlockWatchdog:
    """Watches a :class:`CliqueNetwork` from a thread: when no running validator's head moves
    for ``periods`` Clique periods (ten by default), it records a failure with each validator's
    head and Clique snapshot, taken at that moment (:meth:`check` raises it).

    Validators may be stopped and started meanwhile; only a stall of every running one counts.
    Use as a context manager or call :meth:`start` / :meth:`stop`.
    """

    def __init__(self, network: CliqueNetwork, *, periods: int = 10) -> None:
        self.network = network
        self.periods = periods
        self.limit = periods * network.period
        self.failure: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="clique-watchdog", daemon=True)

    def start(self) -> BlockWatchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def __enter__(self) -> BlockWatchdog:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def check(self) -> None:
        """Raise ChainError when the network stalled since the watchdog started."""
        if self.failure is not None:
            raise ChainError(self.failure)

    def _head(self) -> int:
        return max((_head_or(n.url, -1) for n in self.network.running()), default=-1)

    def _watch(self) -> None:
        head, since = self._head(), time.monotonic()
        while not self._stop.wait(0.25):
            now = self._head()
            if now > head:
                head, since = now, time.monotonic()
            elif time.monotonic() - since > self.limit and self.failure is None:
                self.failure = (
                    f"no block for {self.limit} s ({self.periods} Clique periods) after block "
                    f"{head}: "
                    f"{self.network.describe()}"
                )


def _head_or(url: str, default: int) -> int:
    try:
        return block_number(url)
    except ChainError:
        return default
