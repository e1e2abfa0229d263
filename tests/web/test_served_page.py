"""Pages served by a real province API (uvicorn on loopback over a node on SQLite and the
in-process EVM), in headless Chromium: the OpenAPI page ``/v1/docs`` renders from this node's
own vendored Swagger UI with every request off this server refused, and the verification page
verifies a ``#CR1:`` link on load, fetching the node's snapshot itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from api.context import ApiSettings
from node.core.formats.compact import encode_compact
from tests.api.conftest import Api, make_api
from tests.api.test_hostile_api import _served
from tests.contract.conftest import Registry, artifact, chain, deployed, reg
from tests.node.storage.conftest import backend, database
from tests.web.test_page import open_page, read_result, wait_result

__all__ = ["artifact", "backend", "chain", "database", "deployed", "reg"]

pytestmark = [
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
    pytest.mark.parametrize("chain", ["memory"], indirect=True),
]


@pytest.fixture
def served(database: Any, reg: Registry, tmp_path: Any) -> Iterator[tuple[Api, str]]:
    """The API with the repository's web page (api/static) and its base URL."""
    settings = ApiSettings(search_burst=1000)
    apis = make_api(database, reg, tmp_path, settings)
    api = next(apis)
    urls = _served(api, settings)
    try:
        yield api, next(urls)
    finally:  # each generator's own clean-up runs when it is resumed to its end
        next(urls, None)
        next(apis, None)


def _requests_elsewhere(browser: Any, base: str) -> list[str]:
    """The URLs the page asked for that are not on ``base`` (from the resource timings)."""
    names: list[str] = browser.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name)"
    )
    host = urlsplit(base).netloc
    return [name for name in names if urlsplit(name).netloc not in (host, "")]


def test_the_openapi_page_works_with_no_internet(browser: Any, served: tuple[Api, str]) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    _, base = served
    # Nothing but this (plain-http, loopback) server is reachable, as on a network with no
    # internet: a page that still loaded Swagger UI from a CDN would stay blank.
    allowed = urlsplit(base).netloc
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd(
        "Network.setBlockedURLs", {"urls": ["https://*", "*jsdelivr*", "*unpkg*", "*tiangolo*"]}
    )
    try:
        browser.get(f"{base}/v1/docs")
        WebDriverWait(browser, 60).until(
            lambda d: d.execute_script(
                "return document.querySelectorAll('.opblock').length > 10 || null"
            )
        )
        shown = browser.execute_script(
            """
            return {
              title: document.querySelector('.info .title')?.textContent ?? '',
              paths: [...document.querySelectorAll('.opblock-summary-path')]
                .map((e) => e.dataset.path ?? e.textContent),
              scripts: [...document.scripts].map((s) => s.src).filter(Boolean),
              sheets: [...document.querySelectorAll('link[rel=stylesheet]')].map((l) => l.href),
            };
            """
        )
    finally:
        browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    assert shown["title"].startswith("certreg")
    assert any("/v1/snapshot" in path for path in shown["paths"])
    assert any("/v1/certificates" in path for path in shown["paths"])
    for url in shown["scripts"] + shown["sheets"]:
        assert urlsplit(url).netloc == allowed, url
        assert urlsplit(url).path.startswith("/static/vendor/swagger-ui-dist/")
    assert _requests_elsewhere(browser, base) == []


def test_a_verification_link_is_verified_on_load_against_the_nodes_snapshot(
    browser: Any, served: tuple[Api, str]
) -> None:
    api, base = served
    compact = encode_compact(api.node.bundles.bundle(api.issued[0].commitment))
    # The in-process EVM stamps each block at least a second after its parent, so after a burst
    # of blocks its clock runs ahead of the wall clock, and the page (which verifies at "now")
    # would rightly see the checkpoint as anchored in the future: wait for the wall clock.
    head = api.client.get("/v1/snapshot").json()["block"]["timestamp"]
    deadline = time.monotonic() + 60
    while time.time() <= head and time.monotonic() < deadline:
        time.sleep(0.2)
    # No click, no snapshot file: opening the link verifies it.
    open_page(browser, f"{base}/static/index.html#{compact}")
    wait_result(browser)
    result = read_result(browser)
    assert result["code"] == "VALID", result
    assert result["certificateShown"]
    shown = browser.execute_script(
        """
        return {snapshot: document.getElementById('snapshot-status').textContent,
                state: document.getElementById('snapshot-status').dataset.state,
                bundle: document.getElementById('bundle-text').value};
        """
    )
    assert shown["state"] == "ok" and "本节点" in shown["snapshot"], shown
    assert "北京时间" in shown["snapshot"]
    assert shown["bundle"] == compact
    # Another link in the same page (hashchange): verified too, the old result gone first.
    other = encode_compact(api.node.bundles.bundle(api.issued[1].commitment))
    browser.execute_script(
        "delete document.body.dataset.result; location.hash = arguments[0]", other
    )
    wait_result(browser)
    assert read_result(browser)["code"] == "VALID"
    assert browser.execute_script("return document.getElementById('bundle-text').value") == other
