"""``certreg dev up`` / ``certreg dev down``: a local three-province consortium on one machine.

``up`` starts, with no configuration (docs/DEV.md):

- a chain: anvil with its state in ``DIR/chain/state.json`` (``--state``, dumped on SIGTERM and
  every few seconds by ``--state-interval``), or with ``ephemeral`` the in-process EVM behind a
  loopback JSON-RPC endpoint (:mod:`certreg.dev.memchain`; nothing persists), or with
  ``engine="clique"`` three go-ethereum validators, one per founding province, sealing by Clique
  proof of authority (:mod:`certreg.dev.geth`; each in ``DIR/chain/<code>``), each province's
  node and API talking to its own validator;
- the consortium contract, deployed with the three founding provinces of the data set
  (44 广东, 41 河南, 43 湖南), each with its own freshly generated operator account (funded from
  the chain's first development account);
- the manifest store: an offline js-ipfs daemon with its repository in ``DIR/ipfs`` when Node.js
  and the npm package are there (``certreg/dev/ipfs.py``), else one local content-addressed folder
  ``DIR/manifests`` shared by the three nodes (same CIDs either way, docs/IPFS.md);
- one node per province in ``DIR/nodes/<code>`` (``node.json`` as ``certreg node init`` writes it,
  its own SQLite database, privacy keys and API port), its organisations filed and the synthetic
  data set (:mod:`certreg.dev.dataset`) taken in and anchored;
- per province an API server (``certreg serve``) and an anchoring worker (``certreg node run``)
  in the background, on 127.0.0.1, recorded by PID in ``DIR/pids.json``
  (:mod:`certreg.dev.processes`);
- API keys per province (operator, an issuer, auditor) in ``DIR/api-keys.json`` (mode 0600) and a
  sample bundle with a snapshot in ``DIR/sample/``;
- queries across provinces (docs/SHARING.md): each node's request-signing key published on the
  contract and the other provinces' API addresses in its ``node.json``; and in Henan a sharing
  agreement with a synthetic employer platform covering the three provinces, whose partner key
  is in ``DIR/api-keys.json`` (``41.partner``).

Run again on the same folder after ``down``, it restarts the processes on the same ports with
every piece of state kept (chain, databases, manifests) and generates nothing. ``down`` stops the
processes by their recorded PIDs (workers and servers first, the chain last, so that anvil dumps
its state after the last write).

The data set is synthetic (made-up names, ID numbers that are nobody's); the keys in
``DIR/api-keys.json`` and each ``node.json`` are development keys for this machine only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

import requests
from tqdm import tqdm

from certreg.dev.processes import (
    DevError,
    ProcessRecord,
    is_ours,
    log_tail,
    read_records,
    require_ports_free,
    spawn,
    stop,
    wait_until,
    write_records,
)
from node.core.rules.workdays import WorkdayCalendar
from node.core.time import CHINA_STANDARD_TIME, china_date
from node.storage.files import open_private, write_private_json

STATE_NAME = "dev.json"
KEYS_NAME = "api-keys.json"
#: The consortium's trust root (docs/FORMATS.md "Trust roots"), signed by every member; each
#: node serves it beside its page and the sample snapshot is signed by every member too.
TRUST_ROOT_NAME = "trust-root.json"
#: Each node's checkpoint-signing key (hex, Ed25519) in its folder: derived from the seed, as
#: everything of a dev consortium, so never for real use.
CHECKPOINT_KEY_NAME = "checkpoint-key.hex"
#: Seconds between the running nodes' witnessing passes (``node.json`` ``witness``).
WITNESS_INTERVAL = 10.0
STATE_TYPE = "certreg.dev-consortium"
DEFAULT_DIR = ".certreg-dev"
DEFAULT_CERTIFICATES = 3000
PROVINCE_NAMES = {"44": "广东", "41": "河南", "43": "湖南"}
#: What ``up`` creates in DIR; a failed or ephemeral consortium's leftovers are these only.
CREATED = (
    "chain",
    "ipfs",
    "nodes",
    "data",
    "manifests",
    "sample",
    "logs",
    "walkthrough",
    STATE_NAME,
    KEYS_NAME,
    "pids.json",
)
#: Development funds for each operator account (wei): gas for years of dev use.
OPERATOR_FUNDS = 1000 * 10**18
#: Anchoring of the dev nodes: a checkpoint at 1000 entries or after 2 s (docs/DOMAIN.md allows a
#: node to anchor at any time; short ages keep the walkthrough quick).
BATCH_SIZE = 1000
MAX_AGE_SECONDS = 2.0
SERVICE_START_SECONDS = 60.0
#: After the APIs answer, how long ``up`` watches every process it started before it reports
#: the consortium up (a worker that stops on an inconsistency exits within this time).
SETTLE_SECONDS = 3.0


@dataclasses.dataclass
class DevOptions:
    """What ``certreg dev up`` was asked for."""

    directory: Path = Path(DEFAULT_DIR)
    certificates: int = DEFAULT_CERTIFICATES
    seed: int = 1
    ephemeral: bool = False
    ipfs: bool = True
    quiet: bool = False
    organisations_per_province: int | None = None
    #: The working-day calendar to start from (``certreg dev up``: the one ``CERTREG_CALENDAR``
    #: names; None: read it from the environment). Years up to today's it does not cover are
    #: made provisional (:func:`_provisional_calendar`).
    calendar: WorkdayCalendar | None = None
    #: The API servers' search bucket (``certreg serve --search-rate/--search-burst``); a
    #: benchmark raises it (certreg/bench/federation.py).
    search_rate: float = 1.0
    search_burst: int = 10
    #: The chain: ``anvil`` (one node) or ``clique`` (three geth validators); ``ephemeral``
    #: overrides it with the in-process EVM.
    engine: str = "anvil"


#: The engines ``certreg dev up --engine`` offers.
DEV_ENGINES = ("anvil", "clique")


@dataclasses.dataclass
class DevState:
    """``DIR/dev.json``: the consortium's layout (ports, contract); no secrets."""

    ephemeral: bool
    seed: int
    certificates: int
    organisations_per_province: int
    chain_port: int
    api_ports: dict[str, int]
    ipfs_ports: dict[str, int] | None
    chain_id: int = 0
    contract_address: str = ""
    deployment_block: int = 0
    issuers: dict[str, str] = dataclasses.field(default_factory=dict)
    sample_bundle: str = ""
    ready: bool = False
    search_rate: float = 1.0
    search_burst: int = 10
    #: ``anvil``, ``memory`` (ephemeral) or ``clique``.
    engine: str = "anvil"
    #: Clique: each province's validator ports (P2P, HTTP, auth RPC).
    validator_ports: dict[str, list[int]] | None = None

    @property
    def chain_url(self) -> str:
        """The chain's JSON-RPC URL (with Clique: the first founding province's validator)."""
        return f"http://127.0.0.1:{self.chain_port}"

    def province_chain_url(self, province: str) -> str:
        """The JSON-RPC URL province ``province``'s node and API talk to: its own validator
        with Clique, the one chain otherwise."""
        if self.validator_ports is not None and province in self.validator_ports:
            return f"http://127.0.0.1:{self.validator_ports[province][1]}"
        return self.chain_url

    @property
    def ipfs_url(self) -> str | None:
        return None if self.ipfs_ports is None else f"http://127.0.0.1:{self.ipfs_ports['api']}"

    def api_url(self, province: str) -> str:
        return f"http://127.0.0.1:{self.api_ports[province]}"

    def to_json(self) -> dict[str, Any]:
        return {"type": STATE_TYPE, "version": 1, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> DevState:
        fields = {f.name for f in dataclasses.fields(cls)}
        if value.get("type") != STATE_TYPE:
            raise DevError(f"not a {STATE_TYPE} file")
        return cls(**{k: v for k, v in value.items() if k in fields})


def node_dir(directory: Path, province: str) -> Path:
    """The folder of a province's node (``node.json``, ``node.db``)."""
    return directory / "nodes" / province


def load_state(directory: Path) -> DevState | None:
    """``DIR/dev.json``, or None when there is none."""
    path = directory / STATE_NAME
    try:
        return DevState.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        raise DevError(
            f"{path} is unreadable ({exc}); remove {directory} to start afresh"
        ) from None


def save_state(directory: Path, state: DevState) -> None:
    path = directory / STATE_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state.to_json(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def load_keys(directory: Path) -> dict[str, dict[str, str]]:
    """``DIR/api-keys.json``: per province the operator, issuer and auditor API keys."""
    value: dict[str, dict[str, str]] = json.loads(
        (directory / KEYS_NAME).read_text(encoding="utf-8")
    )
    return value


def process_states(directory: Path) -> list[dict[str, Any]]:
    """Each process ``up`` recorded in ``directory``: its name, PID, ``running`` or ``exited``,
    its log file and, for an exited one, the last line it logged."""
    states = []
    for record in read_records(directory):
        alive = is_ours(record)
        entry: dict[str, Any] = {
            "name": record.name,
            "pid": record.pid,
            "state": "running" if alive else "exited",
            "log": record.log,
        }
        if not alive:
            lines = [line for line in log_tail(record, 4000).splitlines() if line.strip()]
            entry["last_log_line"] = lines[-1] if lines else ""
        states.append(entry)
    return states


def summary(directory: Path, state: DevState, status: str) -> dict[str, Any]:
    """The JSON object ``dev up --json`` prints (docs/DEV.md)."""
    return {
        "processes": process_states(directory),
        "chain_url": state.chain_url,
        "contract_address": state.contract_address,
        "chain_id": state.chain_id,
        "engine": state.engine,
        "provinces": {
            p: {
                "api_url": state.api_url(p),
                "web_url": state.api_url(p) + "/",
                "chain_url": state.province_chain_url(p),
                "dir": str(node_dir(directory, p)),
            }
            for p in state.api_ports
        },
        "sample_bundle": state.sample_bundle,
        "trust_root": str(directory / TRUST_ROOT_NAME),
        "dir": str(directory),
        "ipfs_url": state.ipfs_url,
        "keys_file": str(directory / KEYS_NAME),
        "ephemeral": state.ephemeral,
        "status": status,
    }


class _Say:
    """Messages to stderr (stdout is kept for ``--json``); silent with ``quiet``."""

    def __init__(self, quiet: bool, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stderr

    def __call__(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)


# -- up --------------------------------------------------------------------------------------


def dev_up(options: DevOptions) -> dict[str, Any]:
    """Bring the consortium in ``options.directory`` up (see the module docstring) and return
    :func:`summary`; ``status`` is ``started``, ``restarted`` or ``already_up``.

    Raises:
        DevError: it could not start (the message says why); whatever this call started is
            stopped again first.
    """
    directory = options.directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    say = _Say(options.quiet)
    calendar = _provisional_calendar(directory, say, options.calendar)
    records = read_records(directory)
    alive = [r for r in records if is_ours(r)]
    state = load_state(directory)
    if alive:
        if state is not None and state.ready and len(alive) == len(records):
            say(f"the consortium in {directory} is already up")
            return summary(directory, state, "already_up")
        names = ", ".join(r.name for r in alive)
        raise DevError(f"part of the consortium in {directory} runs ({names}): run dev down first")
    if state is not None and state.ready and not state.ephemeral:
        if options.ephemeral:
            raise DevError(
                f"{directory} holds a persistent consortium; use another --dir for --ephemeral"
            )
        return _restart(directory, state, say, calendar)
    if state is not None:
        why = "ephemeral" if state.ephemeral else "never finished starting"
        say(f"{directory}: the previous consortium was {why}; starting afresh")
        wipe(directory)
    return _start_fresh(directory, options, say, calendar)


@dataclasses.dataclass(frozen=True)
class _Calendar:
    """The working-day calendar of the consortium: the value this process judges deadlines in,
    and the environment of the node processes it starts (``CERTREG_CALENDAR`` naming the same
    years as files; None: this process's environment as it is)."""

    workdays: WorkdayCalendar
    environment: dict[str, str] | None


def _provisional_calendar(directory: Path, say: _Say, base: WorkdayCalendar | None) -> _Calendar:
    """The data set is received today: when no calendar covers this year yet (chinese-calendar
    reaches 2026), the synthetic consortium counts Monday-Friday as working days, in this
    process and the ones it starts (province/calendars.py: written to ``DIR/calendar`` and named
    in their ``CERTREG_CALENDAR``). Real nodes load the official arrangement instead
    (docs/NODE.md "Working-day calendar")."""
    from province.calendars import (
        calendar_from_environment,
        environment_with,
        provisional_calendar,
        write_calendar_files,
    )

    start = calendar_from_environment() if base is None else base
    workdays = provisional_calendar(china_date(dt.datetime.now(dt.UTC)), start)
    if workdays is start:
        return _Calendar(workdays, None)
    paths = write_calendar_files(workdays, directory / "calendar")
    added = workdays.added[len(start.added) :]
    if added:
        years = ", ".join(str(y.year) for y in added)
        say(
            f"note: no working-day calendar covers {years} yet; this synthetic consortium "
            "counts Monday-Friday as working days there (provisional)"
        )
    return _Calendar(workdays, environment_with(paths))


def wipe(directory: Path) -> None:
    """Remove what ``up`` created in ``directory`` (and nothing else)."""
    for name in CREATED:
        path = directory / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _new_ports(
    want_ipfs: bool, clique: bool
) -> tuple[int, dict[str, int], dict[str, int] | None, dict[str, list[int]] | None]:
    from certreg.dev.servers import free_port

    chosen: set[int] = set()

    def pick() -> int:
        while (port := free_port()) in chosen:
            pass
        chosen.add(port)
        return port

    validators = {p: [pick(), pick(), pick()] for p in PROVINCE_NAMES} if clique else None
    chain = pick() if validators is None else validators[next(iter(PROVINCE_NAMES))][1]
    apis = {p: pick() for p in PROVINCE_NAMES}
    ipfs = {"api": pick(), "gateway": pick(), "grpc": pick()} if want_ipfs else None
    return chain, apis, ipfs, validators


def _ipfs_available() -> bool:
    from certreg.dev.ipfs import find_ipfs, find_node
    from node.core.errors import ManifestStoreError

    try:
        find_ipfs()
        find_node()
    except ManifestStoreError:
        return False
    return True


class _Run:
    """The processes one ``up`` started: recorded in ``pids.json`` as they start, stopped
    again if the run fails."""

    def __init__(
        self, directory: Path, state: DevState, say: _Say, environment: dict[str, str] | None
    ) -> None:
        self.directory = directory
        self.state = state
        self.say = say
        #: The environment of the province services (None: this process's).
        self.environment = environment
        self.records: list[ProcessRecord] = []
        self.logs = directory / "logs"

    def add(self, record: ProcessRecord) -> ProcessRecord:
        self.records.append(record)
        write_records(self.directory, self.records)
        return record

    def abort(self) -> None:
        stop(reversed(self.records), grace=10.0)
        write_records(self.directory, [])

    # -- the chain ----------------------------------------------------------------------

    def start_chain(self) -> None:
        url = self.state.chain_url
        if self.state.engine == "clique":
            self.start_validators()
            return
        if self.state.ephemeral:
            argv = [
                sys.executable,
                "-m",
                "certreg.dev.memchain",
                "--port",
                str(self.state.chain_port),
            ]
            record = self.add(spawn("chain", argv, logs=self.logs))
            what = "the in-process EVM"
        else:
            from certreg.dev.anvil import find_anvil

            home = self.directory / "chain" / "home"
            home.mkdir(parents=True, exist_ok=True)
            argv = [
                str(find_anvil()),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.state.chain_port),
                "--prune-history",  # else ~0.5 MB per block in HOME
                "--state",
                str(self.directory / "chain" / "state.json"),
                "--state-interval",
                "5",
            ]
            env = {**os.environ, "HOME": str(home)}
            record = self.add(spawn("chain", argv, logs=self.logs, env=env, cwd=home))
            what = "anvil"
        wait_until(lambda: _rpc_answers(url), record=record, what=what, timeout=30.0)
        self.say(f"chain: {what} on {url}")

    def start_validators(self) -> None:
        """Clique: each province's geth validator (as :func:`certreg.dev.geth.write_network`
        laid out ``DIR/chain``); wait until every one answers and blocks are sealed."""
        from certreg.dev.geth import find_geth, geth_argv, read_validators

        geth = find_geth()
        folder = self.directory / "chain"
        chain_id, validators = read_validators(folder)
        started = []
        for validator in validators:
            home = folder / validator.name
            argv = geth_argv(geth, home, validator, chain_id)
            env = {**os.environ, "HOME": str(home)}
            record = self.add(
                spawn(f"chain-{validator.name}", argv, logs=self.logs, env=env, cwd=home)
            )
            started.append((validator, record))
        for validator, record in started:
            wait_until(
                lambda url=validator.url: _rpc_answers(url),
                record=record,
                what=f"the validator of {validator.name}",
                timeout=60.0,
            )
        _wait_for_blocks([v.url for v in validators], started, timeout=90.0)
        urls = ", ".join(f"{v.name} {v.url}" for v in validators)
        self.say(f"chain: Clique, three geth validators ({urls})")

    # -- IPFS ---------------------------------------------------------------------------

    def start_ipfs(self, *, init: bool) -> None:
        from certreg.dev.ipfs import POLYFILL, find_ipfs, find_node, offline_config

        ports = self.state.ipfs_ports
        assert ports is not None
        home = self.directory / "ipfs"
        repo = home / "repo"
        options = os.environ.get("NODE_OPTIONS", "")
        env = {
            **os.environ,
            "HOME": str(home),
            "IPFS_PATH": str(repo),
            "NODE_OPTIONS": f"{options} --require {POLYFILL}".strip(),
        }
        node, script = str(find_node()), str(find_ipfs())
        if init:
            import subprocess

            home.mkdir(parents=True, exist_ok=True)
            done = subprocess.run(
                [node, script, "init", "--profile=test"],
                env=env,
                cwd=home,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if done.returncode != 0:
                raise DevError(f"jsipfs init failed: {(done.stdout + done.stderr)[-1500:]}")
            config_path = repo / "config"
            config = offline_config(
                json.loads(config_path.read_text()), ports["api"], ports["gateway"], ports["grpc"]
            )
            config_path.write_text(json.dumps(config, indent=2))
        argv = [node, script, "daemon", "--offline"]
        record = self.add(spawn("ipfs", argv, logs=self.logs, env=env, cwd=home))
        url = self.state.ipfs_url
        assert url is not None
        wait_until(lambda: _ipfs_answers(url), record=record, what="the IPFS daemon", timeout=90.0)
        self.say(f"manifests: IPFS daemon (js-ipfs, offline) on {url}")

    # -- province services ----------------------------------------------------------------

    def start_services(self) -> None:
        """Each province's API server and anchoring worker; wait until every API answers."""
        started: list[tuple[str, ProcessRecord]] = []
        for province in PROVINCE_NAMES:
            started.append((province, self.start_api(province)))
            self.start_worker(province)
        for province, record in started:
            self.wait_api(province, record)

    def start_api(self, province: str) -> ProcessRecord:
        folder = node_dir(self.directory, province)
        argv = [
            sys.executable, "-m", "certreg", "serve", "--dir", str(folder),
            "--host", "127.0.0.1", "--port", str(self.state.api_ports[province]),
            "--search-rate", str(self.state.search_rate),
            "--search-burst", str(self.state.search_burst),
        ]  # fmt: skip
        if (self.directory / TRUST_ROOT_NAME).is_file():
            argv += ["--trust-root", str(self.directory / TRUST_ROOT_NAME)]
        return self.add(spawn(f"api-{province}", argv, logs=self.logs, env=self.environment))

    def wait_api(self, province: str, record: ProcessRecord) -> None:
        url = self.state.api_url(province)
        wait_until(
            lambda: _http_ok(f"{url}/v1/status"),
            record=record,
            what=f"the API of {province}",
            timeout=SERVICE_START_SECONDS,
        )

    def start_worker(self, province: str) -> ProcessRecord:
        folder = node_dir(self.directory, province)
        argv = [
            sys.executable, "-m", "certreg", "node", "run", "--dir", str(folder),
            "--poll", "0.5",
        ]  # fmt: skip
        return self.add(spawn(f"worker-{province}", argv, logs=self.logs, env=self.environment))


def _rpc_answers(url: str) -> bool:
    try:
        reply = requests.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1
        )
        return reply.ok and "result" in reply.json()
    except (requests.RequestException, ValueError):
        return False


def _block_number(url: str) -> int | None:
    try:
        reply = requests.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
            timeout=1,
        )
        return int(reply.json()["result"], 16)
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return None


def _wait_for_blocks(
    urls: list[str], started: list[tuple[Any, ProcessRecord]], *, timeout: float
) -> None:
    """Wait until every validator has seen two blocks more than the highest head now (they
    are peered and sealing); raise DevError naming each one's head otherwise."""
    import time

    heads = [_block_number(u) for u in urls]
    target = max(h for h in heads if h is not None) + 2 if any(h is not None for h in heads) else 2
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for _, record in started:
            if not is_ours(record):
                raise DevError(f"{record.name} exited; its log ends:\n{log_tail(record)}")
        heads = [_block_number(u) for u in urls]
        if all(h is not None and h >= target for h in heads):
            return
        time.sleep(0.25)
    shown = ", ".join(f"{u}: {h}" for u, h in zip(urls, heads, strict=True))
    raise DevError(f"the validators sealed no block {target} within {timeout:.0f} s ({shown})")


def _ipfs_answers(url: str) -> bool:
    try:
        reply = requests.post(f"{url}/api/v0/version", timeout=1)
        return reply.ok and "Version" in reply.json()
    except (requests.RequestException, ValueError):
        return False


def _http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def _all_ports(state: DevState) -> dict[str, int]:
    ports = {"chain": state.chain_port}
    if state.validator_ports is not None:
        ports = {}
        for province, (p2p, http, auth) in state.validator_ports.items():
            ports.update(
                {
                    f"validator {province} P2P": p2p,
                    f"validator {province} RPC": http,
                    f"validator {province} auth RPC": auth,
                }
            )
    ports.update({f"API of {p}": port for p, port in state.api_ports.items()})
    if state.ipfs_ports is not None:
        ports.update({f"IPFS {k}": v for k, v in state.ipfs_ports.items()})
    return ports


def _restart(directory: Path, state: DevState, say: _Say, calendar: _Calendar) -> dict[str, Any]:
    """Start the processes of a consortium that was up before, with all its state."""
    require_ports_free(_all_ports(state))
    if state.engine == "clique":
        lost = [
            p
            for p in PROVINCE_NAMES
            if not (directory / "chain" / p / "data" / "geth" / "chaindata").is_dir()
        ]
        if lost:
            raise DevError(f"the chain data of validator(s) {', '.join(lost)} is missing")
    elif not state.ephemeral and not (directory / "chain" / "state.json").is_file():
        raise DevError(f"{directory}/chain/state.json is missing: the chain's state is lost")
    run = _Run(directory, state, say, calendar.environment)
    try:
        run.start_chain()
        _check_contract(state)
        if state.ipfs_ports is not None:
            run.start_ipfs(init=False)
        run.start_services()
    except BaseException:
        run.abort()
        raise
    if dead := _settle(run.records):
        say(f"restarted the consortium in {directory}, but {dead} exited")
        return summary(directory, state, "degraded")
    say(f"restarted the consortium in {directory} (state kept)")
    return summary(directory, state, "restarted")


def _settle(records: list[ProcessRecord], seconds: float = SETTLE_SECONDS) -> str:
    """Watch ``records`` for ``seconds``; return the names of those that exited (with the last
    line each logged), or an empty string when all still run."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        dead = [r for r in records if not is_ours(r)]
        if dead or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    parts = []
    for record in dead:
        lines = [line for line in log_tail(record, 4000).splitlines() if line.strip()]
        parts.append(f"{record.name} ({lines[-1] if lines else 'nothing logged'})")
    return ", ".join(parts)


def _check_contract(state: DevState) -> None:
    """Refuse a chain that lost the contract (e.g. a state file from another run)."""
    from anchor.chain import connect

    code = connect(state.chain_url).eth.get_code(state.contract_address)  # type: ignore[arg-type]
    if not code:
        raise DevError(
            f"the chain has no contract at {state.contract_address}: its state was lost; "
            "remove the folder to start afresh"
        )


def _start_fresh(
    directory: Path, options: DevOptions, say: _Say, calendar: _Calendar
) -> dict[str, Any]:
    if options.certificates < 1:
        raise DevError("--certificates must be at least 1")
    if options.engine not in DEV_ENGINES:
        raise DevError(f"--engine must be one of {', '.join(DEV_ENGINES)}")
    clique = options.engine == "clique" and not options.ephemeral
    if clique:
        from certreg.dev.geth import find_geth
        from node.core.errors import ChainError

        try:
            find_geth()
        except ChainError as exc:
            raise DevError(str(exc)) from None
    want_ipfs = options.ipfs and _ipfs_available()
    if options.ipfs and not want_ipfs:
        say("IPFS (npm ipfs and Node.js) not found: manifests go to a local folder")
    chain_port, api_ports, ipfs_ports, validator_ports = _new_ports(want_ipfs, clique)
    per_province = options.organisations_per_province or min(
        20, max(3, options.certificates // 1000)
    )
    state = DevState(
        ephemeral=options.ephemeral,
        seed=options.seed,
        certificates=options.certificates,
        organisations_per_province=per_province,
        chain_port=chain_port,
        api_ports=api_ports,
        ipfs_ports=ipfs_ports,
        search_rate=options.search_rate,
        search_burst=options.search_burst,
        engine="memory" if options.ephemeral else options.engine,
        validator_ports=validator_ports,
    )
    save_state(directory, state)
    run = _Run(directory, state, say, calendar.environment)
    operator_keys = {p: "0x" + secrets.token_bytes(32).hex() for p in PROVINCE_NAMES}
    try:
        if validator_ports is not None:
            _write_validators(directory, validator_ports, operator_keys)
        run.start_chain()
        if ipfs_ports is not None:
            run.start_ipfs(init=True)
        _deploy(state, say, operator_keys, fund=validator_ports is None)
        save_state(directory, state)
        _set_up_nodes(directory, state, operator_keys, options, say, calendar.workdays)
        save_state(directory, state)
        run.start_services()
        state.ready = True
        save_state(directory, state)
    except BaseException:
        run.abort()
        raise
    if dead := _settle(run.records):
        say(f"the consortium started in {directory}, but {dead} exited")
        return summary(directory, state, "degraded")
    say(f"the consortium is up in {directory}")
    return summary(directory, state, "started")


def _write_validators(
    directory: Path, ports: Mapping[str, list[int]], operator_keys: Mapping[str, str]
) -> None:
    """Clique: a validator per founding province (fresh keys, the recorded ports) and the
    genesis that funds them and the operator accounts, in ``DIR/chain``."""
    from eth_account import Account

    from certreg.dev.geth import Validator, write_network
    from node.core.errors import ChainError

    validators = [Validator.new(p, ports[p]) for p in PROVINCE_NAMES]
    funded = [Account.from_key(k).address for k in operator_keys.values()]
    try:
        write_network(directory / "chain", validators, funded=funded)
    except ChainError as exc:
        raise DevError(str(exc)) from None


def _deploy(state: DevState, say: _Say, keys: Mapping[str, str], *, fund: bool) -> None:
    """Deploy the contract with one operator account per founding province (``keys``: their
    private keys, hex), funded first from the chain's first development account when ``fund``
    (a Clique genesis funds them)."""
    from eth_account import Account
    from web3.types import Wei

    from anchor.chain import ClientOptions, RegistryClient, connect
    from anchor.engines import default_confirmations

    w3 = connect(state.chain_url)
    funder = w3.eth.accounts[0]
    for key in keys.values() if fund else ():
        address = Account.from_key(key).address
        tx = w3.eth.send_transaction({"from": funder, "to": address, "value": Wei(OPERATOR_FUNDS)})
        w3.eth.wait_for_transaction_receipt(tx, timeout=60)
    founders = [(int(p), Account.from_key(k).address) for p, k in keys.items()]
    options = ClientOptions(confirmations=default_confirmations(state.engine))
    client, result = RegistryClient.deploy(w3, founders, sender=funder, options=options)
    state.chain_id = int(w3.eth.chain_id)
    state.contract_address = client.address
    state.deployment_block = result.block_number
    names = ", ".join(f"{p} {n}" for p, n in PROVINCE_NAMES.items())
    say(f"contract {client.address} deployed (chain {state.chain_id}), founders {names}")


def _set_up_nodes(
    directory: Path,
    state: DevState,
    operator_keys: Mapping[str, str],
    options: DevOptions,
    say: _Say,
    calendar: WorkdayCalendar,
) -> None:
    """``node init`` for each province, the data set filed, taken in and anchored, API keys,
    and the sample bundle."""
    from certreg.dev import dataset
    from node.core.formats.snapshot import Network
    from province.config import load_config, new_config, write_config
    from province.node import ProvinceNode

    network = Network(chain_id=state.chain_id, contract=bytes.fromhex(state.contract_address[2:]))
    today = china_date(dt.datetime.now(dt.UTC))
    counts = _split(options.certificates, len(PROVINCE_NAMES))
    keys: dict[str, dict[str, str]] = {}
    for (province, count), index in zip(counts.items(), range(len(counts)), strict=True):
        folder = node_dir(directory, province)
        config = new_config(
            folder,
            province=province,
            rpc=state.province_chain_url(province),
            contract=state.contract_address,
            operator_key=operator_keys[province],
            ipfs=state.ipfs_url,
            batch_size=BATCH_SIZE,
            max_age_seconds=MAX_AGE_SECONDS,
            engine=state.engine,
        )
        if config.manifest_directory is not None:  # one shared content-addressed folder
            config = dataclasses.replace(config, manifest_directory=directory / "manifests")
        config = dataclasses.replace(
            config, peers={p: state.api_url(p) for p in PROVINCE_NAMES if p != province}
        )
        write_config(config, folder)
        organisations = dataset.synthetic_organisations(
            province, state.organisations_per_province, seed=options.seed + index
        )
        submissions = _write_submissions(
            directory / "data" / province,
            organisations,
            network,
            count,
            options.seed + index,
            today,
            calendar,
        )
        node = ProvinceNode.open(load_config(folder), calendar=calendar)
        try:
            assert node.federation is not None
            node.federation.register()
            _publish_checkpoint_key(node, folder, options.seed)
            for organisation in organisations:
                node.organisations.file(organisation.filing, actor="dev")
            _ingest(node, submissions, count, today, say)
            node.anchor_all()
            issuer = _first_issuer(submissions) or organisations[0].filing.code
            state.issuers[province] = issuer
            keys[province] = _create_keys(node, province, issuer)
            if province == PARTNER_PROVINCE:
                keys[province].update(_partner(node))
            if province == "44":
                state.sample_bundle = str(_write_sample(node, directory / "sample"))
            status = node.status()
        finally:
            node.close()
        say(
            f"node {province} {PROVINCE_NAMES[province]}: {len(organisations)} organisations, "
            f"{status.log_size} certificates, anchored up to {status.anchored_size}"
        )
    write_private_json(directory / KEYS_NAME, keys)
    _sign_trust(directory, calendar)


def _checkpoint_key(folder: Path) -> bytes:
    return bytes.fromhex((folder / CHECKPOINT_KEY_NAME).read_text("ascii").strip())


def _publish_checkpoint_key(node: Any, folder: Path, seed: int) -> None:
    """Derive the node's checkpoint-signing key from the seed, keep it in the node's folder and
    in ``node.json``'s ``witness`` (the node witnesses the members' checkpoints with it,
    anchor/witness.py) and publish its public key on the contract (``setMemberKey(2, key)``)."""
    from anchor.trust_roots import publish_checkpoint_key
    from node.core.crypto.signatures import get_suite
    from province.config import load_config, replace_config

    ed25519 = get_suite("ed25519")
    seed_bytes = f"certreg dev checkpoint key {seed} {node.province}".encode()
    private = ed25519.generate_private_key(seed_bytes.ljust(32, b".")[:32])
    with open_private(folder / CHECKPOINT_KEY_NAME) as handle:
        handle.write(private.hex() + "\n")
    config = dataclasses.replace(
        load_config(folder), witness_key=private.hex(), witness_interval=WITNESS_INTERVAL
    )
    replace_config(config, folder)
    publish_checkpoint_key(node.client, "ed25519", ed25519.public_key(private))


def _sign_trust(directory: Path, calendar: WorkdayCalendar) -> None:
    """Every member signs the trust root and the sample snapshot (each node's own key; in a
    real consortium each province runs ``certreg trust-root`` / ``certreg snapshot --cosign``
    itself)."""
    import time

    from anchor.registry import RegistryClient
    from anchor.snapshot import take_snapshot, write_snapshot
    from anchor.trust_roots import (
        assemble,
        root_body_from_chain,
        sign_root,
        sign_snapshot,
        signable_snapshot,
    )
    from province.config import load_config

    config = load_config(node_dir(directory, "44"))
    client = RegistryClient.connect(config.rpc, config.contract, sender="0x" + "00" * 20)
    keys = {p: _checkpoint_key(node_dir(directory, p)) for p in PROVINCE_NAMES}
    body = root_body_from_chain(client)
    root = assemble(body, [sign_root(body, p, "ed25519", key) for p, key in keys.items()])
    root.verify()
    text = json.dumps(root.to_json(), indent=2) + "\n"
    (directory / TRUST_ROOT_NAME).write_text(text, encoding="ascii")
    snapshot = signable_snapshot(take_snapshot(client), int(time.time()), calendar)
    for province, key in keys.items():
        snapshot = sign_snapshot(snapshot, province, "ed25519", key)
    write_snapshot(snapshot, directory / "sample" / "snapshot.json")


def _write_submissions(
    folder: Path,
    organisations: list[Any],
    network: Any,
    count: int,
    seed: int,
    received_on: dt.date,
    calendar: WorkdayCalendar,
) -> Path:
    """The province's part of the data set (:mod:`certreg.dev.dataset`): each organisation's
    filing in ``organisations/<code>.json`` and the signed rows in ``submissions.jsonl``
    (synthetic personal data: the file is the issuers' upload, readable by its owner only)."""
    from certreg.dev.dataset import synthetic_submissions

    (folder / "organisations").mkdir(parents=True, exist_ok=True)
    for organisation in organisations:
        path = folder / "organisations" / f"{organisation.filing.code}.json"
        path.write_text(json.dumps(organisation.filing_json(), ensure_ascii=False, indent=2) + "\n")
    path = folder / "submissions.jsonl"
    with open_private(path) as out:
        for row in synthetic_submissions(
            organisations, network, count, seed=seed, received_on=received_on, calendar=calendar
        ):
            out.write(row.line)
    return path


def _split(total: int, parts: int) -> dict[str, int]:
    """``total`` certificates over the provinces, the first ones taking the remainder."""
    base, extra = divmod(total, parts)
    return {p: base + (1 if i < extra else 0) for i, p in enumerate(PROVINCE_NAMES)}


def _ingest(node: Any, path: Path, count: int, received_on: dt.date, say: _Say) -> None:
    """Take in a province's submissions (one transaction per chunk, node/services/intake.py); a
    refused row is a bug of the data set and stops ``up`` (naming the row's field and rule only)."""
    from node.core.formats.submissions import read_submission

    with (
        path.open("rb") as stream,
        tqdm(
            total=count,
            desc=f"intake {node.province}",
            unit="cert",
            file=sys.stderr,
            disable=say.quiet or None,
            dynamic_ncols=True,
        ) as bar,
    ):
        rows = read_submission(stream, "jsonl")
        for outcome in node.intake.iter_per_row(rows, received_on=received_on, actor="dev"):
            if outcome.error is not None:
                error = outcome.error
                raise DevError(
                    f"the data set's row {outcome.row_number} of {node.province} was refused: "
                    f"field {error.field}, rule {error.rule}"
                )
            bar.update(1)


def _first_issuer(submissions: Path) -> str | None:
    """The organisation of the data set's first row: the issuer ``up`` makes a key for is one
    with certificates in the data set (the walkthrough issues after its last serial)."""
    with submissions.open(encoding="utf-8") as rows:
        for line in rows:
            if line.strip():
                return str(json.loads(line)["organisation_code"])
    return None


def _create_keys(node: Any, province: str, issuer: str) -> dict[str, str]:
    from api.auth import create_api_key

    return {
        "operator": create_api_key(node.db, "operator", province, label="dev operator"),
        "issuer": create_api_key(node.db, "issuer", issuer, label="dev issuer"),
        "issuer_organisation": issuer,
        "auditor": create_api_key(node.db, "auditor", label="dev auditor"),
    }


#: The province that records the dev consortium's sharing agreement.
PARTNER_PROVINCE = "41"


def partner_terms(today: dt.date) -> dict[str, Any]:
    """The terms of the dev consortium's agreement: a synthetic employer platform (its credit
    code made up, with a valid check character) that checks applicants' certificates in the
    three provinces, names in full and ID numbers masked, for a year from today."""
    from node.core.rules.uscc import uscc_check_character

    first17 = "91410100MA9XDE001"
    return {
        "partner_name": "中原示例人力资源服务平台有限公司（合成）",
        "credit_code": first17 + uscc_check_character(first17),
        "partner_kind": "employer",
        "application_sha256": "d" * 64,
        "purpose": "招聘核验",
        "scenario": "在线招聘平台核验求职者的职业技能等级证书",
        "operations": ["query", "status"],
        "fields": ["holder_name"],
        "provinces": list(PROVINCE_NAMES),
        "starts_at": dt.datetime.combine(today, dt.time(), CHINA_STANDARD_TIME).isoformat(),
        "ends_at": dt.datetime.combine(
            today + dt.timedelta(days=365), dt.time(), CHINA_STANDARD_TIME
        ).isoformat(),
        "daily_quota": 1000,
        "no_commercial_use": True,
        "approved_by": "河南省人力资源和社会保障厅（合成）",
    }


def _partner(node: Any) -> dict[str, str]:
    from api.auth import create_api_key
    from node.core.sharing import parse_terms

    today = dt.datetime.now(CHINA_STANDARD_TIME).date()
    agreement = node.sharing.add(parse_terms(partner_terms(today)), actor="dev")
    key = create_api_key(node.db, "partner", agreement.id, label="dev employer platform")
    return {"partner": key, "partner_agreement": agreement.id}


def _write_sample(node: Any, folder: Path) -> Path:
    """The first anchored certificate's bundle, and a snapshot of the chain to verify it
    offline (``certreg verify BUNDLE --snapshot SNAPSHOT``)."""
    from anchor.snapshot import take_snapshot, write_snapshot

    folder.mkdir(parents=True, exist_ok=True)
    for record, bundle in node.bundles.iter_bundles():
        path = folder / f"{record.certificate_number}.json"
        write_private_json(path, bundle.to_json())
        write_snapshot(take_snapshot(node.client), folder / "snapshot.json")
        return path
    raise DevError("no anchored certificate to export as the sample bundle")


# -- down ------------------------------------------------------------------------------------


def dev_status(directory: Path) -> dict[str, Any]:
    """The state of the consortium in ``directory``: ``status`` is ``up`` (every process ``up``
    started runs), ``degraded`` (some exited: ``processes`` says which, with the last line each
    logged) or ``down`` (nothing runs), and ``processes`` lists each one.

    Raises DevError when ``directory`` holds no consortium.
    """
    directory = directory.resolve()
    state = load_state(directory)
    if state is None:
        raise DevError(f"no consortium in {directory}: run certreg dev up first")
    processes = process_states(directory)
    running = [p for p in processes if p["state"] == "running"]
    if processes and len(running) == len(processes):
        status = "up"
    elif running:
        status = "degraded"
    else:
        status = "down"
    return {
        "status": status,
        "dir": str(directory),
        "engine": state.engine,
        "ready": state.ready,
        "processes": processes,
    }


def dev_down(directory: Path, *, say: Callable[[str], None] | None = None) -> list[str]:
    """Stop every process ``up`` recorded in ``directory`` (workers and servers first, the
    chain last so that anvil dumps its state after the last write); return one line per
    process. An ephemeral consortium's files are removed as well (nothing of it persists)."""
    directory = directory.resolve()
    records = read_records(directory)
    order = {"worker": 0, "api": 1, "ipfs": 2, "chain": 3}
    report: list[str] = []
    for rank in sorted(set(order.values())):
        group = [r for r in records if order.get(r.name.split("-")[0], 1) == rank]
        report.extend(stop(group))
    if records:
        write_records(directory, [])
    state = load_state(directory)
    if state is not None and state.ephemeral:
        wipe(directory)
        report.append(f"ephemeral consortium: removed its files from {directory}")
    for line in report:
        if say is not None:
            say(line)
    return report
