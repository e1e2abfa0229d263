"""The printable certificate: a one-page A4 PDF in the reference layout with a QR code.

Layout after the reference style of 人社鉴发〔2021〕1号 (seed 001, "职业技能等级证书参考样式"
(一)): the title 职业技能等级证书 / Certificate of Occupational Skill Level, the certifying text in
Chinese and English, the fields 姓名, 证件类型, 证件号码, 职业名称, 工种/职业方向, 职业技能等级,
证书编号 with their English names, the organisation and the issue date, a photo placeholder (1寸,
2.5 cm × 3.5 cm), a QR code and the two query addresses. Chinese is set in reportlab's built-in
CID font STSong-Light (no font file needed), English in Times-Roman.

The QR code carries the compact bundle (``CR1:…``, docs/FORMATS.md "Compact form") unless a
verification link is given. The reference asks for 30 mm; a full bundle needs a version 25-40
code, so the bundle's QR is 50 mm to stay readable at 300 dpi, a link's 30 mm. Redacted fields
print as withheld. Pure: bytes in memory, no file or network access.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Mapping
from typing import Any

import segno
from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from reportlab.platypus import Paragraph  # type: ignore[import-untyped]

from node.core.certificate import SKILL_LEVEL, SPECIAL_ABILITY, VOCATIONAL_QUALIFICATION
from node.core.errors import InvalidInput
from node.core.formats.bundle import Bundle
from node.core.formats.commitment import Disclosed
from node.core.formats.compact import encode_compact
from node.core.time import china_date_of_unix
from node.core.verify import expiry_of

CJK_FONT = "STSong-Light"
LATIN_FONT = "Times-Roman"
QUERY_SITES = (
    ("证书信息查询网址 (Certificate Information)", "http://jndj.osta.org.cn/"),
    ("机构信息查询网址 (Assessment Information)", "http://pjjg.osta.org.cn/"),
)
#: Field rows of the reference layout: (field, Chinese label, English label).
FIELD_ROWS = (
    ("holder_name", "姓名", "Name"),
    ("id_type", "证件类型", "ID Type"),
    ("id_number", "证件号码", "ID No."),
    ("occupation_name", "职业名称", "Occupation"),
    ("work_type_name", "工种/职业方向", "Job"),
    ("level", "职业技能等级", "Skill Level"),
    ("certificate_number", "证书编号", "Certificate No."),
)
#: Each type's title, subtitle, certifying route (Chinese, English) and field rows. 专项职业能力
#: is not graded (豫职鉴函〔2020〕5号 附件1 一(一)) and is valid 5 years (劳社厅发〔2006〕29号 三):
#: its certificate prints the ability, the examining body's code and the last day of validity
#: instead of a level (Henan's reference 附件2 of 豫人社办函〔2020〕41号).
TYPE_LAYOUTS: dict[str, tuple[str, str, str, str, tuple[tuple[str, str, str], ...]]] = {
    SKILL_LEVEL: (
        "职业技能等级证书",
        "Certificate of Occupational Skill Level",
        "职业技能等级认定，具备该职业（工种）相应技能等级水平",
        "occupational skill level assessment",
        FIELD_ROWS,
    ),
    SPECIAL_ABILITY: (
        "专项职业能力证书",
        "Certificate of Special Vocational Ability",
        "专项职业能力考核，具备该项专项职业能力",
        "special vocational ability examination",
        (
            ("holder_name", "姓名", "Name"),
            ("id_type", "证件类型", "ID Type"),
            ("id_number", "证件号码", "ID No."),
            ("occupation_name", "专项职业能力", "Special Ability"),
            ("certificate_number", "证书编号", "Certificate No."),
            ("organisation_code", "考核机构代码", "Examining Body"),
            ("valid_until", "有效期至", "Valid Until"),
        ),
    ),
    VOCATIONAL_QUALIFICATION: (
        "职业资格证书",
        "Certificate of Vocational Qualification",
        "职业资格评价，具备该职业相应的职业资格",
        "vocational qualification evaluation",
        (
            ("holder_name", "姓名", "Name"),
            ("id_type", "证件类型", "ID Type"),
            ("id_number", "证件号码", "ID No."),
            ("occupation_name", "职业名称", "Occupation"),
            ("work_type_name", "工种/职业方向", "Job"),
            ("level", "职业资格等级", "Qualification Level"),
            ("certificate_number", "证书编号", "Certificate No."),
        ),
    ),
}
#: 人社鉴发〔2021〕1号 §三(一): the level as "中文数字 + 级 / 等级名称".
LEVEL_NAMES = {
    1: "一级/高级技师",
    2: "二级/技师",
    3: "三级/高级工",
    4: "四级/中级工",
    5: "五级/初级工",
}
#: ID types (docs/FORMATS.md "Certificate fields").
ID_TYPE_NAMES = {
    "resident_id": "居民身份证",
    "passport": "护照",
    "hk_macao_permit": "港澳居民来往内地通行证",
    "taiwan_permit": "台湾居民来往大陆通行证",
    "hmt_residence_permit": "港澳台居民居住证",
    "foreign_permanent_residence": "外国人永久居留身份证",
}
WITHHELD = "（持证人未出示 withheld）"
BUNDLE_QR_SIZE = 50 * mm
LINK_QR_SIZE = 30 * mm
MAX_URL_LENGTH = 2000


def _register_fonts() -> None:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def render_certificate_pdf(
    bundle: Bundle | Mapping[str, Any], *, verify_url: str | None = None
) -> bytes:
    """Return the certificate of ``bundle`` as a one-page A4 PDF.

    The QR code carries ``verify_url`` when given (e.g. the page's address with ``#CR1:…``),
    otherwise the compact bundle itself, so the printout verifies offline.

    Raises:
        InvalidInput: the bundle does not parse (field ``bundle…``), or ``verify_url`` is not an
            http(s) address of at most 2,000 characters (field ``verify_url``).
    """
    parsed = bundle if isinstance(bundle, Bundle) else Bundle.from_json(bundle)
    if verify_url is not None:
        _check_url(verify_url)
    qr_text = verify_url if verify_url is not None else encode_compact(parsed)
    _register_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    title, subtitle, _, _, _ = TYPE_LAYOUTS[parsed.certificate_type]
    canvas.setTitle(f"{title} {subtitle}")
    canvas.setCreator("certreg")
    _draw_certificate(canvas, parsed, qr_text, LINK_QR_SIZE if verify_url else BUNDLE_QR_SIZE)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _check_url(url: str) -> None:
    if not url.startswith(("https://", "http://")):
        raise InvalidInput("verify_url", "pdf.verify_url_scheme", "must be an http(s) address")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput("verify_url", "pdf.verify_url_length", "at most 2000 characters")


def _value(bundle: Bundle, name: str) -> str:
    """The printed value of a field: its Chinese name where it is a code, or 'withheld'."""
    if name == "valid_until":
        return _valid_until(bundle)
    proof = bundle.certificate.fields[name]
    if not isinstance(proof, Disclosed):
        return WITHHELD
    if name == "level":
        return LEVEL_NAMES.get(int(proof.value), str(proof.value))
    if name == "id_type":
        return ID_TYPE_NAMES.get(str(proof.value), str(proof.value))
    return str(proof.value)


def _valid_until(bundle: Bundle) -> str:
    """The last China date of a certificate with a term (the day before it expires)."""
    attributes = bundle.entry.attributes
    assert attributes is not None  # a bundle carries an issue or correct entry
    expires = expiry_of(attributes.type, attributes.issue_date)
    if expires is None:
        return "长期 permanent"
    return (china_date_of_unix(expires) - datetime.timedelta(days=1)).isoformat()


def _draw_certificate(canvas: Canvas, bundle: Bundle, qr_text: str, qr_size: float) -> None:
    width, height = A4
    # Double frame.
    canvas.setStrokeColor(colors.HexColor("#b08d57"))
    canvas.setLineWidth(2.5)
    canvas.rect(10 * mm, 10 * mm, width - 20 * mm, height - 20 * mm)
    canvas.setLineWidth(0.8)
    canvas.rect(13 * mm, 13 * mm, width - 26 * mm, height - 26 * mm)
    top = height - 22 * mm
    _draw_photo_placeholder(canvas, 25 * mm, top - 35 * mm)
    _draw_qr(canvas, qr_text, width - 25 * mm - qr_size, top - qr_size, qr_size)
    title_y = top - max(qr_size, 35 * mm) - 16 * mm
    canvas.setFillColor(colors.black)
    canvas.setFont(CJK_FONT, 30)
    title, subtitle, route_zh, route_en, rows = TYPE_LAYOUTS[bundle.certificate_type]
    canvas.drawCentredString(width / 2, title_y, title)
    canvas.setFont(LATIN_FONT, 16)
    canvas.drawCentredString(width / 2, title_y - 10 * mm, subtitle)
    organisation = _value(bundle, "organisation_name")
    y = _paragraphs(
        canvas, organisation, (route_zh, route_en), 25 * mm, title_y - 18 * mm, width - 50 * mm
    )
    y = _field_rows(canvas, bundle, rows, 25 * mm, y - 8 * mm, width - 50 * mm)
    _issuer(canvas, bundle, organisation, width - 25 * mm, y - 10 * mm)
    canvas.setFont(CJK_FONT, 9)
    for i, (label, site) in enumerate(QUERY_SITES):
        canvas.drawString(25 * mm, 24 * mm - i * 5 * mm, f"{label}: {site}")


def _draw_photo_placeholder(canvas: Canvas, x: float, y: float) -> None:
    canvas.setStrokeColor(colors.grey)
    canvas.setDash(3, 2)
    canvas.rect(x, y, 25 * mm, 35 * mm)
    canvas.setDash()
    canvas.setFillColor(colors.grey)
    canvas.setFont(CJK_FONT, 10)
    canvas.drawCentredString(x + 12.5 * mm, y + 19 * mm, "照片")
    canvas.setFont(LATIN_FONT, 9)
    canvas.drawCentredString(x + 12.5 * mm, y + 14 * mm, "Photo")


def _draw_qr(canvas: Canvas, text: str, x: float, y: float, size: float) -> None:
    """Draw ``text`` as a QR code (level M, byte mode) of ``size`` with a 4-module quiet zone."""
    qr = segno.make(text, error="m", micro=False, boost_error=False)
    matrix = qr.matrix
    count = len(matrix)
    module = size / (count + 8)
    canvas.setFillColor(colors.white)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColor(colors.black)
    for row, line in enumerate(matrix):
        for col, dark in enumerate(line):
            if dark:
                canvas.rect(
                    x + (col + 4) * module,
                    y + size - (row + 5) * module,
                    module,
                    module,
                    stroke=0,
                    fill=1,
                )


def _paragraphs(
    canvas: Canvas,
    organisation: str,
    route: tuple[str, str],
    x: float,
    y: float,
    width: float,
) -> float:
    """Draw the certifying text in Chinese and English; return the y below it."""
    zh = ParagraphStyle("zh", fontName=CJK_FONT, fontSize=12, leading=20, wordWrap="CJK")
    en = ParagraphStyle("en", fontName=LATIN_FONT, fontSize=11, leading=15)
    texts = (
        Paragraph(
            f"　　本证书由{_escape(organisation)}颁发，表明持证人通过本机构组织的{route[0]}。",
            zh,
        ),
        Paragraph(
            "This is to certify that the bearer has demonstrated corresponding competency in "
            f"this occupation (job) for successful completion of the {route[1]} "
            f'organized by <font name="{CJK_FONT}">{_escape(organisation)}</font>.',
            en,
        ),
    )
    for paragraph in texts:
        _, h = paragraph.wrapOn(canvas, width, 100 * mm)
        y -= h
        paragraph.drawOn(canvas, x, y)
        y -= 3 * mm
    return y


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _field_rows(
    canvas: Canvas,
    bundle: Bundle,
    rows: tuple[tuple[str, str, str], ...],
    x: float,
    y: float,
    width: float,
) -> float:
    """Draw the labelled fields with a rule under each value; return the y below them."""
    for name, zh, en in rows:
        canvas.setFillColor(colors.black)
        canvas.setFont(CJK_FONT, 12)
        canvas.drawString(x, y, f"{zh}：")
        canvas.setFont(LATIN_FONT, 9)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(x, y - 4 * mm, en)
        canvas.setFillColor(colors.black)
        canvas.setFont(CJK_FONT, 12)
        canvas.drawString(x + 40 * mm, y, _value(bundle, name))
        canvas.setStrokeColor(colors.HexColor("#bbbbbb"))
        canvas.setLineWidth(0.4)
        canvas.line(x + 40 * mm, y - 2 * mm, x + width, y - 2 * mm)
        y -= 11 * mm
    return y


def _issuer(canvas: Canvas, bundle: Bundle, organisation: str, right: float, y: float) -> None:
    """Right-aligned organisation name and issue date (Chinese and English)."""
    date = _value(bundle, "issue_date")
    canvas.setFont(CJK_FONT, 12)
    canvas.drawRightString(right, y, organisation)
    if date != WITHHELD:
        year, month, day = (int(part) for part in date.split("-"))
        canvas.drawRightString(right, y - 7 * mm, f"发证日期：{year}年{month}月{day}日")
        canvas.setFont(LATIN_FONT, 11)
        canvas.drawRightString(right, y - 13 * mm, f"Issued date: {date}")
