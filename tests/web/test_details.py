"""js/details.js: the English detail lines verify.js writes for the checks added with the
certificate types and the trust work are shown in Chinese too (run in Node)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import ROOT

DETAILS = ROOT / "api" / "static" / "js" / "details.js"

CASES = {
    "bundle v2 (special_ability), issue entry": "第 2 版证书包（专项职业能力证书），发证条目",
    "bundle v1 (skill_level), issue entry, with cosignatures": (
        "第 1 版证书包（职业技能等级证书），发证条目，附检查点联署签名"
    ),
    "chain 31337 contract 0x844ec4bf": "链 31337，合约 0x844ec4bf",
    "skill_level: no term of validity": "职业技能等级证书：无有效期限",
    "special_ability: valid until 1908028800 (5 years)": (
        "专项职业能力证书：有效期（5 年）至 2030-06-19 00:00:00 北京时间（UTC+8）"
    ),
    "special_ability certificate expired at 1908028800 (5 years)": (
        "专项职业能力证书已于 2030-06-19 00:00:00 北京时间（UTC+8） 过期（有效期 5 年）"
    ),
    "no trust root: the snapshot is taken as given": "未提供信任根：快照按原样采用",
    "taken 2026-01-01 08:00 (UTC+8) (no maximum age given)": (
        "快照生成于 2026-01-01 08:00 (UTC+8)（未设最长时限）"
    ),
}


def test_new_details_in_chinese(node_bin: str, tmp_path: Path) -> None:
    script = tmp_path / "details.mjs"
    script.write_text(
        f"import {{ explainDetail }} from {json.dumps(DETAILS.as_uri())};\n"
        f"const cases = {json.dumps(list(CASES))};\n"
        "console.log(JSON.stringify(cases.map((d) => explainDetail({ detail: d }).zh)));\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [node_bin, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    assert dict(zip(CASES, json.loads(done.stdout), strict=True)) == CASES
