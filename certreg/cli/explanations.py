"""What the CLI prints about a rule id, a verification result, a check or a reason code: the
Chinese and the English sentence of the rule-id catalogue (``node/core/rules/ids.py``).

Errors keep their first line (``error: field: message [rule]``) and gain the rule's meaning on
the lines after it; ``--json`` output gains ``explanation`` objects and keeps every key it had.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from node.core.errors import InvalidInput
from node.core.rules.ids import RuleText, explain, lookup, reason_action
from node.core.verify import VerificationResult

INDENT = "  "


def meaning_lines(entry: RuleText | None, indent: str = INDENT) -> list[str]:
    """The Chinese sentence, then the English one with its source in brackets; none for None."""
    if entry is None:
        return []
    source = f" [{entry.source}]" if entry.source else ""
    return [f"{indent}{entry.zh}", f"{indent}{entry.en}{source}"]


def rule_lines(exc: BaseException, indent: str = INDENT) -> list[str]:
    """The meaning of the rule ``exc`` broke (an :class:`InvalidInput`); none for others."""
    if not isinstance(exc, InvalidInput):
        return []
    return meaning_lines(lookup(exc.rule), indent)


def print_error(exc: BaseException, prefix: str = "error: ", file: TextIO | None = None) -> None:
    """Print ``prefix`` and the error, then what its rule means (to stderr by default)."""
    out = sys.stderr if file is None else file
    print(f"{prefix}{exc}", file=out)
    for line in rule_lines(exc):
        print(line, file=out)


def reason_entry(code: int) -> tuple[str, RuleText]:
    """A heading (``原因 reason 106（撤销 revocation）``) and the meaning of a status reason code;
    a code the reason table lacks is explained by the ``reason.unknown`` rule."""
    entry = lookup(f"reason.{code}")
    if entry is None:
        return f"原因 reason {code}", explain("reason.unknown")
    zh, en = reason_action(code)
    return f"原因 reason {code}（{zh} {en}）", entry


def result_lines(result: VerificationResult) -> list[str]:
    """The meaning of the result code, and of the status's reason code when there is one."""
    lines = meaning_lines(explain(f"result.{result.code.value}"))
    if result.reason is not None:
        heading, entry = reason_entry(result.reason)
        lines.append(f"{INDENT}{heading}：{entry.zh}")
        lines.append(f"{INDENT}{INDENT}{entry.en}")
    return lines


def result_json(result: VerificationResult) -> dict[str, Any]:
    """``result.to_json()`` with ``explanation`` objects added (``{"zh", "en", "source"}``): of
    the result code at the top, of each check in it, and ``reason`` (the status's reason code
    and its explanation, or null)."""
    body = result.to_json()
    body["explanation"] = explain(f"result.{result.code.value}").to_json()
    for check in body["checks"]:
        check["explanation"] = explain(f"check.{check['name']}").to_json()
    if result.reason is None:
        body["reason"] = None
    else:
        _, entry = reason_entry(result.reason)
        body["reason"] = {"code": result.reason, "explanation": entry.to_json()}
    return body
