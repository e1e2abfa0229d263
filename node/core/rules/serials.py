"""Serials of certificate numbers (national rule 人社鉴发〔2019〕2号, positions 17-22): sequential
per organisation, issue year and level, from 000001. A gap is a warning, not a refusal."""

from __future__ import annotations

from node.core.rules.screening import Flag


def serial_gap(top: int, serial: int) -> list[Flag]:
    """A ``serial.gap`` warning when ``serial`` skips serials after ``top``, the highest one
    used so far for its organisation, year and level (national rule positions 17-22)."""
    if serial > top + 1:
        first, last = top + 1, serial - 1
        span = f"{first:06d}" if first == last else f"{first:06d}-{last:06d}"
        return [Flag("serial.gap", "warning", f"serial(s) {span} missing ({last - first + 1})")]
    return []
