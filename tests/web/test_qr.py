"""The page reads the QR code of its own printed certificate (api/pdf.py) for the longest real
proof: a bundle of a 10^6-entry log (a 20-hash inclusion proof, a version 38 QR code at level M),
rendered at 150, 300 and 600 dpi and as a phone-like photo (scaled, slightly rotated, blurred,
JPEG). Each image goes through the page's file input; the text read must be the compact bundle
and the bundle must verify VALID in the page.

A log of 10^6 entries is not built: the proof is 20 random sibling hashes for leaf 765,432 of
1,000,000, and the root is what RFC 9162 §2.1.3.2 computes from them; the snapshot's checkpoint
carries that root. The verifier cannot tell the difference, and the QR code is the same size.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageEnhance, ImageFilter

from api.pdf import render_certificate_pdf
from certreg.dev.sample import make_sample
from node.core.formats.bundle import Bundle
from node.core.formats.compact import encode_compact
from node.core.formats.snapshot import Snapshot, SnapshotTrustSource
from node.core.merkle import node_hash
from node.core.verify import verify_bundle
from tests.web.test_page import FAR_FUTURE, load_snapshot, open_page, read_result, wait_result
from tests.web.test_pdf import _tool, _zbar

LEAF_INDEX = 765_432
TREE_SIZE = 1_000_000


def _steps(index: int, size: int) -> list[bool]:
    """RFC 9162 §2.1.3.2 step 4 for (index, size): per proof hash, whether it is on the left."""
    fn, sn, out = index, size - 1, []
    while sn:
        left = bool(fn & 1 or fn == sn)
        if left and not fn & 1:
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        out.append(left)
        fn, sn = fn >> 1, sn >> 1
    return out


def big_log_bundle(out: Path) -> tuple[dict[str, Any], str]:
    """A VALID bundle (and its snapshot, in ``out``) for leaf 765,432 of a 10^6-entry log."""
    sample = make_sample(11, "ed25519")
    bundle = sample.bundle.to_json()
    snapshot = sample.snapshot.to_json()
    rng = random.Random(1_000_000)
    steps = _steps(LEAF_INDEX, TREE_SIZE)
    proof = [rng.randbytes(32) for _ in steps]
    root = sample.bundle.entry.leaf_hash()
    for left, sibling in zip(steps, proof, strict=True):
        root = node_hash(sibling, root) if left else node_hash(root, sibling)
    bundle["proof"] = {
        "leaf_index": LEAF_INDEX,
        "tree_size": TREE_SIZE,
        "hashes": [h.hex() for h in proof],
    }
    bundle["anchor"].update(tree_size=TREE_SIZE, root=root.hex())
    snapshot["checkpoints"][-1].update(tree_size=TREE_SIZE, root=root.hex())
    trust = SnapshotTrustSource(Snapshot.from_json(snapshot))
    assert verify_bundle(bundle, trust, at=1_900_000_000).valid
    (out / "snapshot.json").write_text(json.dumps(snapshot), encoding="utf-8")
    return bundle, encode_compact(Bundle.from_json(bundle))


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The certificate's PDF rendered at each resolution, a photo of it, the compact text."""
    out = tmp_path_factory.mktemp("printed")
    bundle, compact = big_log_bundle(out)
    pdf = out / "certificate.pdf"
    pdf.write_bytes(render_certificate_pdf(bundle))
    images = {}
    for dpi in (150, 300, 600):
        subprocess.run(
            [
                _tool("pdftoppm"),
                "-r",
                str(dpi),
                "-png",
                "-singlefile",
                str(pdf),
                str(out / f"{dpi}"),
            ],
            check=True,
            timeout=120,
        )
        images[f"{dpi} dpi"] = out / f"{dpi}.png"
    # A phone photo of the page's top: smaller, turned 4 degrees, soft, a little grey, JPEG.
    with Image.open(images["300 dpi"]) as page:
        top = page.convert("RGB").crop((0, 0, page.width, page.height // 3))
        photo = top.resize((top.width * 2 // 3, top.height * 2 // 3), Image.Resampling.BILINEAR)
        photo = photo.rotate(4, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="#d8d4cc")
        photo = photo.filter(ImageFilter.GaussianBlur(0.8))
        photo = ImageEnhance.Contrast(photo).enhance(0.8)
        photo = ImageEnhance.Brightness(photo).enhance(0.92)
        photo.save(out / "photo.jpg", quality=85)
    images["photo"] = out / "photo.jpg"
    return {"images": images, "compact": compact, "snapshot": out / "snapshot.json"}


def test_the_bundle_is_the_longest_real_one(printed: dict[str, Any]) -> None:
    bundle = Bundle.from_json(json.loads(json.dumps(_decoded(printed["compact"]))))
    assert len(bundle.proof.hashes) == 20  # ceil(log2(10^6))
    assert len(printed["compact"]) > 2000  # the sample was 1,206 characters
    # zbar reads every rendering too (the photo is the page's own challenge).
    for name in ("150 dpi", "300 dpi", "600 dpi"):
        assert _zbar(printed["images"][name]) == printed["compact"], name


def _decoded(compact: str) -> dict[str, Any]:
    from node.core.formats.compact import parse_bundle_text

    return dict(parse_bundle_text(compact))


def test_the_qr_code_fits_the_layout(printed: dict[str, Any]) -> None:
    # The version 38 code stays in its 50 mm box of api/pdf.py (x 135-185 mm, y 22-72 mm from the
    # top), clear of the frame and of the title below it (from ~76 mm).
    with Image.open(printed["images"]["150 dpi"]) as page:
        grey = page.convert("L")
        px_per_mm = page.width / 210
        box = (
            int(135 * px_per_mm) - 2,
            int(22 * px_per_mm) - 2,
            int(185 * px_per_mm) + 2,
            int(72 * px_per_mm) + 2,
        )
        top = grey.crop((int(100 * px_per_mm), 0, page.width, int(75 * px_per_mm)))
        bbox = top.point(lambda v: 255 if v < 80 else 0).getbbox()
    assert bbox is not None
    left, upper, right, lower = (
        bbox[0] + int(100 * px_per_mm),
        bbox[1],
        bbox[2] + int(100 * px_per_mm),
        bbox[3],
    )
    assert box[0] <= left and right <= box[2] and box[1] <= upper and lower <= box[3]


@pytest.mark.parametrize("image", ["150 dpi", "300 dpi", "600 dpi", "photo"])
def test_page_reads_the_printed_qr(
    browser: Any, static_server: str, printed: dict[str, Any], image: str
) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, f"{static_server}/api/static/index.html")
    load_snapshot(browser, printed["snapshot"])
    browser.execute_script("document.getElementById('at').value = arguments[0]", FAR_FUTURE)
    browser.execute_script("delete document.body.dataset.result")
    browser.find_element(By.ID, "qr-file").send_keys(str(printed["images"][image]))
    wait_result(browser)
    assert browser.find_element(By.ID, "bundle-text").get_attribute("value") == printed["compact"]
    assert read_result(browser)["code"] == "VALID"
    # Read by ZXing, whose WebAssembly came from the vendor directory (there is no network here).
    decoder = browser.execute_async_script(
        "import('/api/static/js/qr.js').then((m) => arguments[0](m.lastDecoder.name))"
    )
    assert decoder == "zxing"
