"""``certreg node …``: set up and run a province node (docs/NODE.md).

Every verb takes ``--dir`` (default ``$CERTREG_NODE_DIR``, else the current folder), the node's
folder holding ``node.json``. Long jobs show a progress bar on stderr (``--quiet`` hides it).
Exit status: 0 done, 1 refused input or failed rows, 2 a failure of the node, chain or store.
Messages name fields and rules, never personal data.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, cast

from tqdm import tqdm

from certreg.cli.explanations import print_error, rule_lines
from certreg.cli.sharing import add_parsers as add_sharing_parsers
from node.core import safejson
from node.core.certificate import FIELD_NAMES
from node.core.crypto.signatures import SUITE_NAMES
from node.core.errors import InconsistencyError, InvalidInput, RegistryError, StorageError
from node.core.formats.commitment import Disclosed, SaltedCertificate
from node.core.formats.compact import encode_compact
from node.core.formats.submissions import ReadRow, parse_submission, read_submission
from node.core.records import salted_from_row
from node.core.rules.scope import EXAMINING_BODY
from node.core.time import china_date
from node.services.intake import DEFAULT_CHUNK_SIZE
from node.services.lifecycle import LifecycleOutcome
from node.storage import CertificateRepository, ReviewRecord, open_database
from node.storage.files import write_private, write_private_json
from province.adopt import adopt_foreign
from province.config import load_config, new_config, write_config
from province.election import run_elected
from province.node import ProvinceNode
from province.organisations import OrganisationChange, parse_filing, parse_time
from province.rekey import (
    add_cipher_key,
    check_batch,
    finish_reindex,
    records_per_key,
    reencrypt,
    retire_unused_keys,
    start_reindex,
)
from province.replay import read_submissions, replay

NODE_DIR_ENV = "CERTREG_NODE_DIR"


def _dir(args: argparse.Namespace) -> Path:
    return Path(args.dir or os.environ.get(NODE_DIR_ENV) or ".")


def _open(args: argparse.Namespace) -> ProvinceNode:
    # The working-day calendar of CERTREG_CALENDAR, read once by certreg.cli.main (None: the
    # node reads it itself).
    return ProvinceNode.open(load_config(_dir(args)), calendar=getattr(args, "calendar", None))


def _emit(args: argparse.Namespace, value: dict[str, Any], text: str) -> None:
    print(json.dumps(value, ensure_ascii=False) if args.json else text)


def _bar(args: argparse.Namespace, **kw: Any) -> tqdm[Any]:
    return tqdm(file=sys.stderr, disable=args.quiet or None, dynamic_ncols=True, **kw)


# -- init / status ---------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    """Write ``node.json`` with fresh privacy keys and create the database."""
    directory = _dir(args)
    config = new_config(
        directory,
        province=args.province,
        rpc=args.rpc,
        contract=args.contract,
        operator_key=args.operator_key,
        database=args.database,
        ipfs=args.ipfs,
        profile=args.profile,
        batch_size=args.batch_size,
        max_age_seconds=args.max_age,
        gas_price=args.gas_price,
    )
    path = write_config(config, directory)
    open_database(config.database).dispose()  # creates and migrates it
    _emit(
        args,
        {"config": str(path), "province": config.province, "database": config.database},
        f"node {config.province} set up in {directory} (configuration {path}, keep it secret)",
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    node = _open(args)
    try:
        status = node.status()
        state = node.log_state()
    finally:
        node.close()
    text = (
        f"log {status.province}: {status.log_size} entries, {status.anchored_size} anchored in "
        f"{status.checkpoints} checkpoint(s); statuses on chain up to {status.status_synced}"
        + ("" if status.open_checkpoint is None else f"; checkpoint {status.open_checkpoint} open")
    )
    if state.state == "diverged":
        text += f"\nlog DIVERGED from the chain, anchoring halted: {state.reason}"
    elif state.state == "unknown":
        text += f"\nlog state unknown: {state.reason}"
    value = {**status.to_json(), "log_state": state.state, "log_state_reason": state.reason}
    _emit(args, value, text)
    return 1 if state.state == "diverged" else 0


# -- organisations ---------------------------------------------------------------------------


def _change_json(change: OrganisationChange) -> dict[str, Any]:
    return {
        "code": change.code,
        "action": change.action,
        "transactions": list(change.transactions),
        "written": change.written,
        "scope_cid": change.scope_cid,
        "key_id": change.key_id,
    }


def _report_changes(args: argparse.Namespace, changes: list[OrganisationChange]) -> int:
    lines = [
        f"{c.code}: {c.action}"
        + (f" ({len(c.transactions)} transaction(s))" if c.transactions else " (no change sent)")
        for c in changes
    ]
    _emit(args, {"changes": [_change_json(c) for c in changes]}, "\n".join(lines) or "nothing")
    return 0


def cmd_file_org(args: argparse.Namespace) -> int:
    """File organisations from a JSON file (one filing object, or a list of them);
    ``--kind examining_body`` files 专项职业能力 examining bodies by their 8-digit codes."""
    value = safejson.loads(Path(args.file).read_bytes(), "file")
    objects = value if isinstance(value, list) else [value]
    if args.kind is not None:
        objects = [{"kind": args.kind, **v} if isinstance(v, dict) else v for v in objects]
    node = _open(args)
    try:
        filings = [parse_filing(v, province=node.province) for v in objects]
        changes = [node.organisations.file(f, actor=args.actor) for f in filings]
    finally:
        node.close()
    return _report_changes(args, changes)


def cmd_org(args: argparse.Namespace) -> int:
    """Suspend, reactivate or terminate an organisation; rotate or revoke its keys."""
    node = _open(args)
    service = node.organisations
    try:
        if args.org_command == "merge":
            change = service.merge(args.code, into=args.into, actor=args.actor, note=args.note)
        elif args.org_command in ("suspend", "reactivate", "terminate"):
            action = getattr(service, args.org_command)
            change = action(args.code, actor=args.actor, note=args.note)
        elif args.org_command == "rotate-key":
            change = service.rotate_key(
                args.code,
                suite=args.suite,
                public_key=_hex_arg(args.public_key, "public_key"),
                effective_at=_time_arg(args.effective_at),
                close_previous=not args.keep_previous,
                actor=args.actor,
                note=args.note,
            )
        else:
            change = service.revoke_key(
                args.code,
                args.key_id,
                effective_at=_time_arg(args.effective_at),
                actor=args.actor,
                note=args.note,
            )
    finally:
        node.close()
    return _report_changes(args, [change])


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _time_arg(text: str) -> int:
    """Unix seconds, or an ISO date / date-time (UTC+8 unless it says otherwise)."""
    return parse_time(int(text) if text.isdigit() else text, "effective_at")


def _hex_arg(text: str, field: str) -> bytes:
    try:
        return bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise InvalidInput(field, "cli.hex", "must be hexadecimal") from None


# -- lifecycle -------------------------------------------------------------------------------


def _target(node: ProvinceNode, args: argparse.Namespace) -> bytes:
    """The commitment named by ``--commitment``, or the current version of
    ``--certificate-number``."""
    if args.commitment:
        return _hex_arg(args.commitment, "commitment")
    with node.db.transaction() as session:
        record = CertificateRepository(session, node.cipher, node.blind_index).get_current(
            args.certificate_number.strip().upper()
        )
    if record is None:
        raise InvalidInput("certificate_number", "certificate.unknown", "no such certificate")
    return record.commitment


def _outcome_json(outcome: LifecycleOutcome) -> dict[str, Any]:
    return {
        "kind": outcome.kind,
        "certificate_number": outcome.certificate_number,
        "commitment": outcome.commitment.hex(),
        "log_index": outcome.log_index,
        "reason": int(outcome.reason),
        "status": outcome.status,
        "supersedes": None if outcome.supersedes is None else outcome.supersedes.hex(),
    }


def cmd_status_change(args: argparse.Namespace) -> int:
    """Revoke, suspend, reinstate or (logically) delete a certificate; the entry is appended
    now and reaches the chain with the next anchoring (``node anchor`` or ``node run``)."""
    node = _open(args)
    try:
        change = getattr(node.lifecycle, args.node_command)
        outcome = change(_target(node, args), reason=args.reason, actor=args.actor, note=args.note)
    finally:
        node.close()
    _emit(
        args,
        _outcome_json(outcome),
        f"{outcome.certificate_number}: {outcome.kind} (reason {int(outcome.reason)}), log entry "
        f"{outcome.log_index}; run `certreg node anchor` to put it on chain",
    )
    return 0


def _submission_format(path: Path, given: str | None) -> Literal["csv", "jsonl"]:
    """The submission format: the one given, else ``csv`` for a ``.csv`` file, else JSON Lines."""
    if given is not None:
        return cast(Literal["csv", "jsonl"], given)
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def _corrected_row(args: argparse.Namespace) -> Any:
    """The one corrected certificate of ``args.file`` (a signed submission row)."""
    path = Path(args.file)
    with path.open("rb") as stream:
        rows = list(parse_submission(stream, _submission_format(path, None)))
    if len(rows) != 1:
        raise InvalidInput("file", "correct.one_row", "give exactly one corrected certificate")
    [row] = rows
    if isinstance(row, InvalidInput):
        raise row
    return row


def _superseding(args: argparse.Namespace, row: Any, apply: Any) -> Any:
    """Run ``apply(node)(target, salted, signature, …)`` (a correction or a resubmission) on the
    node and return its outcome."""
    salted, signature, _ = salted_from_row(row)
    node = _open(args)
    try:
        return apply(node)(
            _target(node, args),
            salted,
            signature,
            reason=args.reason,
            requested_by=args.requested_by,
            confirmed_by=args.confirmed_by,
            note=args.note,
        )
    finally:
        node.close()


def cmd_correct(args: argparse.Namespace) -> int:
    """Supersede a certificate by its corrected version (one signed submission row)."""
    row = _corrected_row(args)
    if args.by_province:
        return _correct_by_province(args, row)
    outcome = _superseding(args, row, lambda node: node.lifecycle.correct)
    _emit(
        args,
        _outcome_json(outcome),
        f"{outcome.certificate_number}: corrected (reason {int(outcome.reason)}), log entry "
        f"{outcome.log_index}",
    )
    return 0


def cmd_return(args: argparse.Namespace) -> int:
    """Return a certificate's data to its organisation for correction (data guide art. 11)."""
    node = _open(args)
    try:
        returned = node.returns.return_certificate(
            _target(node, args), reason=args.reason, actor=args.actor
        )
    finally:
        node.close()
    shown = returned.public_json()
    _emit(
        args,
        shown,
        f"{returned.certificate_number}: returned for correction, resubmit by "
        f"{returned.deadline.isoformat()}",
    )
    return 0


def cmd_resubmit(args: argparse.Namespace) -> int:
    """Resubmit returned data, corrected and re-signed (one submission row), within 20 working
    days of its return."""
    outcome = _superseding(args, _corrected_row(args), lambda node: node.returns.resubmit)
    _emit(
        args,
        _outcome_json(outcome),
        f"{outcome.certificate_number}: resubmitted, log entry {outcome.log_index}, in review",
    )
    return 0


def _correct_by_province(args: argparse.Namespace, row: Any) -> int:
    """``correct --by-province``: the province corrects a terminated organisation's certificate
    and signs it with its maintenance key (中就培发〔2022〕1号 art. 16). The row's salts are kept
    when it has them, else fresh ones are drawn; a signature in the row is not used."""
    if not args.maintenance_key:
        raise InvalidInput(
            "maintenance_key",
            "maintenance.key_missing",
            "--by-province needs --maintenance-key FILE (the hex Ed25519 private key)",
        )
    key_text = Path(args.maintenance_key).read_text(encoding="ascii").strip()
    try:
        private_key = bytes.fromhex(key_text)
    except ValueError:
        private_key = b""
    if len(private_key) != 32:
        raise InvalidInput("maintenance_key", "config.hex", "an Ed25519 private key is 32 bytes")
    salts = row.extras.get("salts")
    salted = SaltedCertificate(
        {
            name: Disclosed(
                row.fields[name], salts[name] if isinstance(salts, dict) else os.urandom(32)
            )
            for name in FIELD_NAMES
        }
    )
    node = _open(args)
    try:
        outcome = node.correct_by_province(
            _target(node, args),
            salted,
            private_key=private_key,
            reason=args.reason,
            requested_by=args.requested_by,
            confirmed_by=args.confirmed_by,
            note=args.note,
        )
    finally:
        node.close()
    _emit(
        args,
        {**_outcome_json(outcome), "signed_by": "province"},
        f"{outcome.certificate_number}: corrected by the province (reason {int(outcome.reason)}, "
        f"maintenance of a terminated organisation's certificate), log entry "
        f"{outcome.log_index}",
    )
    return 0


# -- screening and review --------------------------------------------------------------------


def _flag_json(flag: ReviewRecord) -> dict[str, Any]:
    return {
        "id": flag.id,
        "target_type": flag.target_type,
        "target_id": flag.target_id,
        "code": flag.code,
        "severity": flag.severity,
        "message": flag.message,
        "state": flag.state,
        "query_suspended": flag.query_suspended,
    }


def cmd_screen(args: argparse.Namespace) -> int:
    """Screen a certificate (or an organisation's pass rate) and record flags for review."""
    node = _open(args)
    try:
        if args.organisation:
            outcome = node.review.screen_organisation(
                args.organisation, assessed=args.assessed, passed=args.passed, actor=args.actor
            )
        else:
            outcome = node.review.screen_certificate(
                _target(node, args), actor=args.actor, suspend_query=args.suspend_query
            )
    finally:
        node.close()
    flags = [_flag_json(f) for f in outcome.flags]
    suspended = outcome.suspension is not None
    lines = [f"flag {f['id']}: {f['code']} ({f['severity']}) {f['message']}" for f in flags]
    lines.append("query service suspended" if suspended else f"{len(flags)} new flag(s)")
    _emit(args, {"flags": flags, "suspended": suspended}, "\n".join(lines))
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    """List review flags (``--state``), or decide one (``--decide ID clear|uphold``)."""
    node = _open(args)
    try:
        if args.decide:
            flag_id, decision = args.decide
            result = node.review.decide(
                int(flag_id), decision, operator=args.actor, reason=args.reason, note=args.note
            )
            flags = [result.flag]
        else:
            flags = node.review.queue(args.state, limit=args.limit)
    finally:
        node.close()
    shown = [_flag_json(f) for f in flags]
    lines = [f"{f['id']}: [{f['state']}] {f['target_id'][:16]} {f['code']}" for f in shown]
    _emit(args, {"flags": shown}, "\n".join(lines) or "no flags")
    return 0


# -- intake ----------------------------------------------------------------------------------


def _counted(rows: Iterator[ReadRow], bar: tqdm[Any]) -> Iterator[ReadRow]:
    for row in rows:
        bar.update(1)
        yield row


def cmd_ingest(args: argparse.Namespace) -> int:
    """Check and accept a CSV or JSON Lines file of signed certificates."""
    path = Path(args.file)
    fmt = _submission_format(path, args.format)
    received_on = (
        dt.date.fromisoformat(args.received_on)
        if args.received_on
        else china_date(dt.datetime.now(dt.UTC))
    )
    node = _open(args)
    report = open(args.report, "w", encoding="utf-8") if args.report else None  # noqa: SIM115
    accepted = refused = 0
    last_row = 0
    first_error: InvalidInput | None = None
    try:
        with path.open("rb") as stream, _bar(args, desc="ingest", unit="row") as bar:
            # Rows are read here and parsed where they are checked (in the workers, if any).
            rows = _counted(read_submission(stream, fmt), bar)
            if args.mode == "atomic":
                result = node.intake.submit_bulk(
                    rows,
                    mode="atomic",
                    received_on=received_on,
                    actor=args.actor,
                    chunk_size=args.chunk_size,
                )
                outcomes = iter(result.outcomes)
            else:
                outcomes = node.intake.iter_per_row(
                    rows,
                    received_on=received_on,
                    actor=args.actor,
                    chunk_size=args.chunk_size,
                    workers=args.workers,
                )
            for outcome in outcomes:
                last_row = max(last_row, outcome.row_number)
                if outcome.accepted is not None:
                    accepted += 1
                    line: dict[str, Any] = {
                        "row": outcome.row_number,
                        "certificate_number": outcome.accepted.certificate_number,
                        "commitment": outcome.accepted.commitment.hex(),
                        "log_index": outcome.accepted.log_index,
                        "warnings": [w.code for w in outcome.accepted.warnings],
                    }
                else:
                    assert outcome.error is not None
                    refused += 1
                    first_error = first_error or outcome.error
                    line = {"row": outcome.row_number, **_error_json(outcome.error)}
                if report is not None:
                    report.write(json.dumps(line, ensure_ascii=False) + "\n")
    except StorageError as exc:
        # Chunks are taken in whole or not at all (and waited for while the database is busy,
        # node.storage.Database.write): everything after the last reported row is not in.
        resubmit = (
            "every row"
            if args.mode == "atomic" or last_row == 0
            else (f"the rows after row {last_row}")
        )
        _emit(
            args,
            {
                "file": str(path),
                "mode": args.mode,
                "accepted": 0 if args.mode == "atomic" else accepted,
                "refused": refused,
                "aborted": type(exc).__name__,
                "resubmit_after_row": 0 if args.mode == "atomic" else last_row,
            },
            f"{path}: stopped by the database ({type(exc).__name__}); nothing half-written; "
            f"resubmit {resubmit}",
        )
        return 3
    finally:
        if report is not None:
            report.close()
        node.close()
    summary = {"file": str(path), "mode": args.mode, "accepted": accepted, "refused": refused}
    text = f"{path}: {accepted} accepted, {refused} refused"
    if first_error is not None:
        text += f" (first: {first_error})"
        # What the first broken rule means (text output only; --json keeps its keys).
        text += "".join(f"\n{line}" for line in rule_lines(first_error))
    _emit(args, summary, text)
    return 0 if refused == 0 else 1


def _error_json(error: InvalidInput) -> dict[str, Any]:
    return {"field": error.field, "rule": error.rule, "message": error.message}


# -- anchoring -------------------------------------------------------------------------------


def cmd_anchor(args: argparse.Namespace) -> int:
    """Anchor everything logged so far, now, and write pending statuses to the chain."""
    node = _open(args)
    try:
        outcomes = node.anchor_all()
        status = node.status()
    finally:
        node.close()
    checkpoints = [
        {
            "index": o.index,
            "tree_size": o.tree_size,
            "root": o.root.hex(),
            "manifest_cid": o.manifest_cid,
            "transaction_hash": o.transaction_hash,
            "block_number": o.block_number,
        }
        for o in outcomes
    ]
    _emit(
        args,
        {"anchored": checkpoints, "anchored_size": status.anchored_size},
        f"anchored {len(outcomes)} checkpoint(s); log {status.province} anchored up to "
        f"{status.anchored_size}",
    )
    return 0


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (a long-running command stops at its next step)."""
    stop = threading.Event()

    def _stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop


def cmd_run(args: argparse.Namespace) -> int:
    """Run the anchoring worker until SIGINT or SIGTERM (active, or standby while another
    process over the same PostgreSQL database is active)."""
    node = _open(args)
    stop = _stop_on_signals()
    try:
        # On PostgreSQL several `node run` processes elect one active worker; the others wait
        # as standbys (province/election.py). On SQLite the one worker is active at once.
        run_elected(
            node,
            stop,
            poll_seconds=args.poll,
            on_anchor=lambda o: print(
                f"anchored checkpoint {o.index} (size {o.tree_size}) in block {o.block_number}",
                flush=True,
            ),
            # Printed where there is an election to report (PostgreSQL).
            on_role=(
                (lambda role: print(f"anchoring worker {role}", flush=True))
                if node.db.dialect == "postgresql"
                else None
            ),
        )
    except InconsistencyError as exc:
        # Retrying cannot help: the chain holds a checkpoint of this province the log
        # contradicts (e.g. anchored with a stolen operator key). Exit for an operator.
        print(
            f"error: anchoring of log {node.province} halted, the log diverged from the chain: "
            f"{exc} (docs/OPERATIONS.md, Monitoring)",
            file=sys.stderr,
        )
        return 1
    finally:
        node.close()
    return 0


def cmd_witness(args: argparse.Namespace) -> int:
    """Witness the members' checkpoints with the node's checkpoint-signing key (docs/FORMATS.md
    "Witness statements"): one pass with ``--once``, else a pass every ``--interval`` seconds
    until SIGINT or SIGTERM."""
    node = _open(args)
    stop = _stop_on_signals()
    try:
        while True:
            done = node.witness_once()
            _emit(
                args,
                dataclasses.asdict(done),
                f"witnessing {node.province}: {done.cosigned} cosigned, {done.refused} refused, "
                f"{done.collected} collected from the other members",
            )
            if args.once or stop.wait(args.interval or node.witness_interval):
                return 0
    finally:
        node.close()


# -- restore ---------------------------------------------------------------------------------


def cmd_replay(args: argparse.Namespace) -> int:
    """After a restore from a backup the chain is ahead of: replay the entries the chain's
    checkpoints hold past the log, from the organisations' signed submissions and the
    manifests, then adopt the checkpoints (province/replay.py)."""
    files = [Path(f) for f in args.files]
    rows = read_submissions(files, lambda path: _submission_format(path, args.format))
    node = _open(args)
    try:
        with _bar(args, desc="replay", unit="entry") as bar:
            result = replay(node, rows, actor=args.actor, on_entry=lambda _: bar.update(1))
    finally:
        node.close()
    done = ", ".join(f"{n} {kind}" for kind, n in sorted(result.replayed.items())) or "nothing"
    _emit(
        args,
        dataclasses.asdict(result),
        f"replayed {done}; log {result.log_size} entries, {result.anchored_size} anchored in "
        f"{result.checkpoints} checkpoint(s)",
    )
    return 0


def cmd_adopt_foreign(args: argparse.Namespace) -> int:
    """After the consortium replaced the operators of a province whose key was stolen: adopt
    the entries the thief anchored as foreign, so the log equals the chain's again and
    anchoring resumes on top (province/adopt.py)."""
    node = _open(args)
    try:
        result = adopt_foreign(node, actor=args.actor, confirm=args.confirm)
    finally:
        node.close()
    checkpoints = ", ".join(f"{i} (anchored by {by})" for i, by in result.checkpoints)
    text = (
        f"adopted {result.adopted} foreign entr{'y' if result.adopted == 1 else 'ies'}"
        + (f" of checkpoint(s) {checkpoints}" if checkpoints else "")
        + f"; log {result.log_size} entries, {result.anchored_size} anchored; log_state "
        + result.log_state
        + (f": {result.log_state_reason}" if result.log_state_reason else "")
    )
    _emit(args, result.to_json(), text)
    return 0 if result.log_state == "ok" else 1


# -- personal-data key ----------------------------------------------------------------------


def cmd_rekey(args: argparse.Namespace) -> int:
    """Rotate the personal-data key: add one and make it current (unless ``--resume``),
    re-encrypt every record under an older key, and with ``--retire`` drop the keys no record
    uses any more (province/rekey.py)."""
    directory = _dir(args)
    check_batch(args.batch, "--batch")  # before anything changes
    new_key = None if args.new_key_env is None else f"env:{args.new_key_env}"
    if args.blind_index:
        return _rekey_blind_index(args, directory, new_key)
    load_config(directory).blind_index()  # refused while a blind-index re-key is unfinished
    added = None
    if not args.resume:
        _, added = add_cipher_key(directory, new_key)
    config = load_config(directory)
    db = open_database(config.database)
    try:
        with _bar(args, desc="re-encrypt", unit="record") as bar:
            done = reencrypt(db, config, batch=args.batch, on_batch=bar.update)
        if args.retire:
            config, retired, still = retire_unused_keys(directory, db)
        else:
            retired, still = [], {}
        per_key = records_per_key(db, config)
    finally:
        db.dispose()
    text = [f"current key {config.current_key}" + (" (added)" if added else "")]
    text.append(f"re-encrypted {done} record(s)")
    if args.retire:
        text.append(f"retired: {', '.join(retired) or 'none'}")
        text += [f"kept {k}: {n} record(s) still use it" for k, n in sorted(still.items())]
    value = {
        "added_key": added,
        "current_key": config.current_key,
        "reencrypted": done,
        "retired": retired,
        "keys": sorted(config.keys),
        "records_per_key": per_key,
    }
    _emit(args, value, "\n".join(text))
    return 0


def _rekey_blind_index(args: argparse.Namespace, directory: Path, new_key: str | None) -> int:
    if args.retire:
        raise InvalidInput("--retire", "rekey.retire", "retires personal-data keys only")
    if not args.resume:
        start_reindex(directory, new_key)
    config = load_config(directory)
    db = open_database(config.database)
    try:
        total = sum(records_per_key(db, config, config.next_blind_index()).values())
        with _bar(args, desc="re-index", unit="record", total=total) as bar:
            config, done = finish_reindex(directory, db, batch=args.batch, on_batch=bar.update)
    finally:
        db.dispose()
    _emit(
        args,
        {"blind_index": "replaced", "reindexed": done},
        f"blind-index key replaced; {done} record(s) re-indexed",
    )
    return 0


# -- bundles ---------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    """Write the bundle of every anchored certificate (or of the ones asked for); with
    ``--cosigned``, each with its checkpoint's cosignatures once a threshold of members cosigned
    it (compact: array version 2, docs/FORMATS.md "Cosignatures")."""
    from anchor.witness import CosignedBundles

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    node = _open(args)
    written = cosigned = 0
    wanted = {n.upper() for n in args.certificate_number or ()}
    try:
        cosigner = CosignedBundles(node.db, node.client) if args.cosigned else None
        with _bar(args, desc="export", unit="bundle") as bar:
            for record, found in node.bundles.iter_bundles():
                if wanted and record.certificate_number not in wanted:
                    continue
                bundle = found if cosigner is None else cosigner.attach(found)
                cosigned += bundle.witness is not None
                name = f"{record.certificate_number}-{record.commitment.hex()[:12]}"
                # Bundles hold names, ID numbers and salts: owner-only files (mode 0600).
                if args.compact:
                    write_private(out / f"{name}.qr.txt", encode_compact(bundle) + "\n", "ascii")
                else:
                    write_private_json(out / f"{name}.json", bundle.to_json())
                written += 1
                bar.update(1)
    finally:
        node.close()
    _emit(
        args,
        {"out": str(out), "bundles": written, "cosigned": cosigned},
        f"wrote {written} bundle(s) to {out}"
        + (f", {cosigned} with their checkpoint's cosignatures" if args.cosigned else ""),
    )
    return 0


# -- parsers ---------------------------------------------------------------------------------


def _run(func: Any) -> Any:
    """Map errors to exit statuses: refused input 1, anything else of the registry 2."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return int(func(args))
        except InvalidInput as exc:
            print_error(exc)
            return 1
        except (RegistryError, OSError) as exc:
            print_error(exc)
            return 2

    return wrapped


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", help=f"the node's folder (default ${NODE_DIR_ENV}, else .)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the ``node`` command group."""
    node = subparsers.add_parser("node", help="set up and run a province node")
    sub = node.add_subparsers(dest="node_command", required=True)

    p = sub.add_parser("init", help="set up a node folder: node.json with fresh keys, database")
    _common(p)
    p.add_argument("--province", required=True, help="two-digit province code, e.g. 44")
    p.add_argument("--rpc", required=True, help="chain JSON-RPC URL")
    p.add_argument("--contract", required=True, help="the consortium contract's address")
    p.add_argument("--operator-key", help="the province operator's private key (or env:NAME)")
    p.add_argument("--database", help="SQLAlchemy URL (default: SQLite node.db in the folder)")
    p.add_argument("--ipfs", help="IPFS HTTP API (default: a local manifests/ folder)")
    p.add_argument("--profile", choices=("aes-256-gcm", "sm4-gcm"), default="aes-256-gcm")
    p.add_argument("--batch-size", type=int, default=1000, help="entries per checkpoint")
    p.add_argument("--max-age", type=float, default=60.0, help="seconds before a checkpoint")
    p.add_argument(
        "--gas-price",
        type=int,
        help="a fixed gas price in wei (0 on a free-gas consortium chain; default: the chain's)",
    )
    p.set_defaults(func=_run(cmd_init))

    p = sub.add_parser(
        "rekey",
        help="rotate the personal-data key: add one, re-encrypt the records, retire old ones",
    )
    _common(p)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--new-key-env",
        metavar="NAME",
        help="the new key is in environment variable NAME (node.json says env:NAME); "
        "default: generate one into node.json",
    )
    mode.add_argument(
        "--resume",
        action="store_true",
        help="add no key: re-encrypt what is not under the current key (after an interruption, "
        "or after restarting processes that still had the old key); with --blind-index, "
        "finish an interrupted re-index",
    )
    p.add_argument(
        "--retire", action="store_true", help="then drop from node.json the keys no record uses"
    )
    p.add_argument(
        "--blind-index",
        action="store_true",
        help="replace the blind-index key instead (re-index every record in one transaction; "
        "stop the node's processes first)",
    )
    p.add_argument("--batch", type=int, default=1000, help="records per transaction")
    p.set_defaults(func=_run(cmd_rekey))

    p = sub.add_parser("status", help="log size, anchored size, checkpoints")
    _common(p)
    p.set_defaults(func=_run(cmd_status))

    p = sub.add_parser("file-org", help="file organisations (JSON: a filing or a list)")
    _common(p)
    p.add_argument("file", help="filing JSON (docs/FORMATS.md, Scope documents)")
    p.add_argument(
        "--kind",
        choices=(EXAMINING_BODY,),
        help="file 专项职业能力 examining bodies: 8-digit codes, levels [0] "
        '(the filing\'s own "kind" key does the same)',
    )
    p.add_argument("--actor", default="cli", help="the province operator (audit trail)")
    p.set_defaults(func=_run(cmd_file_org))

    org = sub.add_parser("org", help="change a filed organisation (mirrored to the contract)")
    org_sub = org.add_subparsers(dest="org_command", required=True)
    for verb in ("suspend", "reactivate", "terminate", "rotate-key", "revoke-key", "merge"):
        p = org_sub.add_parser(verb)
        _common(p)
        p.add_argument("code", help="organisation code (13 characters)")
        if verb == "merge":
            p.add_argument("--into", required=True, help="the absorbing organisation's code")
        if verb in ("rotate-key", "revoke-key"):
            if verb == "revoke-key":
                p.add_argument("key_id", type=int)
            else:
                p.add_argument("--suite", required=True, choices=SUITE_NAMES)
                p.add_argument("--public-key", required=True, help="hex")
                p.add_argument(
                    "--keep-previous", action="store_true", help="do not close the latest key"
                )
            p.add_argument("--effective-at", required=True, help="unix seconds or ISO date (UTC+8)")
        p.add_argument("--actor", default="cli", help="the province operator (audit trail)")
        p.add_argument("--note", help="why (audit trail; no personal data)")
        p.set_defaults(func=_run(cmd_org))

    for verb, what in (
        ("revoke", "revoke a certificate (misconduct reason 1xx)"),
        ("suspend", "suspend a certificate's query service pending review (2xx)"),
        ("reinstate", "reinstate a suspended certificate after review (3xx)"),
        ("delete", "delete a certificate logically at the province's request (5xx)"),
        ("correct", "supersede a certificate by a corrected, signed version (4xx)"),
    ):
        p = sub.add_parser(verb, help=what)
        _common(p)
        which = p.add_mutually_exclusive_group(required=True)
        which.add_argument("--certificate-number", help="the certificate's current version")
        which.add_argument("--commitment", help="a certificate version by its commitment (hex)")
        p.add_argument(
            "--reason", type=int, required=True, help="reason code (node/core/rules/reasons.py)"
        )
        p.add_argument("--note", help="why, in words (audit trail; no personal data)")
        if verb == "correct":
            p.add_argument("file", help="the corrected certificate: one signed JSONL/CSV row")
            p.add_argument("--requested-by", required=True, help="the organisation's user")
            p.add_argument("--confirmed-by", required=True, help="the province operator")
            p.add_argument(
                "--by-province",
                action="store_true",
                help="the province corrects a terminated organisation's certificate, signed "
                "with its maintenance key (中就培发〔2022〕1号 art. 16)",
            )
            p.add_argument(
                "--maintenance-key",
                help="with --by-province: a file holding the province's maintenance private key "
                "(hex Ed25519; its public key published with `certreg consortium set-key "
                "maintenance`)",
            )
            p.set_defaults(func=_run(cmd_correct))
        else:
            p.add_argument("--actor", default="cli", help="the province operator (audit trail)")
            p.set_defaults(func=_run(cmd_status_change))

    p = sub.add_parser("return", help="return a certificate's data for correction (art. 11)")
    _common(p)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--certificate-number", help="the certificate's current version")
    which.add_argument("--commitment", help="a certificate version by its commitment (hex)")
    p.add_argument("--reason", required=True, help="what to correct (no personal data)")
    p.add_argument("--actor", default="cli", help="the province operator (audit trail)")
    p.set_defaults(func=_run(cmd_return))

    p = sub.add_parser(
        "resubmit", help="resubmit returned data, corrected and signed, within 20 working days"
    )
    _common(p)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--certificate-number", help="the returned certificate's number")
    which.add_argument("--commitment", help="the returned version by its commitment (hex)")
    p.add_argument("file", help="the corrected certificate: one signed JSONL/CSV row")
    p.add_argument("--reason", type=int, required=True, help="correction reason code (4xx)")
    p.add_argument("--requested-by", required=True, help="the organisation's user")
    p.add_argument("--confirmed-by", required=True, help="the province operator")
    p.add_argument("--note", help="why, in words (audit trail; no personal data)")
    p.set_defaults(func=_run(cmd_resubmit))

    p = sub.add_parser("screen", help="screen a certificate or an organisation for review")
    _common(p)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--certificate-number", help="screen this certificate's current version")
    which.add_argument("--commitment", help="screen this certificate version")
    which.add_argument("--organisation", help="screen an organisation's pass rate")
    p.add_argument("--assessed", type=int, default=0, help="candidates assessed (pass rate)")
    p.add_argument("--passed", type=int, default=0, help="candidates passed (pass rate)")
    p.add_argument(
        "--suspend-query", action="store_true", help="suspend a flagged certificate until review"
    )
    p.add_argument("--actor", default="cli", help="who screens (audit trail)")
    p.set_defaults(func=_run(cmd_screen))

    p = sub.add_parser("review", help="list review flags or decide one")
    _common(p)
    p.add_argument("--state", default="open", choices=("open", "cleared", "upheld"))
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--decide", nargs=2, metavar=("FLAG_ID", "clear|uphold"))
    p.add_argument("--reason", type=int, help="reason code (uphold: the misconduct code)")
    p.add_argument("--note", help="why (audit trail; no personal data)")
    p.add_argument("--actor", default="cli", help="the province operator")
    p.set_defaults(func=_run(cmd_review))

    p = sub.add_parser(
        "replay",
        help="after a restore: replay the anchored entries the log lost, from the "
        "organisations' signed submissions (docs/OPERATIONS.md)",
    )
    _common(p)
    p.add_argument("files", nargs="*", help="the organisations' signed submission files")
    p.add_argument("--format", choices=("csv", "jsonl"), help="default: from each file name")
    p.add_argument("--actor", default="cli", help="the province operator (audit trail)")
    p.set_defaults(func=_run(cmd_replay))

    p = sub.add_parser(
        "adopt-foreign",
        help="after the operators were replaced by vote: adopt the entries anchored with the "
        "stolen operator key as foreign, so anchoring resumes (docs/OPERATIONS.md)",
    )
    _common(p)
    p.add_argument(
        "--confirm",
        action="store_true",
        help="adopt even though the account that anchored them is still an operator",
    )
    p.add_argument("--actor", default="cli", help="the province operator (recorded)")
    p.set_defaults(func=_run(cmd_adopt_foreign))

    p = sub.add_parser("ingest", help="accept a CSV or JSON Lines file of signed certificates")
    _common(p)
    p.add_argument("file")
    p.add_argument("--format", choices=("csv", "jsonl"), help="default: from the file name")
    p.add_argument(
        "--mode",
        choices=("atomic", "per_row"),
        default="per_row",
        help="atomic: all rows or none; per_row: keep the good rows, report the bad ones",
    )
    p.add_argument("--received-on", help="receipt date (default: today in China)")
    p.add_argument("--actor", default="cli", help="who submits (recorded in the audit trail)")
    p.add_argument("--report", help="write one JSON line per row (results, errors) here")
    p.add_argument(
        "--chunk-size",
        type=_positive,
        default=DEFAULT_CHUNK_SIZE,
        help=f"rows per transaction (default {DEFAULT_CHUNK_SIZE}; 5000 for large files)",
    )
    p.add_argument(
        "--workers",
        type=_non_negative,
        default=0,
        help="per_row mode: worker processes that parse, check and verify signatures while "
        "this one writes (default 0; the machine's cores for large files, docs/NODE-BENCH.md)",
    )
    p.set_defaults(func=_run(cmd_ingest))

    p = sub.add_parser("anchor", help="anchor everything logged so far, now")
    _common(p)
    p.set_defaults(func=_run(cmd_anchor))

    p = sub.add_parser("run", help="run the anchoring worker until stopped")
    _common(p)
    p.add_argument("--poll", type=float, default=1.0, help="seconds between checks")
    p.set_defaults(func=_run(cmd_run))

    p = sub.add_parser(
        "witness", help="check and cosign the members' checkpoints (the node's witness key)"
    )
    _common(p)
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.add_argument(
        "--interval", type=float, help="seconds between passes (default: node.json's witness)"
    )
    p.set_defaults(func=_run(cmd_witness))

    p = sub.add_parser("export", help="write the bundles of anchored certificates")
    _common(p)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--compact", action="store_true", help="compact QR text instead of JSON")
    p.add_argument(
        "--cosigned",
        action="store_true",
        help="attach the checkpoint's cosignatures when a threshold of members cosigned it",
    )
    p.add_argument(
        "--certificate-number", action="append", help="only this certificate (repeatable)"
    )
    p.set_defaults(func=_run(cmd_export))

    # Sharing agreements, holder codes, the access log, federation (docs/SHARING.md).
    add_sharing_parsers(sub, _common, _run)
