"""Fixtures of the web tests: the vector payload, a static file server and headless Chromium.

The page and the JavaScript verifier need no API: a plain static server (Python's http.server
on a free 127.0.0.1 port) serves the repository, so the page is ``/api/static/index.html`` exactly
as the app serves it under ``/static``. Chromium is Debian's ``chromium`` driven by Selenium with
Debian's ``chromium-driver`` (docs/WEB.md); a missing browser fails the test under ``CI=true``
and skips it elsewhere, as the other external programs do (tests/servers.py).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.conftest import OUR_VECTORS, ROOT, TLOG_VECTORS
from tests.servers import missing

CHROMIUM = os.environ.get("CERTREG_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CERTREG_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--window-size=1280,2000",
)


def vector_payload() -> dict[str, Any]:
    """Every vector the JS verifier must pass, in one JSON object (tests/web/vectors.mjs).

    Integers beyond 2^53 (tlog sizes up to 2^64 - 1, the largest chain id) travel as decimal
    strings, since a JavaScript number cannot hold them exactly.
    """
    payload: dict[str, Any] = {
        name.replace("-", "_"): json.loads(
            (OUR_VECTORS / f"{name}.json").read_text(encoding="utf-8")
        )
        for name in (
            "commitments",
            "signatures",
            "bundles",
            "bundles-v2",
            "bundles-maintenance",
            "hostile",
            "trust",
        )
    }
    for test in payload["signatures"]["tests"]:
        test["input"]["chain_id"] = str(test["input"]["chain_id"])
    tlog = []
    for kind in ("inclusion", "consistency"):
        for path in sorted((TLOG_VECTORS / kind).rglob("*.json")):
            case = json.loads(path.read_text(encoding="utf-8"))
            case = {
                key: str(value) if isinstance(value, int) and not isinstance(value, bool) else value
                for key, value in case.items()
            }
            tlog.append({"kind": kind, "name": str(path.relative_to(TLOG_VECTORS)), "case": case})
    payload["tlog"] = tlog
    for key, name in (
        ("boundaries", "bundle-boundaries"),
        ("sm", "sm-kat"),
        ("merkle", "merkle"),
        ("time", "time"),
    ):
        payload[key] = json.loads((OUR_VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    return payload


@pytest.fixture(scope="session")
def payload() -> dict[str, Any]:
    return vector_payload()


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".json": "application/json",
    }

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def static_server() -> Iterator[str]:
    """Serve the repository root on a free 127.0.0.1 port; yield the base URL."""
    handler = functools.partial(_Handler, directory=str(ROOT))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def node_bin() -> str:
    found = shutil.which("node")
    if found is None:
        missing(os.environ, "node is not installed")
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium session (Selenium + Debian's chromium-driver)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing(os.environ, "selenium is not installed (pip install selenium)")
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        missing(os.environ, "chromium / chromium-driver are not installed (apt-get install)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_script_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()
