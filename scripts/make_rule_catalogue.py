"""Write the rule-id catalogue (node/core/rules/ids.py) for the web page and the docs:

- ``api/static/js/rules.js``: the catalogue as an ES module the verification page explains
  result codes, checks and reason codes from;
- ``docs/RULES.md``: every rule id with its Chinese and English sentence and its source.

Both are generated, never edited by hand; ``tests/node/core/test_rule_ids.py`` fails when a
committed file differs from a fresh generation. Run after changing the catalogue:

    make rules        # or: .venv/bin/python scripts/make_rule_catalogue.py
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from node.core.rules.codes import PROVINCES, PROVINCES_EN  # noqa: E402
from node.core.rules.ids import CATALOGUE, Role, RuleText, reason_action  # noqa: E402

JS_PATH = ROOT / "api" / "static" / "js" / "rules.js"
DOC_PATH = ROOT / "docs" / "RULES.md"

_JS_HEAD = """\
// The catalogue of rule ids, GENERATED from node/core/rules/ids.py by
// scripts/make_rule_catalogue.py (`make rules`); do not edit by hand.
//
// Each entry: zh and en sentences, the source document and article ('' for the project's own
// rules) and the roles the id plays (rule, finding, flag, result, check, reason). An id ending
// in '.*' is a family: it explains every id with that prefix that has no entry of its own.
"""

_JS_TAIL = """\

const FAMILIES = Object.keys(RULES)
  .filter((id) => id.endsWith('.*'))
  .map((id) => [id.slice(0, -1), RULES[id]])
  .sort(([a], [b]) => b.length - a.length);

/** The entry of a rule id (or of its family), or null when the catalogue has neither. */
export function explain(id) {
  if (Object.hasOwn(RULES, id)) return RULES[id];
  for (const [prefix, entry] of FAMILIES) {
    if (id.startsWith(prefix) && id.length > prefix.length) return entry;
  }
  return null;
}

/** The meaning of a verification result code, e.g. explainResult('REVOKED'). */
export const explainResult = (code) => explain(`result.${code}`);

/** The meaning of a verification check, e.g. explainCheck('status'). */
export const explainCheck = (name) => explain(`check.${name}`);

/** The meaning of a status reason code, e.g. explainReason(106); null for an unknown code. */
export const explainReason = (code) => explain(`reason.${code}`);

/** A province's name [zh, en] by its two-digit code (table 4 of 人社鉴发〔2019〕2号); an unknown
 * code is shown as itself. */
export function provinceName(code) {
  const key = String(code);
  return Object.hasOwn(PROVINCES, key) ? PROVINCES[key] : [key, key];
}
"""


def _js_entry(entry: RuleText) -> str:
    value = {
        "zh": entry.zh,
        "en": entry.en,
        "source": entry.source,
        "roles": sorted(role.value for role in entry.roles),
    }
    return f"  {json.dumps(entry.id)}: {json.dumps(value, ensure_ascii=False)},"


def render_js() -> str:
    """The text of ``api/static/js/rules.js``."""
    lines = [_JS_HEAD, "export const RULES = Object.freeze({"]
    lines += [_js_entry(entry) for entry in CATALOGUE.values()]
    lines.append("});")
    lines.append("")
    lines.append("// Province codes and names (node/core/rules/codes.py PROVINCES, PROVINCES_EN).")
    lines.append("export const PROVINCES = Object.freeze({")
    lines += [
        f"  {json.dumps(code)}: {json.dumps([name, PROVINCES_EN[code]], ensure_ascii=False)},"
        for code, name in PROVINCES.items()
    ]
    lines.append("});")
    lines.append(_JS_TAIL)
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or "—"


def _roles_note(entry: RuleText, section: Role) -> str:
    others = sorted(role.value for role in entry.roles if role is not section)
    return f" (also a {' and '.join(others)})" if others else ""


def _table(
    entries: Iterable[RuleText], section: Role, *, key: str = "id", action: bool = False
) -> list[str]:
    head = f"| {key} | 中文 | English | source |"
    rule = "|---|---|---|---|"
    if action:
        head = f"| {key} | action | 中文 | English | source |"
        rule = "|---|---|---|---|---|"
    lines = [head, rule]
    for entry in entries:
        name = entry.id.split(".", 1)[1] if key != "id" else entry.id
        cells = [f"`{name}`{_roles_note(entry, section)}"]
        if action:
            zh, en = reason_action(int(name))
            cells.append(f"{zh} {en}")
        cells += [_cell(entry.zh), _cell(entry.en), _cell(entry.source)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


_DOC_INTRO = """\
# Rule ids 规则编号

<!-- GENERATED from node/core/rules/ids.py by scripts/make_rule_catalogue.py (`make rules`);
do not edit by hand. tests/node/core/test_rule_ids.py checks that this file is current. -->

Every id certreg raises or reports, with what it means in Chinese and English and the policy
document and article (or standard) it comes from. One catalogue, `node/core/rules/ids.py`,
holds them; the API's problem details (docs/API.md "Errors"), the CLI and the verification
page (`api/static/js/rules.js`) explain every code from it.

- **Verification results** and **checks**: `certreg verify`, `POST /v1/verify` and the page
  (docs/FORMATS.md "Verification result codes"); the catalogue ids are `result.<CODE>` and
  `check.<name>`.
- **Status reason codes**: the `reason` of a log entry and of a status change on chain
  (`node/core/rules/reasons.py`); the catalogue ids are `reason.<code>`.
- **Audit findings**: the `kind` of a finding of `certreg audit` (docs/AUDIT.md).
- **Screening flags**: the `code` of a flag that puts a certificate or organisation under review.
- **Rules**: the `rule` of a refused input (with the `field`), of an API problem, or of a
  finding's evidence, grouped by the first part of the id.

An id ending in `.*` is a family: it explains every id with that prefix that has no entry of
its own. To add a rule: raise it with a literal id, add an entry to its section of
`node/core/rules/ids.py`, run `make rules`.
"""


def render_markdown() -> str:
    """The text of ``docs/RULES.md``."""
    lines = [_DOC_INTRO]
    sections = (
        (Role.RESULT, "Verification results 核验结果", "code"),
        (Role.CHECK, "Verification checks 核验检查项", "check"),
        (Role.REASON, "Status reason codes 状态原因代码", "code"),
        (Role.FINDING, "Audit findings 审计发现", "id"),
        (Role.FLAG, "Screening flags 筛查预警", "id"),
    )
    for role, title, key in sections:
        lines.append(f"## {title}\n")
        lines += _table(CATALOGUE.with_role(role), role, key=key, action=role is Role.REASON)
        lines.append("")
    lines.append("## Rules 规则\n")
    groups: dict[str, list[RuleText]] = {}
    for entry in CATALOGUE.with_role(Role.RULE):
        groups.setdefault(entry.id.split(".", 1)[0], []).append(entry)
    for prefix in sorted(groups):
        lines.append(f"### {prefix}\n")
        lines += _table(sorted(groups[prefix], key=lambda e: e.id), Role.RULE)
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a file differs; write nothing"
    )
    args = parser.parse_args(argv)
    stale = []
    for path, text in ((JS_PATH, render_js()), (DOC_PATH, render_markdown())):
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    for path in stale:
        verb = "is stale" if args.check else "written"
        print(f"{path.relative_to(ROOT)} {verb}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
