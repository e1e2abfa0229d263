"""A province node's configuration: one JSON file, ``node.json``, in the node's directory.

```json
{
  "type": "certreg.node-config", "version": 1,
  "province": "44",
  "database": "sqlite:////srv/certreg/44/node.db",
  "chain": {"rpc": "http://127.0.0.1:8545", "contract": "0x…", "operator_key": "0x…",
            "gas_price": 0, "engine": "clique", "confirmations": 3},
                                        (gas_price optional: wei; engine, confirmations optional)
  "manifests": {"directory": "/srv/certreg/44/manifests"}       (or {"ipfs": "http://127.0.0.1:5001"})
  "privacy": {"profile": "aes-256-gcm", "current_key": "k1", "keys": {"k1": "<hex>"},
              "blind_index_key": "<hex>"},                      (and, only while `certreg node
                                   rekey --blind-index` runs, "next_blind_index_key": "<hex>")
  "anchoring": {"batch_size": 1000, "max_age_seconds": 60},
  "calendars": ["calendar-2027.json"],                          (optional, docs/NODE.md)
  "forbidden_words": ["广东", "广东省"],                    (optional: the province's
                                   additions to the national list, node/core/rules/names.py)
  "occupation_catalogues": ["occupations-extra.json"],          (optional: catalogue documents
                                   added to the shipped one, province/vocabulary.py)
  "federation": {"key": "<hex>", "peers": {"41": "http://127.0.0.1:8041"},
                 "timeout_seconds": 2.0}                        (optional, docs/SHARING.md)
  "witness": {"key": "<hex>", "suite": "ed25519", "interval_seconds": 30}
                                                                (optional, docs/FORMATS.md
                                                                 "Witness statements")
}
```

``chain.confirmations``: blocks that must hold a block (itself included) before the node
treats it as final: the worker confirms checkpoints, statuses, snapshots and the node's
readers act only on blocks up to ``head − confirmations + 1``. Without it, the default of the
chain's engine applies (``chain.engine``, one of ``anchor.engines.ENGINES``, or recognised from
the chain when the node opens): 1 for BFT engines (QBFT, IBFT 2.0) and anvil, 3 for Clique.

``federation``: the node's Ed25519 request-signing key (its public key is published on the
contract with ``certreg node federation register``), the API address of each other province's
node and how long to wait for one (province/federation.py).

``witness``: the node's checkpoint-signing private key (the one it published on the contract
with ``setMemberKey(2, key)``) and its suite; with it the node witnesses and cosigns the
members' checkpoints every ``interval_seconds`` while it runs, and ``certreg node witness``
works (anchor/witness.py). Without it the node does not witness.

Secrets (``operator_key``, the ``keys``, ``blind_index_key``, ``next_blind_index_key``, the
federation ``key`` and the witness ``key``) may
be written as ``"env:NAME"`` to read them from the environment when the node opens; ``certreg
node init`` writes generated keys into the file itself and makes it readable by its owner only
(0600).
Relative paths (a ``sqlite:///`` path, the manifest directory, calendar files) are relative to
the file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from anchor.engines import ENGINES
from node.core.crypto.privacy import PROFILES, BlindIndex, PersonalDataCipher
from node.core.errors import InvalidInput
from node.core.formats.jsonfmt import Reader

CONFIG_TYPE = "certreg.node-config"
CONFIG_VERSION = 1
CONFIG_NAME = "node.json"
PROVINCE_RE = re.compile(r"[1-8][0-9]")
ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}")
DEFAULT_BATCH_SIZE = 1000
DEFAULT_MAX_AGE_SECONDS = 60.0


def _qualification_number(r: Any) -> str | None:
    """The optional ``qualification_number`` pattern: a regular expression of at most 200
    characters that compiles."""
    if "qualification_number" not in r.value:
        return None
    text = r.raw("qualification_number")
    if not isinstance(text, str) or not 0 < len(text) <= 200:
        raise InvalidInput(
            "config.qualification_number", "config.qualification_number", "a pattern string"
        )
    try:
        re.compile(text)
    except re.error as exc:
        raise InvalidInput(
            "config.qualification_number",
            "config.qualification_number",
            "not a regular expression",
        ) from exc
    return text


def _witness(r: Any) -> tuple[str | None, str, float]:
    """``witness``: the checkpoint-signing key (as written), its suite and the interval."""
    if "witness" not in r.value:
        return None, "ed25519", 30.0
    witness = r.obj("witness")
    witness.keys({"key"}, {"suite", "interval_seconds"})
    suite = witness.string("suite") if "suite" in witness.value else "ed25519"
    if suite not in ("ed25519", "sm2-sm3"):
        raise InvalidInput("config.witness.suite", "config.witness", "ed25519 or sm2-sm3")
    interval = 30.0
    if "interval_seconds" in witness.value:
        value = witness.raw("interval_seconds")
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise InvalidInput(
                "config.witness.interval_seconds", "config.timeout", "a positive number"
            )
        interval = float(value)
    return witness.string("key"), suite, interval


def _secret(value: str, field: str) -> str:
    """Resolve ``env:NAME`` from the environment; other values are the secret itself."""
    if value.startswith("env:"):
        name = value[4:]
        resolved = os.environ.get(name)
        if not resolved:
            raise InvalidInput(field, "config.env", f"environment variable {name} is not set")
        return resolved
    return value


def _hex_bytes(value: str, field: str) -> bytes:
    try:
        return bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise InvalidInput(field, "config.hex", "must be hex") from None


@dataclasses.dataclass(frozen=True, slots=True)
class NodeConfig:
    """A parsed ``node.json`` (secrets still as written: resolve them with the methods)."""

    province: str
    database: str
    rpc: str
    contract: str
    operator_key: str | None
    manifest_directory: Path | None
    ipfs: str | None
    privacy_profile: str
    current_key: str
    keys: Mapping[str, str]
    blind_index_key: str
    batch_size: int = DEFAULT_BATCH_SIZE
    max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS
    #: A fixed gas price in wei (0 on a free-gas consortium chain); None: the chain's fees
    #: (EIP-1559 fields, or its legacy gas price), anchor/chain.py ClientOptions.
    gas_price: int | None = None
    #: The blind-index key being rolled in by ``certreg node rekey --blind-index``; while it is
    #: set the node does not open (queries would miss rows re-indexed with it).
    next_blind_index_key: str | None = None
    #: Working-day calendar files of years after chinese-calendar's (province/calendars.py).
    calendars: tuple[Path, ...] = ()
    #: The province's forbidden words, added to the national list (node/core/rules/names.py).
    forbidden_words: tuple[str, ...] = ()
    #: Occupation catalogue documents added to the shipped one (province/vocabulary.py).
    occupation_catalogues: tuple[Path, ...] = ()
    #: The node's Ed25519 request-signing key (hex or ``env:NAME``); None: no federation.
    federation_key: str | None = None
    #: The province's 职业资格证书 number format, a regular expression the whole number must
    #: match (the seeds give no national format); None: no such certificates are accepted.
    qualification_number: str | None = None
    #: Other provinces' node API addresses, by province code.
    peers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    federation_timeout: float = 2.0
    #: The chain's consensus engine (``anchor.engines.ENGINES``); None: recognised at open.
    engine: str | None = None
    #: Confirmations that make a block final; None: the engine's default.
    confirmations: int | None = None
    #: The node's checkpoint-signing private key (hex or ``env:NAME``); None: no witnessing.
    witness_key: str | None = None
    witness_suite: str = "ed25519"
    witness_interval: float = 30.0
    #: Where the file was read from (relative paths resolve against its folder).
    path: Path | None = None

    @property
    def directory(self) -> Path:
        return Path(".") if self.path is None else self.path.parent

    def cipher(self) -> PersonalDataCipher:
        """The personal-data cipher (secrets resolved)."""
        keys = {
            key_id: _hex_bytes(_secret(value, f"privacy.keys.{key_id}"), f"privacy.keys.{key_id}")
            for key_id, value in self.keys.items()
        }
        return PersonalDataCipher(keys, self.current_key, profile=self.privacy_profile)

    def blind_index(self) -> BlindIndex:
        """The keyed hash index for two-of-three queries (secret resolved).

        Raises:
            InvalidInput: rule ``privacy.reindex_unfinished`` while a re-key of the index is
                under way (``next_blind_index_key`` set), or a secret does not resolve.
        """
        if self.next_blind_index_key is not None:
            raise InvalidInput(
                "config.privacy.next_blind_index_key",
                "privacy.reindex_unfinished",
                "a blind-index re-key is unfinished; finish it with `certreg node rekey "
                "--blind-index --resume` (docs/OPERATIONS.md)",
            )
        return self._blind_index(self.blind_index_key, "privacy.blind_index_key")

    def next_blind_index(self) -> BlindIndex:
        """The index under the key being rolled in (``next_blind_index_key``)."""
        if self.next_blind_index_key is None:
            raise InvalidInput(
                "config.privacy.next_blind_index_key", "privacy.reindex", "no re-key under way"
            )
        return self._blind_index(self.next_blind_index_key, "privacy.next_blind_index_key")

    def _blind_index(self, value: str, field: str) -> BlindIndex:
        return BlindIndex(_hex_bytes(_secret(value, field), field), profile=self.privacy_profile)

    def federation_private_key(self) -> bytes | None:
        """The node's request-signing key (32 bytes), or None without federation.

        Raises:
            InvalidInput: ``config.federation.key`` / ``config.hex`` (not 32 bytes of hex) or
                an unset environment variable.
        """
        if self.federation_key is None:
            return None
        field = "config.federation.key"
        key = _hex_bytes(_secret(self.federation_key, field), field)
        if len(key) != 32:
            raise InvalidInput(field, "config.hex", "an Ed25519 private key is 32 bytes")
        return key

    def witness_private_key(self) -> bytes | None:
        """The node's checkpoint-signing private key, or None when it does not witness.

        Raises:
            InvalidInput: ``config.witness.key`` / ``config.hex`` (not hex), or a secret that
                does not resolve.
        """
        if self.witness_key is None:
            return None
        field = "config.witness.key"
        return _hex_bytes(_secret(self.witness_key, field), field)

    def operator_private_key(self) -> str | None:
        """The operator account's private key, or None to use the node's unlocked account."""
        if self.operator_key is None:
            return None
        return _secret(self.operator_key, "chain.operator_key")

    def to_json(self) -> dict[str, Any]:
        manifests: dict[str, str] = (
            {"ipfs": self.ipfs}
            if self.ipfs is not None
            else {"directory": str(self.manifest_directory)}
        )
        chain: dict[str, Any] = {"rpc": self.rpc, "contract": self.contract}
        if self.operator_key is not None:
            chain["operator_key"] = self.operator_key
        if self.gas_price is not None:
            chain["gas_price"] = self.gas_price
        if self.engine is not None:
            chain["engine"] = self.engine
        if self.confirmations is not None:
            chain["confirmations"] = self.confirmations
        return {
            "type": CONFIG_TYPE,
            "version": CONFIG_VERSION,
            "province": self.province,
            "database": self.database,
            "chain": chain,
            "manifests": manifests,
            "privacy": {
                "profile": self.privacy_profile,
                "current_key": self.current_key,
                "keys": dict(self.keys),
                "blind_index_key": self.blind_index_key,
                **(
                    {"next_blind_index_key": self.next_blind_index_key}
                    if self.next_blind_index_key is not None
                    else {}
                ),
            },
            "anchoring": {"batch_size": self.batch_size, "max_age_seconds": self.max_age_seconds},
            **({"calendars": [str(p) for p in self.calendars]} if self.calendars else {}),
            **({"forbidden_words": list(self.forbidden_words)} if self.forbidden_words else {}),
            **(
                {"occupation_catalogues": [str(p) for p in self.occupation_catalogues]}
                if self.occupation_catalogues
                else {}
            ),
            **(
                {"qualification_number": self.qualification_number}
                if self.qualification_number is not None
                else {}
            ),
            **(
                {
                    "federation": {
                        "key": self.federation_key,
                        "peers": dict(self.peers),
                        "timeout_seconds": self.federation_timeout,
                    }
                }
                if self.federation_key is not None
                else {}
            ),
            **(
                {
                    "witness": {
                        "key": self.witness_key,
                        "suite": self.witness_suite,
                        "interval_seconds": self.witness_interval,
                    }
                }
                if self.witness_key is not None
                else {}
            ),
        }

    @classmethod
    def from_json(cls, value: Any, *, path: Path | None = None) -> NodeConfig:
        """Parse a configuration object strictly (unknown keys are refused).

        Raises:
            InvalidInput: the first wrong value, naming its key.
        """
        r = Reader(value, "config")
        r.keys(
            {
                "type",
                "version",
                "province",
                "database",
                "chain",
                "manifests",
                "privacy",
                "anchoring",
            },
            {
                "calendars",
                "federation",
                "forbidden_words",
                "occupation_catalogues",
                "qualification_number",
                "witness",
            },
        )
        if r.raw("type") != CONFIG_TYPE or r.raw("version") != CONFIG_VERSION:
            raise InvalidInput("config.type", "config.type", f"not a {CONFIG_TYPE} version 1 file")
        province = r.string("province", PROVINCE_RE)
        base = Path(".") if path is None else path.parent
        database = _resolve_sqlite(r.string("database"), base)
        chain = r.obj("chain")
        chain.keys({"rpc", "contract"}, {"operator_key", "gas_price", "engine", "confirmations"})
        contract = chain.string("contract", ADDRESS_RE)
        operator_key = chain.string("operator_key") if "operator_key" in chain.value else None
        gas_price = chain.integer("gas_price") if "gas_price" in chain.value else None
        engine = chain.string("engine") if "engine" in chain.value else None
        if engine is not None and engine not in ENGINES:
            raise InvalidInput(
                "config.chain.engine", "config.engine", f"one of {', '.join(ENGINES)}"
            )
        confirmations = (
            chain.integer("confirmations", minimum=1) if "confirmations" in chain.value else None
        )
        manifests = r.obj("manifests")
        manifests.keys(set(), {"directory", "ipfs"})
        if len(manifests.value) != 1:
            raise InvalidInput(
                "config.manifests", "config.manifests", "give either a directory or an ipfs URL"
            )
        directory = manifests.string("directory") if "directory" in manifests.value else None
        ipfs = manifests.string("ipfs") if "ipfs" in manifests.value else None
        privacy = r.obj("privacy")
        privacy.keys(
            {"profile", "current_key", "keys", "blind_index_key"}, {"next_blind_index_key"}
        )
        profile = privacy.string("profile")
        if profile not in PROFILES:
            raise InvalidInput(
                "config.privacy.profile", "privacy.profile", f"one of {sorted(PROFILES)}"
            )
        keys = privacy.raw("keys")
        if (
            not isinstance(keys, dict)
            or not keys
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in keys.items())
        ):
            raise InvalidInput(
                "config.privacy.keys", "config.keys", "an object of key id to hex key"
            )
        anchoring = r.obj("anchoring")
        anchoring.keys({"batch_size", "max_age_seconds"})
        batch_size = anchoring.integer("batch_size", minimum=1)
        max_age = anchoring.raw("max_age_seconds")
        if isinstance(max_age, bool) or not isinstance(max_age, int | float) or max_age < 0:
            raise InvalidInput(
                "config.anchoring.max_age_seconds", "config.max_age", "a non-negative number"
            )
        calendars = r.raw("calendars") if "calendars" in r.value else []
        if not isinstance(calendars, list) or not all(
            isinstance(c, str) and c.strip() for c in calendars
        ):
            raise InvalidInput(
                "config.calendars", "config.calendars", "a list of calendar file paths"
            )
        words = r.raw("forbidden_words") if "forbidden_words" in r.value else []
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            raise InvalidInput(
                "config.forbidden_words", "config.forbidden_words", "a list of non-blank words"
            )
        catalogues = r.raw("occupation_catalogues") if "occupation_catalogues" in r.value else []
        if not isinstance(catalogues, list) or not all(
            isinstance(c, str) and c.strip() for c in catalogues
        ):
            raise InvalidInput(
                "config.occupation_catalogues",
                "config.occupation_catalogues",
                "a list of occupation catalogue file paths",
            )
        federation_key: str | None = None
        peers: dict[str, str] = {}
        timeout = 2.0
        if "federation" in r.value:
            federation = r.obj("federation")
            federation.keys({"key", "peers"}, {"timeout_seconds"})
            federation_key = federation.string("key")
            listed = federation.raw("peers")
            if not isinstance(listed, dict) or not all(
                isinstance(k, str)
                and PROVINCE_RE.fullmatch(k)
                and isinstance(v, str)
                and v.startswith(("http://", "https://"))
                for k, v in listed.items()
            ):
                raise InvalidInput(
                    "config.federation.peers",
                    "config.peers",
                    "an object of province code to http(s) URL",
                )
            peers = dict(listed)
            if "timeout_seconds" in federation.value:
                value = federation.raw("timeout_seconds")
                if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                    raise InvalidInput(
                        "config.federation.timeout_seconds", "config.timeout", "a positive number"
                    )
                timeout = float(value)
        witness_key, witness_suite, witness_interval = _witness(r)
        return cls(
            province=province,
            database=database,
            rpc=chain.string("rpc"),
            contract=contract,
            operator_key=operator_key,
            manifest_directory=None if directory is None else base / directory,
            ipfs=ipfs,
            privacy_profile=profile,
            current_key=privacy.string("current_key"),
            keys=dict(keys),
            blind_index_key=privacy.string("blind_index_key"),
            next_blind_index_key=(
                privacy.string("next_blind_index_key")
                if "next_blind_index_key" in privacy.value
                else None
            ),
            batch_size=batch_size,
            max_age_seconds=float(max_age),
            gas_price=gas_price,
            engine=engine,
            confirmations=confirmations,
            calendars=tuple(base / c for c in calendars),
            forbidden_words=tuple(words),
            occupation_catalogues=tuple(base / c for c in catalogues),
            qualification_number=_qualification_number(r),
            federation_key=federation_key,
            peers=peers,
            federation_timeout=timeout,
            witness_key=witness_key,
            witness_suite=witness_suite,
            witness_interval=witness_interval,
            path=path,
        )


def _resolve_sqlite(url: str, base: Path) -> str:
    """Make a relative ``sqlite:///file`` path relative to the configuration's folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        return prefix + str((base / url[len(prefix) :]).resolve())
    return url


def load_config(directory: Path) -> NodeConfig:
    """Read ``node.json`` from a node's directory.

    Raises:
        InvalidInput: missing, not JSON, or a wrong value.
    """
    path = directory / CONFIG_NAME
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(
            "dir", "config.missing", f"{path} does not exist; run `certreg node init`"
        ) from None
    except json.JSONDecodeError as exc:
        raise InvalidInput("dir", "config.json", f"{path} is not JSON: {exc.msg}") from None
    return NodeConfig.from_json(value, path=path)


def new_config(
    directory: Path,
    *,
    province: str,
    rpc: str,
    contract: str,
    operator_key: str | None,
    database: str | None = None,
    ipfs: str | None = None,
    profile: str = "aes-256-gcm",
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
    gas_price: int | None = None,
    engine: str | None = None,
    confirmations: int | None = None,
) -> NodeConfig:
    """A configuration with freshly generated privacy keys and request-signing key (a SQLite
    file and a local manifest directory inside ``directory`` unless told otherwise; no peers
    yet)."""
    _, key_size = PROFILES.get(profile, (0, 0))
    if not key_size:
        raise InvalidInput("profile", "privacy.profile", f"one of {sorted(PROFILES)}")
    config = {
        "type": CONFIG_TYPE,
        "version": CONFIG_VERSION,
        "province": province,
        "database": database or "sqlite:///node.db",
        "chain": {"rpc": rpc, "contract": contract}
        | ({} if operator_key is None else {"operator_key": operator_key})
        | ({} if gas_price is None else {"gas_price": gas_price})
        | ({} if engine is None else {"engine": engine})
        | ({} if confirmations is None else {"confirmations": confirmations}),
        "manifests": {"ipfs": ipfs} if ipfs else {"directory": "manifests"},
        "privacy": {
            "profile": profile,
            "current_key": "k1",
            "keys": {"k1": secrets.token_bytes(key_size).hex()},
            "blind_index_key": secrets.token_bytes(32).hex(),
        },
        "anchoring": {"batch_size": batch_size, "max_age_seconds": max_age_seconds},
        "federation": {"key": secrets.token_bytes(32).hex(), "peers": {}},
    }
    return NodeConfig.from_json(config, path=directory / CONFIG_NAME)


def write_config(config: NodeConfig, directory: Path) -> Path:
    """Write ``node.json`` readable by its owner only; refuse to overwrite one.

    Raises:
        InvalidInput: the file exists already.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CONFIG_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInput(
            "dir", "config.exists", f"{path} exists; a node is set up there"
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(_file_text(config, directory))
    return path


def replace_config(config: NodeConfig, directory: Path) -> Path:
    """Replace ``node.json`` with ``config`` at once: a complete new file (owner only, synced)
    renamed over the old one, so a crash leaves the old file or the new one, never a mix."""
    path = directory / CONFIG_NAME
    temporary = directory / f".{CONFIG_NAME}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(_file_text(config, directory))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    folder = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself
    finally:
        os.close(folder)
    return path


def _file_text(config: NodeConfig, directory: Path) -> str:
    """``config`` as ``node.json`` text, paths relative to ``directory`` where they were."""
    value = config.to_json()
    value["database"] = _relative_sqlite(config.database, directory)
    if config.manifest_directory is not None:
        value["manifests"] = {"directory": os.path.relpath(config.manifest_directory, directory)}
    if config.calendars:
        value["calendars"] = [os.path.relpath(p, directory) for p in config.calendars]
    if config.occupation_catalogues:
        value["occupation_catalogues"] = [
            os.path.relpath(p, directory) for p in config.occupation_catalogues
        ]
    return json.dumps(value, indent=2) + "\n"


def _relative_sqlite(url: str, directory: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix + "/"):
        file = Path(url[len(prefix) :])
        if file.parent.resolve() == directory.resolve():
            return prefix + file.name
    return url
