"""The printable certificate (api/pdf.py): renders, and its QR code decodes to the compact bundle.

The PDF is rasterised with poppler's ``pdftoppm`` and its QR code read twice: by ``zbarimg`` and
by the page's own reader (jsQR in headless Chromium), which then verifies the bundle it read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from api.pdf import render_certificate_pdf
from node.core.errors import InvalidInput
from node.core.formats.bundle import Bundle
from tests.servers import missing
from tests.web.test_page import (
    FAR_FUTURE,
    load_snapshot,
    open_page,
    read_result,
    sample,  # noqa: F401 - the module fixture
    screenshot,
    set_time,
    wait_result,
)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        missing(os.environ, f"{name} is not installed (apt-get install poppler-utils zbar-tools)")
    return found


def _rasterise(pdf: bytes, tmp_path: Path, dpi: int = 300) -> Path:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        [
            _tool("pdftoppm"),
            "-r",
            str(dpi),
            "-png",
            "-singlefile",
            str(path),
            str(tmp_path / "page"),
        ],
        check=True,
        timeout=120,
    )
    return tmp_path / "page.png"


def _zbar(png: Path) -> str:
    done = subprocess.run(
        [_tool("zbarimg"), "-q", "--raw", str(png)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "text.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        [_tool("pdftotext"), str(path), "-"], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def test_pdf_qr_carries_the_compact_bundle(sample: Path, tmp_path: Path) -> None:  # noqa: F811
    bundle = json.loads((sample / "bundle.json").read_text(encoding="utf-8"))
    pdf = render_certificate_pdf(bundle)
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf, tmp_path)
    assert "职业技能等级证书" in text and "Certificate of Occupational Skill Level" in text
    assert bundle["fields"]["certificate_number"]["value"] in text
    assert "三级/高级工" in text
    compact = (sample / "bundle.qr.txt").read_text(encoding="utf-8").strip()
    assert _zbar(_rasterise(pdf, tmp_path)) == compact


def test_pdf_accepts_a_parsed_bundle_and_a_link(sample: Path, tmp_path: Path) -> None:  # noqa: F811
    bundle = Bundle.from_json(json.loads((sample / "bundle.json").read_text(encoding="utf-8")))
    url = "https://registry.example.cn/static/index.html#CR1:abc"
    pdf = render_certificate_pdf(bundle, verify_url=url)
    assert _zbar(_rasterise(pdf, tmp_path)) == url


def test_pdf_prints_redacted_fields_as_withheld(sample: Path, tmp_path: Path) -> None:  # noqa: F811
    full = json.loads((sample / "bundle.json").read_text(encoding="utf-8"))
    redacted = json.loads((sample / "bundle-redacted.json").read_text(encoding="utf-8"))
    assert "hash" in redacted["fields"]["id_number"]
    text = _text(render_certificate_pdf(redacted), tmp_path)
    assert full["fields"]["id_number"]["value"] not in text
    assert "withheld" in text


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("javascript:alert(1)", "pdf.verify_url_scheme"),
        ("https://x.cn/" + "a" * 2000, "pdf.verify_url_length"),
    ],
)
def test_pdf_refuses_a_bad_link(sample: Path, url: str, rule: str) -> None:  # noqa: F811
    bundle = json.loads((sample / "bundle.json").read_text(encoding="utf-8"))
    with pytest.raises(InvalidInput) as caught:
        render_certificate_pdf(bundle, verify_url=url)
    assert (caught.value.field, caught.value.rule) == ("verify_url", rule)


def test_pdf_refuses_a_malformed_bundle(sample: Path) -> None:  # noqa: F811
    bundle = json.loads((sample / "bundle.json").read_text(encoding="utf-8"))
    bundle["extra"] = 1
    with pytest.raises(InvalidInput) as caught:
        render_certificate_pdf(bundle)
    assert (caught.value.field, caught.value.rule) == ("bundle.extra", "schema.unknown_key")
    assert bundle["fields"]["holder_name"]["value"] not in str(caught.value)


def test_page_reads_the_printed_qr(
    browser: Any,
    static_server: str,
    sample: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By

    bundle = json.loads((sample / "bundle.json").read_text(encoding="utf-8"))
    page = _rasterise(render_certificate_pdf(bundle), tmp_path)
    # As a phone would frame it: the top of the printed page, where the QR code is.
    png = tmp_path / "photo.png"
    with Image.open(page) as image:
        image.crop((0, 0, image.width, image.height // 3)).save(png)
    open_page(browser, f"{static_server}/api/static/index.html")
    load_snapshot(browser, sample / "snapshot.json")
    set_time(browser, FAR_FUTURE)
    browser.execute_script("delete document.body.dataset.result")
    browser.find_element(By.ID, "qr-file").send_keys(str(png))
    wait_result(browser)
    compact = (sample / "bundle.qr.txt").read_text(encoding="utf-8").strip()
    assert browser.find_element(By.ID, "bundle-text").get_attribute("value") == compact
    assert read_result(browser)["code"] == "VALID"
    screenshot(browser, tmp_path / "from-pdf.png")


@pytest.mark.parametrize(
    ("certificate_type", "printed", "absent"),
    [
        ("skill_level", ["职业技能等级证书", "Occupational Skill Level", "职业技能等级认定"], []),
        (
            "special_ability",
            [
                "专项职业能力证书",
                "Special Vocational Ability",
                "16015001",
                "有效期至",
                "2030-06-17",
            ],
            ["职业技能等级证书", "职业技能等级："],
        ),
        (
            "vocational_qualification",
            ["职业资格证书", "Vocational Qualification", "职业资格等级"],
            ["职业技能等级证书"],
        ),
    ],
)
def test_pdf_prints_each_types_title_and_layout(
    tmp_path: Path, certificate_type: str, printed: list[str], absent: list[str]
) -> None:
    """Each certificate type prints its own title and rows; a special_ability certificate
    (issued 2025-06-18) prints its examining body and its last valid day, 2030-06-17."""
    from certreg.dev.sample import make_sample

    bundle = make_sample(2, others=1, certificate_type=certificate_type).bundle
    text = _text(render_certificate_pdf(bundle), tmp_path)
    for item in printed:
        assert item in text, item
    for item in absent:
        assert item not in text, item
