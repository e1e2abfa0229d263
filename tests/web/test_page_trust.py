"""The page with its node's trust root pinned (``trust-root.json`` next to index.html): the
forged (unsigned) snapshot, a stale one and a backdated certificate are not VALID, each with its
code; a snapshot of another network is refused on load; a genuine bundle with a signed, fresh
snapshot is VALID; a QR text with its checkpoint's cosignatures verifies with the trust root
alone (no snapshot), served from a static folder."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.web.conftest import _Handler
from tests.web.test_page import click_verify, open_page, read_result

VECTORS = json.loads((ROOT / "tests" / "vectors" / "trust.json").read_text("utf-8"))
ROOT_PATH = "/api/static/trust-root.json"


class _PinnedHandler(_Handler):
    """The repository's static files, and the vectors' trust root as the page's pinned root."""

    def do_GET(self) -> None:
        if self.path.split("?")[0] == ROOT_PATH:
            body = json.dumps(VECTORS["trust_roots"]["chain"]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


@pytest.fixture(scope="module")
def pinned_server() -> Iterator[str]:
    handler = functools.partial(_PinnedHandler, directory=str(ROOT))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _case(comment: str) -> dict[str, Any]:
    return next(c for c in VECTORS["tests"] if c["comment"] == comment)


def _load(browser: Any, tmp_path: Path, name: str) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(VECTORS["snapshots"][name]), encoding="utf-8")
    browser.find_element(By.ID, "snapshot-file").send_keys(str(path))
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.ID, "snapshot-status").get_attribute("data-state") != "empty"
    )
    status = browser.find_element(By.ID, "snapshot-status")
    return f"{status.get_attribute('data-state')}: {status.text}"


def _verify(browser: Any, comment: str) -> dict[str, Any]:
    given = _case(comment)["input"]
    text = given["compact"] if "compact" in given else json.dumps(given["bundle"])
    browser.execute_script(
        """
        document.getElementById('bundle-text').value = arguments[0];
        // The page reads its time input as China time (UTC+8), whatever the browser's zone.
        document.getElementById('at').value =
          new Date((arguments[1] + 8 * 3600) * 1000).toISOString().slice(0, 19);
        """,
        text,
        given["at"],
    )
    click_verify(browser)
    return read_result(browser)


@pytest.mark.parametrize(
    ("comment", "snapshot", "code"),
    [
        ("signed by two of three, fresh", "signed", "VALID"),
        ("unsigned snapshot", "unsigned", "UNTRUSTED_SNAPSHOT"),
        ("eight days old", "signed", "STALE"),
        ("anchored 23 months after the issue date", "backdated", "DISPUTED"),
    ],
)
def test_pinned_root_codes(
    browser: Any, pinned_server: str, tmp_path: Path, comment: str, snapshot: str, code: str
) -> None:
    open_page(browser, f"{pinned_server}/api/static/index.html")
    assert browser.execute_script("return document.body.dataset.trustRoot") == "2"
    status = _load(browser, tmp_path, snapshot)
    assert status.startswith("ok: ") and "UTC+8" in status, status
    result = _verify(browser, comment)
    assert result["code"] == code, result


def test_a_snapshot_of_another_network_is_refused(
    browser: Any, pinned_server: str, tmp_path: Path
) -> None:
    open_page(browser, f"{pinned_server}/api/static/index.html")
    status = _load(browser, tmp_path, "other-network")
    assert status.startswith("error: ") and "another network" in status, status


def test_a_cosigned_qr_text_verifies_with_the_root_alone(browser: Any, pinned_server: str) -> None:
    open_page(browser, f"{pinned_server}/api/static/index.html")
    result = _verify(browser, "cosigned, compact form, no snapshot")
    assert result["code"] == "VALID", result
    as_of = browser.execute_script("return document.getElementById('as-of').textContent")
    assert "later revocations are not known" in as_of
    forged = _verify(browser, "cosigned by 11 and 44's replaced key")
    assert forged["code"] == "UNTRUSTED_SNAPSHOT"
