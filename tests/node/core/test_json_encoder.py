"""``json_encoder`` (node/core/canonical.py): the same text as ``json.dumps`` with the same
settings, for the values the node stores (audit details, record values)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from node.core.canonical import json_encoder

VALUES: list[Any] = [
    None,
    "张三",
    'quote " and \\ and \n',
    0,
    -12,
    2**70,
    1.5,
    True,
    [],
    {},
    ["张三", "110101199003074514", 5, None, {"a": [1, 2.25, False]}],
    {"rows": [1, 2], "名": "值", "nested": {"x": None}},
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize(
    "settings",
    [{}, {"ensure_ascii": False, "separators": (",", ":")}, {"separators": (",", ":")}],
)
def test_json_encoder_writes_what_json_dumps_writes(value: Any, settings: dict[str, Any]) -> None:
    assert json_encoder(**settings)(value) == json.dumps(value, **settings)


def test_json_encoder_refuses_what_json_dumps_refuses() -> None:
    with pytest.raises(TypeError):
        json_encoder()({"key": b"bytes"})
    with pytest.raises(TypeError):
        json_encoder()({("tuple",): 1})
