"""Reading a JSON document an operator keeps beside ``node.json`` (calendar years, occupation
catalogues): one place that reads the file and names it in every refusal."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from node.core.errors import InvalidInput

T = TypeVar("T")


def load_json_document(
    path: str | os.PathLike[str], field: str, rule: str, parse: Callable[[Any], T]
) -> T:
    """``parse`` of the JSON document at ``path``.

    Raises:
        InvalidInput: ``field``/``rule`` when the file cannot be read as JSON; ``parse``'s own
            refusals otherwise; either message names the file.
    """
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(field, rule, f"{path}: cannot read a JSON document") from exc
    try:
        return parse(value)
    except InvalidInput as exc:
        raise InvalidInput(exc.field, exc.rule, f"{path}: {exc.message}") from None
