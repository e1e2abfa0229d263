"""Sharing-agreement terms for the tests (docs/SHARING.md): a synthetic employer platform with a
unified social credit code whose check character is right (node/core/rules/uscc.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from node.core.rules.uscc import uscc_check_character

#: A synthetic code: registration department 9, category 1, division 410100 (郑州), an
#: organisation code, and its check character.
CREDIT_CODE = "91410100MA1234567" + uscc_check_character("91410100MA1234567")
APPLICATION = "ab" * 32
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2027, 12, 31, tzinfo=dt.UTC)


def terms_json(**changes: Any) -> dict[str, Any]:
    """The JSON terms of an employer platform's agreement (masked ID numbers, names in full)."""
    value: dict[str, Any] = {
        "partner_name": "示例人力资源服务平台有限公司",
        "credit_code": CREDIT_CODE,
        "partner_kind": "employer",
        "application_sha256": APPLICATION,
        "purpose": "招聘核验",
        "scenario": "在线招聘平台核验求职者的职业技能等级证书",
        "operations": ["query", "status"],
        "fields": ["holder_name"],
        "provinces": ["44", "41", "43"],
        "starts_at": START.isoformat(),
        "ends_at": END.isoformat(),
        "daily_quota": 100,
        "no_commercial_use": True,
        "approved_by": "省人社厅职业能力建设处",
    }
    value.update(changes)
    return value
