"""The auditor's checks that need the whole history, made once the replay reached the head:
status entries whose change never reached the chain, and serial gaps (人社鉴发〔2019〕2号
§二(七); runs counted by ``node.core.rules.serials.missing_serials`` as the intake and the
screening count them, from 000001).
"""

from __future__ import annotations

from collections.abc import Mapping

from anchor.snapshot import CERTIFICATE_STATUS_NAMES
from audit.findings import FindingSink
from audit.log import ProvinceLog
from node.core.rules.serials import serial_span


def check_end_of_history(
    logs: Mapping[str, ProvinceLog], head: int, status_grace_blocks: int, findings: FindingSink
) -> None:
    """Report, per province in order, every status entry still waiting for its on-chain change
    (unless anchored less than ``status_grace_blocks`` before ``head``), then every run of
    missing serials."""
    for province in sorted(logs):
        _unmatched_status_entries(logs[province], head, status_grace_blocks, findings)
        _serial_gaps(logs[province], findings)


def _unmatched_status_entries(
    log: ProvinceLog, head: int, status_grace_blocks: int, findings: FindingSink
) -> None:
    for commitment, queue in log.expected.items():
        for change in queue:
            if head - change.block < status_grace_blocks:
                continue
            findings(
                "entry.status_not_on_chain",
                log.province,
                f"log entry {change.leaf_index} asks for status "
                f"{CERTIFICATE_STATUS_NAMES.get(change.status)} (reason {change.reason}); "
                "the chain never recorded it",
                block=change.block,
                checkpoint_index=change.checkpoint_index,
                leaf_index=change.leaf_index,
                hashes={"commitment": commitment.hex()},
            )


def _serial_gaps(log: ProvinceLog, findings: FindingSink) -> None:
    for (organisation_code, year, level), first, last in log.serial_gaps():
        findings(
            "serial.gap",
            log.province,
            f"serial(s) {serial_span(first, last)} of organisation {organisation_code}, year "
            f"{year:02d}, level {level} never logged",
            organisation_code=organisation_code,
            year=f"{year:02d}",
            level=level,
            first=first,
            last=last,
        )


__all__ = ["check_end_of_history"]
