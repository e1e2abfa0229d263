"""The verification page (api/static/index.html) in headless Chromium, served as static files.

A valid, a tampered and a revoked bundle go through the page (file upload, paste, QR image);
each check's verdict and the certificate in the reference layout are read back from the DOM, and
a screenshot of each is saved under the pytest tmp dir. Nothing reaches a server but the static
files: the verification runs in the page.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import segno

from node.core.rules.ids import explain, explain_check, explain_reason, explain_result
from node.core.rules.reasons import Reason
from node.core.verify import CHECKS
from tests.conftest import OUR_VECTORS, ROOT

CHECK_NAMES = [name for name, _ in CHECKS]
FAR_FUTURE = "2031-01-01T00:00:00"  # after every timestamp of the vectors (at = 1900000000)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sample bundle, its compact QR text and its snapshot (``certreg sample``)."""
    out = tmp_path_factory.mktemp("sample")
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "certreg"), "sample", "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


def _revoked(out: Path, reason: int | None = None) -> Path:
    """Vector 19 of tests/vectors/bundles.json, a bundle revoked in the 'revoked' snapshot, with
    the revocation's reason code replaced by ``reason`` when given (the vectors use 3, which is
    not a reason code; a snapshot carries no signature, so the code can be changed)."""
    vectors = json.loads((OUR_VECTORS / "bundles.json").read_text(encoding="utf-8"))
    test = next(t for t in vectors["tests"] if t["result"] == "REVOKED")
    (out / "bundle.json").write_text(json.dumps(test["input"]["bundle"]), encoding="utf-8")
    snapshot = vectors["snapshots"][test["input"]["snapshot"]]
    if reason is not None:
        [status] = snapshot["statuses"]
        status["reason"] = reason
    (out / "snapshot.json").write_text(json.dumps(snapshot), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def revoked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _revoked(tmp_path_factory.mktemp("revoked"))


@pytest.fixture(scope="module")
def revoked_erroneous_upload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The revoked bundle, revoked for reason 106 (the organisation uploaded erroneous data)."""
    return _revoked(tmp_path_factory.mktemp("revoked-106"), int(Reason.ERRONEOUS_UPLOAD))


def open_page(browser: Any, url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.body.dataset.ready === 'true'")
    )


def load_snapshot(browser: Any, path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.find_element(By.ID, "snapshot-file").send_keys(str(path))
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.ID, "snapshot-status").get_attribute("data-state") != "empty"
    )
    status = browser.find_element(By.ID, "snapshot-status")
    assert status.get_attribute("data-state") == "ok", status.text


def set_time(browser: Any, value: str) -> None:
    browser.execute_script("document.getElementById('at').value = arguments[0]", value)


def click_verify(browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.execute_script("delete document.body.dataset.result")
    browser.find_element(By.ID, "verify").click()
    wait_result(browser)


def wait_result(browser: Any) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 60).until(
        lambda d: d.execute_script("return document.body.dataset.result || null")
    )


def read_result(browser: Any) -> dict[str, Any]:
    """The verdict and what it means, the status's reason code and its meaning, each check's
    outcome and meaning, and the certificate's fields as the page shows them."""
    return browser.execute_script(  # type: ignore[no-any-return]
        """
        const rows = [...document.querySelectorAll('#checks tbody tr')];
        const fields = {};
        for (const dd of document.querySelectorAll('#cert-fields dd')) {
          fields[dd.dataset.field] = dd.textContent;
        }
        const reason = document.getElementById('status-reason');
        return {
          code: document.getElementById('verdict').dataset.code,
          verdict: document.getElementById('verdict').textContent,
          meaning: document.getElementById('verdict-meaning').textContent,
          reason: reason.hidden ? null : reason.textContent,
          checkMeanings: Object.fromEntries(
            rows.map((r) => [r.dataset.check, r.querySelector('.meaning').textContent])),
          checks: rows.map((r) => [r.dataset.check, r.dataset.passed]),
          certificateShown: !document.getElementById('certificate').hidden,
          stampShown: !document.getElementById('cert-stamp').hidden,
          fields,
          qrModules: document.getElementById('cert-qr').width,
        };
        """
    )


def screenshot(browser: Any, path: Path) -> None:
    browser.execute_script("document.body.style.zoom = '1'")
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, max(1200, int(height) + 100))
    assert browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000


def test_valid_bundle_file(browser: Any, static_server: str, sample: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, f"{static_server}/api/static/index.html")
    load_snapshot(browser, sample / "snapshot.json")
    browser.find_element(By.ID, "bundle-file").send_keys(str(sample / "bundle.json"))
    browser.execute_script("")  # let the change handler read the file
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.ID, "bundle-text").get_attribute("value")
    )
    set_time(browser, FAR_FUTURE)
    click_verify(browser)
    result = read_result(browser)
    assert result["code"] == "VALID"
    assert "有效" in result["verdict"] and "Valid" in result["verdict"]
    valid = explain_result("VALID")
    assert result["meaning"] == valid.zh + valid.en and result["reason"] is None
    assert result["checks"] == [[name, "true"] for name in CHECK_NAMES]
    for name in CHECK_NAMES:
        check = explain_check(name)
        assert result["checkMeanings"][name] == check.zh + check.en
    bundle = json.loads((sample / "bundle.json").read_text(encoding="utf-8"))
    assert result["certificateShown"] and not result["stampShown"]
    assert result["fields"]["holder_name"] == bundle["fields"]["holder_name"]["value"]
    assert result["fields"]["certificate_number"] == bundle["fields"]["certificate_number"]["value"]
    assert result["fields"]["level"].startswith(
        "三级/高级工"
    )  # level 3, 人社鉴发〔2021〕1号 wording
    assert result["qrModules"] > 0
    screenshot(browser, tmp_path / "valid.png")


def test_tampered_bundle_pasted(
    browser: Any, static_server: str, sample: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    bundle = json.loads((sample / "bundle.json").read_text(encoding="utf-8"))
    bundle["fields"]["holder_name"]["value"] = "张三丰"
    open_page(browser, f"{static_server}/api/static/index.html")
    load_snapshot(browser, sample / "snapshot.json")
    browser.execute_script(
        "document.getElementById('bundle-text').value = arguments[0]", json.dumps(bundle)
    )
    set_time(browser, FAR_FUTURE)
    click_verify(browser)
    result = read_result(browser)
    assert result["code"] == "TAMPERED"
    assert "内容被篡改" in result["verdict"]
    assert result["checks"][:3] == [
        ["format", "true"],
        ["network", "true"],
        ["commitment", "false"],
    ]
    assert all(passed == "null" for _, passed in result["checks"][3:])
    assert result["certificateShown"] and result["stampShown"]  # shown, stamped as not valid
    detail = browser.find_element(By.CSS_SELECTOR, "tr[data-check='commitment'] td:nth-child(3)")
    assert "differs from the entry" in detail.text
    screenshot(browser, tmp_path / "tampered.png")


def test_revoked_bundle(browser: Any, static_server: str, revoked: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, f"{static_server}/api/static/index.html")
    load_snapshot(browser, revoked / "snapshot.json")
    text = (revoked / "bundle.json").read_text(encoding="utf-8")
    browser.execute_script("document.getElementById('bundle-text').value = arguments[0]", text)
    set_time(browser, FAR_FUTURE)
    click_verify(browser)
    result = read_result(browser)
    assert result["code"] == "REVOKED"
    assert "已撤销" in result["verdict"] and "Revoked" in result["verdict"]
    status = CHECK_NAMES.index("status")
    assert result["checks"][:status] == [[name, "true"] for name in CHECK_NAMES[:status]]
    assert result["checks"][status] == ["status", "false"]
    assert result["checks"][status + 1 :] == [["validity", "null"]]  # skipped after a failure
    detail = browser.find_element(By.CSS_SELECTOR, "tr[data-check='status'] td:nth-child(3)")
    assert detail.text.startswith("revoked (reason 3)")
    # 3 is no reason code: the page says so rather than inventing a meaning.
    unknown = explain("reason.unknown")
    assert result["reason"] == (f"已撤销，原因代码 3：{unknown.zh}Revoked, reason 3: {unknown.en}")
    screenshot(browser, tmp_path / "revoked.png")
    # Before the revocation took effect the same bundle was valid: the time input matters.
    set_time(browser, "2026-01-02T00:00:00")
    click_verify(browser)
    assert read_result(browser)["code"] == "VALID"


def test_revoked_bundle_explains_its_reason(
    browser: Any, static_server: str, revoked_erroneous_upload: Path, tmp_path: Path
) -> None:
    """Regression: the page showed "revoked (reason 106)" with no meaning. It now says what the
    result code, the reason code and the failed check mean, in Chinese and English, from the
    rule-id catalogue."""
    open_page(browser, f"{static_server}/api/static/index.html")
    load_snapshot(browser, revoked_erroneous_upload / "snapshot.json")
    text = (revoked_erroneous_upload / "bundle.json").read_text(encoding="utf-8")
    browser.execute_script("document.getElementById('bundle-text').value = arguments[0]", text)
    set_time(browser, FAR_FUTURE)
    click_verify(browser)
    result = read_result(browser)
    assert result["code"] == "REVOKED"
    reason = explain_reason(106)
    # 技能人才评价违纪违规行为处理工作指引 art. 15: an erroneous upload is withdrawn.
    assert reason.zh == "评价机构上传证书数据有错误。"
    assert result["reason"] == f"已撤销，原因代码 106：{reason.zh}Revoked, reason 106: {reason.en}"
    revoked = explain_result("REVOKED")
    assert result["meaning"] == revoked.zh + revoked.en
    status = explain_check("status")
    assert result["checkMeanings"]["status"] == status.zh + status.en
    screenshot(browser, tmp_path / "revoked-106.png")


def test_qr_image_upload(browser: Any, static_server: str, sample: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    compact = (sample / "bundle.qr.txt").read_text(encoding="utf-8").strip()
    png = tmp_path / "bundle-qr.png"
    segno.make(compact, error="m", micro=False).save(str(png), scale=4, border=4)
    open_page(browser, f"{static_server}/api/static/index.html")
    load_snapshot(browser, sample / "snapshot.json")
    set_time(browser, FAR_FUTURE)
    browser.find_element(By.ID, "qr-file").send_keys(str(png))
    wait_result(browser)  # a scanned QR verifies at once when a snapshot is loaded
    assert browser.find_element(By.ID, "bundle-text").get_attribute("value") == compact
    result = read_result(browser)
    assert result["code"] == "VALID"
    assert result["checks"] == [[name, "true"] for name in CHECK_NAMES]
    screenshot(browser, tmp_path / "qr.png")


def test_image_without_qr_is_refused(
    browser: Any, static_server: str, sample: Path, tmp_path: Path
) -> None:
    from PIL import Image
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "white").save(blank)
    open_page(browser, f"{static_server}/api/static/index.html")
    browser.find_element(By.ID, "qr-file").send_keys(str(blank))
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.ID, "bundle-status").get_attribute("data-state") == "error"
    )
    assert "No QR code found" in browser.find_element(By.ID, "bundle-status").text


def test_garbled_compact_is_malformed(browser: Any, static_server: str, sample: Path) -> None:
    compact = (sample / "bundle.qr.txt").read_text(encoding="utf-8").strip()
    open_page(browser, f"{static_server}/api/static/index.html")
    load_snapshot(browser, sample / "snapshot.json")
    browser.execute_script(
        "document.getElementById('bundle-text').value = arguments[0]", compact[:-40]
    )
    click_verify(browser)
    result = read_result(browser)
    assert result["code"] == "MALFORMED"
    assert result["checks"][0] == ["format", "false"]
    assert not result["certificateShown"]


def test_verification_link_fragment(browser: Any, static_server: str, sample: Path) -> None:
    compact = (sample / "bundle.qr.txt").read_text(encoding="utf-8").strip()
    open_page(browser, f"{static_server}/api/static/index.html#{compact}")
    load_snapshot(browser, sample / "snapshot.json")
    set_time(browser, FAR_FUTURE)
    click_verify(browser)
    assert read_result(browser)["code"] == "VALID"


def test_special_ability_certificate_valid_then_expired(
    browser: Any, static_server: str, tmp_path: Path
) -> None:
    """A 专项职业能力证书 (format 2, issued 2025-06-18, valid 5 years) shown with its own title
    and no level: VALID in 2030 before the anniversary, EXPIRED after it."""
    from selenium.webdriver.common.by import By

    subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "certreg"),
            *("sample", "--type", "special_ability", "--out", str(tmp_path)),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    open_page(browser, f"{static_server}/api/static/index.html")
    load_snapshot(browser, tmp_path / "snapshot.json")
    text = (tmp_path / "bundle.qr.txt").read_text(encoding="ascii").strip()
    browser.execute_script("document.getElementById('bundle-text').value = arguments[0]", text)
    # Hours from the boundary either side, whatever the browser's time zone.
    set_time(browser, "2030-06-17T12:00:00")
    click_verify(browser)
    result = read_result(browser)
    assert result["code"] == "VALID", result
    assert result["checks"][-1] == ["validity", "true"]
    assert browser.find_element(By.ID, "cert-title").text == "专项职业能力证书"
    assert result["fields"]["level"].startswith("不划分等级")
    set_time(browser, "2030-06-19T12:00:00")
    click_verify(browser)
    result = read_result(browser)
    assert result["code"] == "EXPIRED", result
    assert "已过有效期" in result["verdict"] and "Expired" in result["verdict"]
    assert result["checks"][-1] == ["validity", "false"]
    assert "5 年" in result["meaning"]
