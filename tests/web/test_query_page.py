"""The page's query panel in headless Chromium, served by real province APIs (uvicorn on
loopback, tests/province/federation_nodes.py): Henan's page finds a Guangdong certificate by
number and by name + ID number with the ID number masked; the holder gets their own bundle on
Guangdong's page, redacted as they chose, and the page verifies it against the node's snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.helpers import holder
from tests.province.federation_nodes import Consortium, start_consortium
from tests.web.test_page import open_page, read_result, wait_result


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    found = start_consortium(tmp_path_factory.mktemp("page-federation"))
    try:
        yield found
    finally:
        found.close()


def fill(browser: Any, **values: str) -> None:
    for field, value in values.items():
        browser.execute_script(
            "document.getElementById(arguments[0]).value = arguments[1]", field, value
        )


def searched(browser: Any) -> dict[str, Any]:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.body.dataset.searched ?? null") is not None
    )
    return browser.execute_script(  # type: ignore[no-any-return]
        """
        return {
          rows: [...document.querySelectorAll('#matches tbody tr')].map((r) => ({
            province: r.dataset.province, status: r.dataset.status,
            name: r.querySelector('[data-field=holder_name]').textContent,
            id: r.querySelector('[data-field=id_number]').textContent,
          })),
          unanswered: [...document.querySelectorAll('#unanswered li')]
            .map((l) => l.dataset.province),
          page: document.body.innerText,
        };
        """
    )


def test_henans_page_finds_a_guangdong_certificate(browser: Any, consortium: Consortium) -> None:
    from selenium.webdriver.common.by import By

    person = holder(2)
    open_page(browser, consortium["41"].url + "/static/index.html")
    masked = person.id_number[:4] + "*" * 10 + person.id_number[-4:]
    for values in (
        {"q-number": person.certificate_number, "q-name": person.holder_name, "q-id": ""},
        {"q-number": "", "q-name": person.holder_name, "q-id": person.id_number},
    ):
        browser.execute_script("delete document.body.dataset.searched")
        fill(browser, **values)
        browser.find_element(By.ID, "search").click()
        found = searched(browser)
        assert found["rows"] == [
            {"province": "44", "status": "active", "name": person.holder_name, "id": masked}
        ]
        assert found["unanswered"] == []
        assert person.id_number not in found["page"]  # (input values are not page text)


def test_the_holder_gets_a_redacted_bundle_that_verifies(
    browser: Any, consortium: Consortium
) -> None:
    from selenium.webdriver.common.by import By

    person = holder(3)
    open_page(browser, consortium["44"].url + "/static/index.html")
    browser.find_element(By.CSS_SELECTOR, "#holder summary").click()
    fill(
        browser,
        **{
            "q-number": person.certificate_number,
            "q-name": person.holder_name,
            "q-id": person.id_number,
        },
    )
    for field in ("holder_name", "id_number"):
        browser.find_element(By.CSS_SELECTOR, f"#disclose input[value={field}]").click()
    browser.execute_script("document.getElementById('at').value = '2031-01-01T00:00:00'")
    browser.find_element(By.ID, "holder-bundle").click()
    wait_result(browser)
    result = read_result(browser)
    # Verified with Guangdong's own snapshot (version 2: the rules re-run). The fixtures'
    # certificates, issued in June 2025, were anchored on a chain running on today's clock:
    # every check passes but the deadline rule (tests/api/helpers.py ``genuine_but_late``).
    assert result["code"] == "DISPUTED"
    assert [name for name, passed in result["checks"] if passed == "false"] == ["rules"]
    assert result["fields"]["holder_name"].startswith("（持证人未出示）")
    assert result["fields"]["certificate_number"] == person.certificate_number
    bundle = browser.execute_script("return document.getElementById('bundle-text').value")
    assert person.id_number not in bundle and person.holder_name not in bundle
    # The read is in Guangdong's access log.
    reads = consortium["44"].node.access.about([consortium.issued[2].commitment])
    assert reads[0]["operation"] == "holder_bundle" and reads[0]["result"] == "found"
