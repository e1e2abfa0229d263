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
    assert result["checks"][:4] == [
        ["format", "true"],
        ["network", "true"],
        ["trust", "true"],
        ["commitment", "false"],
    ]
    assert all(passed == "null" for _, passed in result["checks"][4:])
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
    assert all(passed == "null" for _, passed in result["checks"][status + 1 :])
    # 3 is no reason code: the page says so rather than inventing a meaning, in the result and
    # in the check's detail (Chinese, then English).
    unknown = explain("reason.unknown")
    detail = browser.find_element(By.CSS_SELECTOR, "tr[data-check='status'] td:nth-child(3)")
    english = detail.find_element(By.CSS_SELECTOR, ".en").text
    assert english.startswith(f"revoked (reason 3: {unknown.en}) at block ")
    assert detail.text.startswith(f"区块 30 起已撤销，原因代码 3：{unknown.zh}")
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


def _details(browser: Any) -> dict[str, dict[str, str]]:
    """Each check's detail cell: all its text and its English part."""
    return browser.execute_script(  # type: ignore[no-any-return]
        """
        return Object.fromEntries([...document.querySelectorAll('#checks tbody tr')].map((r) => {
          const cell = r.querySelector('td:nth-child(3)');
          return [r.dataset.check, {all: cell.textContent,
                                    en: cell.querySelector('.en')?.textContent ?? '',
                                    rule: cell.dataset.rule ?? null}];
        }));
        """
    )


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


def test_every_detail_in_chinese_and_english_provinces_by_name_china_time(
    browser: Any, static_server: str, sample: Path
) -> None:
    open_page(browser, f"{static_server}/api/static/index.html")
    load_snapshot(browser, sample / "snapshot.json")
    status = browser.execute_script("return document.getElementById('snapshot-status').textContent")
    assert "北京时间（UTC+8）" in status and "China time (UTC+8)" in status
    text = (sample / "bundle.json").read_text(encoding="utf-8")
    for pasted, code in ((text, "VALID"), (text.replace('"v": 1', '"v": 7', 1), "MALFORMED")):
        browser.execute_script(
            "document.getElementById('bundle-text').value = arguments[0]", pasted
        )
        # The time given is China time whatever the browser's zone: 2031-01-01 00:00 UTC+8.
        set_time(browser, FAR_FUTURE)
        click_verify(browser)
        assert read_result(browser)["code"] == code
        details = _details(browser)
        assert set(details) == set(CHECK_NAMES)
        for name, detail in details.items():
            assert _has_chinese(detail["all"].removesuffix(detail["en"])), (name, detail)
            assert detail["en"], (name, detail)
        as_of = browser.execute_script("return document.getElementById('as-of').textContent")
        assert "2031-01-01 00:00:00 北京时间（UTC+8）" in as_of
        assert "2031-01-01 00:00:00 China time (UTC+8)" in as_of
    # The malformed bundle's failure names its rule id, explained from the catalogue.
    assert details["format"]["rule"] is not None
    assert explain(details["format"]["rule"]) is not None
    # Valid: the issuer's province by name (广东省, 44), in both languages.
    browser.execute_script("document.getElementById('bundle-text').value = arguments[0]", text)
    click_verify(browser)
    issuer = _details(browser)["issuer"]
    assert "广东省（44）" in issuer["all"] and "Guangdong (44)" in issuer["en"]


def test_new_input_clears_the_previous_result(
    browser: Any, static_server: str, sample: Path
) -> None:
    open_page(browser, f"{static_server}/api/static/index.html")
    load_snapshot(browser, sample / "snapshot.json")
    text = (sample / "bundle.json").read_text(encoding="utf-8")
    browser.execute_script("document.getElementById('bundle-text').value = arguments[0]", text)
    set_time(browser, FAR_FUTURE)
    click_verify(browser)
    assert read_result(browser)["code"] == "VALID"
    # Typing into the bundle box: the verdict, the certificate and the message go.
    browser.execute_script(
        """
        const box = document.getElementById('bundle-text');
        box.value = box.value + ' ';
        box.dispatchEvent(new Event('input', {bubbles: true}));
        """
    )
    shown = browser.execute_script(
        """
        return {result: !document.getElementById('result').hidden,
                certificate: !document.getElementById('certificate').hidden,
                rows: document.querySelectorAll('#checks tbody tr').length,
                code: document.body.dataset.result ?? null};
        """
    )
    assert shown == {"result": False, "certificate": False, "rows": 0, "code": None}
    # A failed attempt leaves no earlier verdict behind either.
    click_verify(browser)
    assert read_result(browser)["code"] == "VALID"
    browser.execute_script(
        "document.getElementById('bundle-text').value = '';"
        "document.getElementById('bundle-text').dispatchEvent(new Event('input'))"
    )
    browser.find_element("id", "verify").click()
    message = browser.execute_script(
        "return [document.getElementById('bundle-status').textContent,"
        " document.getElementById('result').hidden]"
    )
    assert message[0].startswith("请提供证书包") and message[1] is True


DROP = """
const [items, done] = [arguments[0], arguments[arguments.length - 1]];
const transfer = new DataTransfer();
for (const [name, type, content] of items) {
  const bytes = type.startsWith('image/')
    ? Uint8Array.from(atob(content), (c) => c.charCodeAt(0)) : content;
  transfer.items.add(new File([bytes], name, {type}));
}
const result = document.getElementById('result');
const target = result.hidden ? document.body : result;
for (const kind of ['dragenter', 'dragover', 'drop']) {
  const init = {dataTransfer: transfer, bubbles: true, cancelable: true};
  target.dispatchEvent(new DragEvent(kind, init));
}
done(true);
"""


def drop(browser: Any, *files: tuple[str, str, str]) -> None:
    browser.execute_script("delete document.body.dataset.result")
    browser.execute_async_script(DROP, [list(f) for f in files])


def test_drag_and_drop_of_a_snapshot_and_a_bundle_or_a_qr_image(
    browser: Any, static_server: str, sample: Path, tmp_path: Path
) -> None:
    import base64

    open_page(browser, f"{static_server}/api/static/index.html")
    set_time(browser, FAR_FUTURE)
    snapshot = (sample / "snapshot.json").read_text(encoding="utf-8")
    bundle = (sample / "bundle.json").read_text(encoding="utf-8")
    # Both at once, the bundle first: the snapshot is loaded first whatever the order.
    drop(
        browser,
        ("bundle.json", "application/json", bundle),
        ("snapshot.json", "application/json", snapshot),
    )
    wait_result(browser)
    assert read_result(browser)["code"] == "VALID"
    assert "snapshot.json" in browser.execute_script(
        "return document.getElementById('snapshot-status').textContent"
    )
    # Then a QR image of a tampered compact bundle: verified against the loaded snapshot.
    compact = (sample / "bundle.qr.txt").read_text(encoding="utf-8").strip()
    image = tmp_path / "qr.png"
    segno.make(compact, error="m", mode="byte").save(str(image), scale=4)
    drop(browser, ("qr.png", "image/png", base64.b64encode(image.read_bytes()).decode()))
    wait_result(browser)
    assert read_result(browser)["code"] == "VALID"
    assert browser.execute_script("return document.getElementById('bundle-text').value") == compact


def test_the_certificate_fits_a_360_px_phone(
    browser: Any, static_server: str, sample: Path, tmp_path: Path
) -> None:
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": True},
    )
    try:
        open_page(browser, f"{static_server}/api/static/index.html")
        load_snapshot(browser, sample / "snapshot.json")
        text = (sample / "bundle.json").read_text(encoding="utf-8")
        browser.execute_script("document.getElementById('bundle-text').value = arguments[0]", text)
        set_time(browser, FAR_FUTURE)
        click_verify(browser)
        assert read_result(browser)["certificateShown"]
        sizes = browser.execute_script(
            """
            const page = document.documentElement;
            const wide = [...document.querySelectorAll('#certificate *, #result *, #inputs *')]
              .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
              .map((e) => e.id || e.className || e.tagName);
            const cert = document.getElementById('certificate');
            return {inner: window.innerWidth, page: page.scrollWidth, wide,
                    certRight: cert.getBoundingClientRect().right,
                    certScroll: cert.scrollWidth, certClient: cert.clientWidth};
            """
        )
        browser.save_screenshot(str(tmp_path / "phone.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert sizes["inner"] == 360
    assert sizes["page"] <= 360, sizes
    assert sizes["wide"] == [], sizes
    assert sizes["certRight"] <= 360 and sizes["certScroll"] <= sizes["certClient"], sizes


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
    assert ["validity", "true"] in result["checks"]
    assert browser.find_element(By.ID, "cert-title").text == "专项职业能力证书"
    assert result["fields"]["level"].startswith("不划分等级")
    set_time(browser, "2030-06-19T12:00:00")
    click_verify(browser)
    result = read_result(browser)
    assert result["code"] == "EXPIRED", result
    assert "已过有效期" in result["verdict"] and "Expired" in result["verdict"]
    assert ["validity", "false"] in result["checks"]
    assert "5 年" in result["meaning"]
