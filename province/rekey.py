"""Rotating a node's personal-data key: ``certreg node rekey`` (docs/OPERATIONS.md "Keys").

Three steps, each safe to interrupt and to run again:

1. :func:`add_cipher_key`: a new key joins ``privacy.keys`` and becomes ``current_key``;
   ``node.json`` is replaced as a whole (:func:`~province.config.replace_config`), the
   old keys stay so that existing records still decrypt;
2. :func:`reencrypt`: every record under another key is re-encrypted with the current one,
   a batch per transaction (``CertificateRepository.rotate_records``);
3. :func:`retire_unused_keys`: the keys no record uses any more leave ``node.json`` (a key
   still in use is kept and reported, never dropped).

The blind-index key (the HMAC key of the two-of-three query columns) rolls differently,
because a query must find every certificate under one key: :func:`start_reindex` writes the
new key as ``privacy.next_blind_index_key`` (the node refuses to open while it is set), then
:func:`finish_reindex` recomputes both index columns of every row in **one** transaction and
makes the new key the key. Interrupted, the same command with ``--resume`` finishes it; the
node's processes must be stopped meanwhile.

Processes that had the node open before step 1 (the API server, the worker) keep writing
with the old key until they restart: restart them, then run step 2 again (``--resume``).
Backups taken before step 3 still need the retired keys. Nothing here prints or keeps a
record's plaintext (the re-index decrypts each record in memory to hash its name and ID
number).
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from node.core.crypto.privacy import PROFILES, BlindIndex
from node.core.errors import InvalidInput
from node.storage import CertificateRepository, Database
from province.config import NodeConfig, load_config, replace_config

_NUMBERED = re.compile(r"k(\d+)")


def next_key_id(keys: dict[str, str] | list[str]) -> str:
    """``k<n+1>`` after the highest ``k<n>`` configured (``k1`` when there is none)."""
    numbers = [int(m.group(1)) for k in keys if (m := _NUMBERED.fullmatch(k))]
    return f"k{max(numbers, default=0) + 1}"


def check_batch(batch: int, field: str = "batch") -> None:
    """Refuse a batch size below 1 (rule ``rekey.batch``)."""
    if batch < 1:
        raise InvalidInput(field, "rekey.batch", "must be at least 1")


def add_cipher_key(directory: Path, new_key: str | None = None) -> tuple[NodeConfig, str]:
    """Add a key to the node's ``node.json`` and make it current; return the new
    configuration and the key id. ``new_key`` is how the file names the key (``env:NAME``,
    to keep the secret out of the file, or hex); None generates one into the file.

    Raises:
        InvalidInput: the key does not resolve (``config.env``) or is not a key of the
            node's profile (``privacy.key_size``); ``node.json`` is then left as it was.
    """
    config = load_config(directory)
    key_id = next_key_id(list(config.keys))
    _, key_size = PROFILES[config.privacy_profile]
    written = secrets.token_bytes(key_size).hex() if new_key is None else new_key
    changed = dataclasses.replace(config, keys={**config.keys, key_id: written}, current_key=key_id)
    changed.cipher()  # resolves and checks every key before anything is written
    replace_config(changed, directory)
    return changed, key_id


def reencrypt(
    db: Database,
    config: NodeConfig,
    *,
    batch: int = 1000,
    on_batch: Callable[[int], object] = lambda done: None,
) -> int:
    """Re-encrypt every record that is not under the current key; return how many."""
    check_batch(batch)
    cipher, index = config.cipher(), config.blind_index()
    total = 0
    while True:
        with db.transaction() as session:
            done = CertificateRepository(session, cipher, index).rotate_records(limit=batch)
        if done == 0:
            return total
        total += done
        on_batch(done)


def records_per_key(
    db: Database, config: NodeConfig, index: BlindIndex | None = None
) -> dict[str, int]:
    """How many records each key id encrypts (``index``: the blind index to open the
    repository with, the node's by default)."""
    with db.transaction() as session:
        repository = CertificateRepository(
            session, config.cipher(), config.blind_index() if index is None else index
        )
        return repository.records_per_key()


def retire_unused_keys(
    directory: Path, db: Database
) -> tuple[NodeConfig, list[str], dict[str, int]]:
    """Remove from ``node.json`` every key other than the current one that no record uses;
    return the new configuration, the retired key ids, and the records still under old keys
    (by key id; their keys stay)."""
    config = load_config(directory)
    used = records_per_key(db, config)
    still = {k: n for k, n in used.items() if k != config.current_key}
    retired = sorted(k for k in config.keys if k != config.current_key and k not in still)
    if retired:
        kept = {k: v for k, v in config.keys.items() if k not in retired}
        config = dataclasses.replace(config, keys=kept)
        replace_config(config, directory)
    return config, retired, still


def start_reindex(directory: Path, new_key: str | None = None) -> NodeConfig:
    """Write a new blind-index key into ``node.json`` as ``privacy.next_blind_index_key``
    (``env:NAME`` or hex; None generates one). From here until :func:`finish_reindex` the node
    does not open.

    Raises:
        InvalidInput: a re-key is already under way (``rekey.reindex_pending``), or the key
            does not resolve or is shorter than 32 bytes; ``node.json`` is then left as it was.
    """
    config = load_config(directory)
    if config.next_blind_index_key is not None:
        raise InvalidInput(
            "--blind-index",
            "rekey.reindex_pending",
            "a blind-index re-key is under way; finish it with --resume",
        )
    written = secrets.token_bytes(32).hex() if new_key is None else new_key
    changed = dataclasses.replace(config, next_blind_index_key=written)
    changed.next_blind_index()  # resolves and checks the key before anything is written
    replace_config(changed, directory)
    return changed


def finish_reindex(
    directory: Path,
    db: Database,
    *,
    batch: int = 1000,
    on_batch: Callable[[int], object] = lambda done: None,
) -> tuple[NodeConfig, int]:
    """Recompute the blind indexes of every record with the next key, in one transaction,
    then make it the node's key; return the new configuration and the rows re-indexed.
    Running it again after an interruption is safe (the same values are written again).

    Raises:
        InvalidInput: no re-key is under way (``privacy.reindex``).
        DecryptionError: a record cannot be decrypted (nothing is changed).
    """
    check_batch(batch)
    config = load_config(directory)
    new_index, cipher = config.next_blind_index(), config.cipher()
    total, after = 0, 0
    with db.transaction() as session:
        repository = CertificateRepository(session, cipher, new_index)
        while True:
            done, after = repository.reindex(new_index, after=after, limit=batch)
            if done == 0:
                break
            total += done
            on_batch(done)
    assert config.next_blind_index_key is not None
    config = dataclasses.replace(
        config, blind_index_key=config.next_blind_index_key, next_blind_index_key=None
    )
    replace_config(config, directory)
    return config, total
