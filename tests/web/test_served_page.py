"""Pages served by a real province API (uvicorn on loopback over the demo province: SQLite and
the in-process EVM), in headless Chromium: the OpenAPI page ``/v1/docs`` renders from this node's
own vendored Swagger UI with every request off this server refused, and the verification page
verifies a ``#CR1:`` link on load, fetching the node's snapshot itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from api.context import ApiSettings
from certreg.dev.demo import Demo, make_demo
from node.core.formats.compact import encode_compact
from tests.api.test_hostile_api import _served
from tests.web.test_page import open_page, read_result, wait_result


@pytest.fixture
def served(tmp_path: Any) -> Iterator[tuple[Demo, str]]:
    """The demo province's API (certificates issued today, certreg/dev/demo.py: the node's
    snapshot re-runs the deadline rules on them) with the repository's web page (api/static)
    and its base URL."""
    demo = make_demo(tmp_path, certificates=3)
    settings = ApiSettings(search_burst=1000)
    urls = _served(demo.node, settings)
    try:
        yield demo, next(urls)
    finally:
        next(urls, None)
        demo.node.close()


def _requests_elsewhere(browser: Any, base: str) -> list[str]:
    """The URLs the page asked for that are not on ``base`` (from the resource timings)."""
    names: list[str] = browser.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name)"
    )
    host = urlsplit(base).netloc
    return [name for name in names if urlsplit(name).netloc not in (host, "")]


def test_the_openapi_page_works_with_no_internet(browser: Any, served: tuple[Demo, str]) -> None:
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
    browser: Any, served: tuple[Demo, str]
) -> None:
    demo, base = served
    commitments = [bytes.fromhex(c["commitment"]) for c in demo.certificates]
    compact = encode_compact(demo.node.bundles.bundle(commitments[0]))
    # The in-process EVM stamps each block at least a second after its parent, so after a burst
    # of blocks its clock runs ahead of the wall clock, and the page (which verifies at "now")
    # would rightly see the checkpoint as anchored in the future: wait for the wall clock.
    head = demo.node.client.w3.eth.get_block("latest")["timestamp"]
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
    other = encode_compact(demo.node.bundles.bundle(commitments[1]))
    browser.execute_script(
        "delete document.body.dataset.result; location.hash = arguments[0]", other
    )
    wait_result(browser)
    assert read_result(browser)["code"] == "VALID"
    assert browser.execute_script("return document.getElementById('bundle-text').value") == other


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_with_the_trust_root_pinned_the_page_trusts_only_a_signed_node_snapshot(
    browser: Any, tmp_path: Any, signed: bool
) -> None:
    """``certreg serve --trust-root`` (the page pins it) with and without the node's
    checkpoint-signing key: the link is VALID on the node's signed snapshot, and
    UNTRUSTED_SNAPSHOT on an unsigned one."""
    import json

    from anchor.trust_roots import (
        assemble,
        publish_checkpoint_key,
        root_body_from_chain,
        sign_root,
    )
    from certreg.dev.demo import PROVINCE
    from node.core.crypto.signatures import get_suite

    demo = make_demo(tmp_path, certificates=1)
    ed = get_suite("ed25519")
    key = ed.generate_private_key(b"page checkpoint key".ljust(32, b"."))
    publish_checkpoint_key(demo.node.client, "ed25519", ed.public_key(key))
    body = root_body_from_chain(demo.node.client)
    root = tmp_path / "trust-root.json"
    root.write_text(
        json.dumps(assemble(body, [sign_root(body, PROVINCE, "ed25519", key)]).to_json())
    )
    key_file = tmp_path / "checkpoint-key.hex"
    key_file.write_text(key.hex())
    settings = ApiSettings(trust_root=root, checkpoint_key=key_file if signed else None)
    urls = _served(demo.node, settings)
    try:
        base = next(urls)
        bundle = demo.node.bundles.bundle(bytes.fromhex(demo.certificates[0]["commitment"]))
        head = demo.node.client.w3.eth.get_block("latest")["timestamp"]
        while time.time() <= head:  # the in-process EVM's clock runs ahead (see above)
            time.sleep(0.2)
        open_page(browser, f"{base}/static/index.html#{encode_compact(bundle)}")
        wait_result(browser)
        result = read_result(browser)
        assert result["code"] == ("VALID" if signed else "UNTRUSTED_SNAPSHOT"), result
        trust = dict(result["checks"])["trust"]
        assert trust == ("true" if signed else "false")
    finally:
        next(urls, None)
        demo.node.close()
